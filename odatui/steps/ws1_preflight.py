"""`preflight.ws1`: the API host, the credentials, the organization group and the smart groups by exact name."""

from __future__ import annotations

from typing import Any

from odatui.errors import NeedsAction, StepError
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, Change, ChangeKind, Context, Progress, Step
from odatui.steps.readiness import ws1_warnings


class PreflightWs1(Step):
    id = "preflight.ws1"
    title = "Workspace ONE tenant"
    needs = ()
    required_fields = ("ws1.api_url", "ws1.group_id", "ws1.smart_group")
    clients = ("ws1",)

    async def _check(self, ctx: Context, *, create: bool = False) -> dict[str, Any]:
        """The organization group and every smart group of the wave. Missing groups are created when `create`
        (and ws1.create_smart_groups) is on; otherwise listed in outputs["missing"] for inspect to report."""
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
        groups: list[dict[str, Any]] = []
        absent: list[str] = []
        created: list[dict[str, Any]] = []
        for name in cfg.wave:
            candidates = await client.search_smart_groups(name)
            # WS1 compares smart group names without case ("Smart Group with the same name already exists" for
            # "okta psso macs" beside "Okta PSSO Macs"; field report from the hostile review, unverified in docs):
            # a group differing only by case is that group, adopted, never a second one that WS1 refuses.
            exact = [g for g in candidates if g.name.casefold() == name.casefold()]
            if not exact and create and cfg.create_smart_groups:
                sg_id = await client.create_smart_group(name, og, macos_min=ctx.config.rollout.macos_min)
                # Recorded at once: should a later call of this step fail, `remove` still knows the group is ours.
                ctx.made_by_odatui(self.id, {"kind": "ws1.smart_group", "id": str(sg_id), "uuid": "", "name": name})
                sg = await client.get_smart_group(sg_id)
                if sg is None:
                    raise StepError(f"Workspace ONE created smart group {name!r} (id {sg_id}) but does not show it.",
                                    hint="look under Groups & Settings > Groups > Assignment Groups; then re-run",
                                    retryable=True)
                exact = [sg]
                created.append(_sg_entry(sg))
            if not exact:
                if not cfg.create_smart_groups:
                    near = ", ".join(repr(g.name) for g in candidates[:8])
                    raise NeedsAction(
                        f"No smart group is named exactly {name!r}" + (f" (similar: {near})." if near else "."),
                        hint=(f"in the console, Groups & Settings > Groups > Assignment Groups > Add Smart Group: "
                              f"create {name!r} with the Macs to roll out to (or fix ws1.smart_groups, or set "
                              "ws1.create_smart_groups = true), then run odatui again"))
                absent.append(name)
                continue
            if len(exact) > 1:
                listed = "; ".join(f"id {g.id} managed by {g.managed_by or '?'}" for g in exact)
                raise StepError(f"{len(exact)} smart groups are named {name!r}: {listed}.",
                                hint="rename all but one in the console so odatui assigns to the right Macs")
            groups.append({"id": exact[0].id, "uuid": exact[0].uuid, "name": exact[0].name,
                           "devices": exact[0].devices})
        mine = {e.get("id") for e in created}
        # Readiness: the Macs of every wave's group (below the floor, no user-approved MDM); never fatal.
        warnings = (await ws1_warnings(client, og.id, [int(g["id"]) for g in groups], ctx.config.rollout.macos_min)
                    if groups else [])
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
            names = ", ".join(repr(n) for n in out["missing"])
            return Change(ChangeKind.CREATE, f"create smart group{'s' if len(out['missing']) > 1 else ''} {names} "
                          f"(macOS {floor} or later in {out['og_name']})",
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


def _sg_entry(g: Any) -> dict[str, Any]:
    get = (lambda k: g[k]) if isinstance(g, dict) else (lambda k: getattr(g, k))
    return {"kind": "ws1.smart_group", "id": str(get("id")), "uuid": get("uuid"), "name": get("name")}
