"""`preflight.ws1`: the API host, the credentials, the organization group and the smart groups by exact name."""

from __future__ import annotations

from typing import Any

from odatui.core.errors import NeedsAction, StepError, UsageError
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, Change, ChangeKind, Context, Progress, Step
from odatui.mdm.ws1.steps.wave_facts import major, read_fleet, readiness, wave_facts


class PreflightWs1(Step):
    id = "preflight.ws1"
    title = "Workspace ONE tenant"
    needs = ()
    required_fields = ("ws1.api_url", "ws1.group_id", "ws1.smart_group")
    clients = ("ws1",)

    async def _check(self, ctx: Context, *, create: bool = False) -> dict[str, Any]:
        """The organization group and every wave's smart group. Missing groups are created when `create` (and the
        wave says create) is on; otherwise listed in outputs["missing"] for inspect to report. Everything is read
        and checked before anything is created: an unknown serial stops the run with nothing sent."""
        cfg = ctx.config.ws1
        missing = ctx.config.missing("ws1.api_url", "ws1.group_id", "ws1.smart_group")
        if missing:
            raise StepError(f"Workspace ONE settings missing: {', '.join(missing)}",
                            hint="fill them in the wizard or in the [ws1] table of the config")
        client = ctx.ws1()
        og = await client.find_org_group(cfg.group_id)  # also the auth check: the first call
        if og is None:
            raise StepError(f"No organization group with Group ID {cfg.group_id!r} at {cfg.api_url}.",
                            hint="the Group ID is shown under Groups & Settings > Groups > Organization Groups > "
                                 "Details (it is not the group's name); the API admin must have access to it")
        waves = ctx.config.waves()
        found: dict[str, Any] = {}
        for wave in waves:
            candidates = await client.search_smart_groups(wave.smart_group)
            # WS1 compares smart group names without case ("Smart Group with the same name already exists" for
            # "okta psso macs" beside "Okta PSSO Macs"; field report from the hostile review, unverified in docs):
            # a group differing only by case is that group, adopted, never a second one that WS1 refuses.
            exact = [g for g in candidates if g.name.casefold() == wave.smart_group.casefold()]
            if len(exact) > 1:
                listed = "; ".join(f"id {g.id} managed by {g.managed_by or '?'}" for g in exact)
                raise StepError(f"{len(exact)} smart groups are named {wave.smart_group!r}: {listed}.",
                                hint="rename all but one in the console so odatui assigns to the right Macs")
            if not exact and not wave.create:
                near = ", ".join(repr(g.name) for g in candidates[:8])
                fix = ("set create = true in its [[rollout.waves]]" if wave.gated else "set ws1.create_smart_groups "
                       "= true")
                raise NeedsAction(
                    f"No smart group is named exactly {wave.smart_group!r}" + (f" (similar: {near})." if near else "."),
                    hint=(f"in the console, Groups & Settings > Groups > Assignment Groups > Add Smart Group: create "
                          f"{wave.smart_group!r} with the Macs to roll out to (or fix its name, or {fix}), then run "
                          "odatui again"))
            found[wave.name] = exact[0] if exact else None
        fleet = await read_fleet(client, og.id)
        for wave in waves:  # every serial is a Mac of this organization group, before anything is created
            unknown = [s for s in wave.serials if s not in fleet.by_serial]
            if unknown:
                raise UsageError(f"rollout.waves {wave.name!r}: serial{'s' if len(unknown) > 1 else ''} "
                                 f"{', '.join(unknown[:5])}{' …' if len(unknown) > 5 else ''} "
                                 f"{'are' if len(unknown) > 1 else 'is'} not a Mac of organization group "
                                 f"{og.name} ({cfg.group_id})",
                                 hint="check the serial in System Settings > General > About (or the WS1 console's "
                                      "device list), or remove it from serials")
        if create:
            await _okta_groups_exist(ctx)  # a wave naming a missing Okta group stops before any smart group is made
        groups: list[dict[str, Any]] = []
        absent: list[str] = []
        created: list[dict[str, Any]] = []
        floor = ctx.config.rollout.macos_min
        for wave in waves:
            sg = found[wave.name]
            wanted = [fleet.by_serial[s].id for s in wave.serials]
            if sg is None and not create:
                absent.append(wave.smart_group)
                continue
            if sg is None:
                sg_id = await client.create_smart_group(wave.smart_group, og, macos_min=floor,
                                                        device_ids=wanted or None)
                # Recorded at once: should a later call of this step fail, `remove` still knows the group is ours.
                ctx.made_by_odatui(self.id, {"kind": "ws1.smart_group", "id": str(sg_id), "uuid": "",
                                             "name": wave.smart_group})
                sg = await client.get_smart_group(sg_id)
                if sg is None:
                    raise StepError(f"Workspace ONE created smart group {wave.smart_group!r} (id {sg_id}) but does "
                                    "not show it.", hint="look under Groups & Settings > Groups > Assignment Groups; "
                                    "then re-run", retryable=True)
                created.append(_sg_entry(sg))
                members = await client.smart_group_device_ids(sg.id)
                if not wanted:
                    await _check_criteria(client, sg, members, fleet, floor)
            else:
                members = await client.smart_group_device_ids(sg.id)
            if wanted:
                _check_members(sg, wanted, members, fleet, made=str(sg.id) in {e["id"] for e in created})
            groups.append({"id": sg.id, "uuid": sg.uuid, "name": sg.name, "devices": len(members) or sg.devices,
                           "wave": wave.name, "gated": wave.gated, "members": len(members),
                           **wave_facts(fleet, members), "_members": members})
        mine = {e.get("id") for e in created}
        member_lists = {g["name"]: g.pop("_members") for g in groups}
        # Readiness: the Macs of every wave (below the floor, no user-approved MDM, Intel); never fatal.
        warnings = readiness(fleet, member_lists, floor) if groups else []
        out: dict[str, Any] = {"og_id": og.id, "og_uuid": og.uuid, "og_name": og.name, "smart_groups": groups,
                               "missing": absent, OWN_CREATED: created,
                               OWN_ADOPTED: [_sg_entry(g) for g in groups if str(g["id"]) not in mine],
                               "warnings": warnings}
        if groups:  # the first wave's group, under the names earlier releases and the other steps read
            first = groups[0]
            out.update({"smart_group_id": first["id"], "smart_group_uuid": first["uuid"],
                        "smart_group_name": first["name"], "smart_group_devices": first["devices"]})
        return out

    async def inspect(self, ctx: Context) -> Change:
        out = await self._check(ctx)
        listed = ", ".join(f"{g['name']!r} (id {g['id']}, {g['devices']} devices)" for g in out["smart_groups"])
        if out["missing"]:
            floor = ctx.config.rollout.macos_min
            serials = {w.smart_group: len(w.serials) for w in ctx.config.waves()}
            names = ", ".join(f"{n!r} (exactly {serials[n]} Macs by serial)" if serials.get(n) else
                              f"{n!r} (Apple silicon Macs on macOS {floor} or later in {out['og_name']})"
                              for n in out["missing"])
            return Change(ChangeKind.CREATE, f"create smart group{'s' if len(out['missing']) > 1 else ''} {names}",
                          details=tuple(f"existing: {listed}" for _ in [1] if listed),
                          creates=tuple({"kind": "ws1.smart_group", "name": n} for n in out["missing"]),
                          warnings=tuple(out["warnings"]))
        return Change(ChangeKind.NONE, f"organization group {out['og_name']} (id {out['og_id']}), smart "
                      f"group{'s' if len(out['smart_groups']) > 1 else ''} {listed}", outputs=out,
                      warnings=tuple(out["warnings"]))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        progress(None, "Checking the Workspace ONE API, organization group and smart groups")
        out = await self._check(ctx, create=True)
        for line in out["warnings"]:
            progress.log(line, level="warning")
        return out


async def _okta_groups_exist(ctx: Context) -> None:
    """Every wave's Okta groups exist (exit 2 naming the wave otherwise), read before anything is created in WS1.
    Without Okta API access (okta.auth = "none") the admin assigns them by hand: nothing to read."""
    if not ctx.config.rollout.waves or ctx.config.okta.auth == "none":
        return
    client = ctx.okta()
    for wave in ctx.config.waves():
        for name in wave.okta_groups:
            if await client.group_by_name(name) is None:
                field = f"rollout.waves {wave.name!r} okta_groups" if name not in ctx.config.okta.groups \
                    else "okta.groups"
                raise UsageError(f'{field}: the Okta group "{name}" does not exist in {ctx.config.okta.host}',
                                 hint="check the exact name (it is case-sensitive) in Directory → Groups, or create "
                                      "the group, then run again")


def _check_members(sg: Any, wanted: list[int], members: list[int], fleet: Any, *, made: bool) -> None:
    """A wave with serials holds exactly those Macs; anything else stops the run with the difference."""
    want, have = set(wanted), set(members)
    if want == have:
        return
    def serials(ids: set[int]) -> str:
        names = sorted(fleet.by_id[i].serial if i in fleet.by_id else f"device {i}" for i in ids)
        return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    diff = "; ".join(part for part in (f"missing {serials(want - have)}" if want - have else "",
                                       f"not asked for {serials(have - want)}" if have - want else "") if part)
    what = "created" if made else "holds"
    raise StepError(f"Smart group {sg.name!r} (id {sg.id}) {what} other Macs than the wave's serials: {diff}.",
                    hint="fix the group's devices in the console (Groups & Settings > Groups > Assignment Groups) or "
                         "the wave's serials, or delete the group and let odatui create it again; then re-run")


async def _check_criteria(client: Any, sg: Any, members: list[int], fleet: Any, floor: int) -> None:
    """A group odatui created by criteria: WS1 must echo the OS rule, and hold no Mac below the floor or Intel.
    The criteria spelling is unconfirmed for 2604 (see ws1.groups.create_smart_group), so trust the read-back only."""
    detail = await client.smart_group_detail(sg.id)
    rules = [r for r in detail.get("OperatingSystems") or [] if isinstance(r, dict)]
    if not any(str(r.get("Operator", "")).lower() == "greaterthan" for r in rules):
        raise StepError(f"Workspace ONE created smart group {sg.name!r} (id {sg.id}) without the macOS {floor} "
                        f"criterion odatui sent (it answers {rules!r}).",
                        hint="add the criterion 'macOS greater than or equal to "
                             f"{floor}' in the console, or delete the group and list the wave's serials; then re-run")
    below = [fleet.by_id[i] for i in members if i in fleet.by_id
             and ((major(fleet.by_id[i].macos) or floor) < floor or fleet.by_id[i].intel)]
    if below:
        names = ", ".join(f"{m.name} ({m.macos})" for m in below[:3])
        raise StepError(f"Smart group {sg.name!r} (id {sg.id}) that odatui created holds {len(below)} Mac(s) below "
                        f"macOS {floor} or with an Intel CPU: {names}; its criteria do not work as sent.",
                        hint="fix the criteria in the console (macOS at or above the floor, Apple silicon), then re-run")


def _sg_entry(g: Any) -> dict[str, Any]:
    get = (lambda k: g[k]) if isinstance(g, dict) else (lambda k: getattr(g, k))
    return {"kind": "ws1.smart_group", "id": str(get("id")), "uuid": get("uuid"), "name": get("name")}
