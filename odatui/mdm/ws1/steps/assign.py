"""`ws1.assign`: odatui's assignment rules (Auto, one per smart group of the wave), next to the admin's own."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from odatui.core.errors import StepError, UsageError
from odatui.core.markers import marker
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, OWN_RELEASED, Change, ChangeKind, Context, Progress, Step
from odatui.mdm.ws1.steps.common import RULE_NAME_PREFIX, group_covered


def _our_rule(sg_uuid: str, sg_name: str, start: str | None = None, target: str | None = None) -> dict[str, Any]:
    # Full replace: every field we care about is spelled out, since omitted ones reset (ON_DEMAND!).
    rule = {
        "priority": 0,
        "distribution": {
            "name": f"{RULE_NAME_PREFIX} {sg_name}"[:100],
            # AppAssignmentDistributionV2Model.description (mamv2) carries odatui's marker (odatui.core.markers)
            "description": f"Okta Desktop Password Sync rollout (managed by odatui) {marker(target)}",
            "smart_groups": [sg_uuid],
            "app_delivery_method": "AUTO",
            "display_in_app_catalog": True,
            "keep_app_updated_automatically": True,
            "auto_update_devices_with_previous_versions": True,
        },
        "restriction": {"remove_on_unenroll": False, "desired_state_management": True},
    }
    if start:  # mamv2 effective_date: "the effective datetime … in Admin's timezone", internal apps only
        rule["distribution"]["effective_date"] = start
    return rule


def _when(start: str) -> str:
    return start.replace("T", " ")[:16]  # minutes are what an admin schedules


def _theirs_cover(rules: dict[str, Any], sg_uuid: str) -> bool:
    """Another admin's AUTO rule already delivers to this group: odatui leaves that rule (and the group) alone."""
    return group_covered({**rules, "assignments": [r for r in rules.get("assignments") or [] if not is_our_rule(r)]},
                         sg_uuid)


def _stale_start(rules: dict[str, Any], sg_uuid: str, start: str | None) -> bool:
    """Our rule for this group exists but carries another start date than the config's."""
    if not start:
        return False
    return any(is_our_rule(r, sg_uuid) and str((r.get("distribution") or {}).get("effective_date") or "")[:19]
               != start[:19] for r in rules.get("assignments") or [])


def is_our_rule(rule: dict[str, Any], sg_uuid: str | None = None) -> bool:
    """A rule odatui writes: our name prefix and exactly one smart group (that one, when given)."""
    dist = rule.get("distribution") or {}
    groups = [str(g).lower() for g in dist.get("smart_groups") or []]
    return str(dist.get("name") or "").startswith(RULE_NAME_PREFIX) and len(groups) == 1 \
        and (sg_uuid is None or groups[0] == sg_uuid.lower())


def merged_rules(current: dict[str, Any], sg_uuid: str | list[tuple[str, str]], sg_name: str = "", *,
                 drop: set[str] = frozenset(), carried: list[dict[str, Any]] = (),
                 starts: Mapping[str, str] | None = None, target: str | None = None) -> dict[str, Any]:
    """Our AUTO rules first (priorities 0..k-1, one per wave group); the admin's rules for other groups kept,
    renumbered after ours. `drop`: smart group uuids whose rule odatui added earlier and that left the wave
    (their rule goes; nobody else's does). `carried`: rules of an older version to keep on this one."""
    wave = [(sg_uuid, sg_name)] if isinstance(sg_uuid, str) else list(sg_uuid)
    ours = {u.lower() for u, _ in wave}
    dropped = {d.lower() for d in drop}
    others, seen = [], set()
    for rule in [*(current.get("assignments") or []), *carried]:
        dist = dict(rule.get("distribution") or {})
        if is_our_rule(rule) and str(dist["smart_groups"][0]).lower() in dropped:
            continue
        groups = [g for g in dist.get("smart_groups") or [] if str(g).lower() not in ours]
        if not groups:
            continue  # a rule only for our groups is replaced by ours
        dist["smart_groups"] = groups
        if (dist.get("name"), tuple(groups)) in seen:
            continue  # already here (carried from the older version before)
        seen.add((dist.get("name"), tuple(groups)))
        others.append({k: v for k, v in rule.items() if k not in ("id", "uuid")} | {"distribution": dist})
    rules = [_our_rule(u, n, (starts or {}).get(n), target) for u, n in wave] + others
    for n, rule in enumerate(rules):
        rule["priority"] = n
    excluded = [g for g in current.get("excluded_smart_groups") or [] if str(g).lower() not in ours]
    out: dict[str, Any] = {"assignments": rules, "excluded_smart_groups": excluded}
    if current.get("application_msi_deployment_params"):
        out["application_msi_deployment_params"] = current["application_msi_deployment_params"]
    return out


def _wave(ctx: Context) -> list[tuple[str, str]]:
    pre = ctx.outputs.get("preflight.ws1") or {}
    groups = pre.get("smart_groups")
    if groups is None:  # a run state from before waves: one group
        return [(ctx.output("preflight.ws1", "smart_group_uuid"), ctx.output("preflight.ws1", "smart_group_name"))]
    return [(g["uuid"], g["name"]) for g in groups]


def wave_starts(ctx: Context) -> dict[str, str]:
    """Smart group name → the wave's start as the rule's effective_date. The mamv2 field is "in Admin's timezone";
    odatui writes the UTC time (unverified: the API admin's time zone is not readable through the API), so an admin
    outside UTC sees it shifted in the console."""
    return {w.smart_group: w.start.strftime("%Y-%m-%dT%H:%M:%S") for w in ctx.config.waves() if w.start is not None}


def _refuse_past_starts(ctx: Context, new_groups: list[str]) -> None:
    """A start already in the past for a wave odatui has not assigned yet is a typo, not a schedule (exit 2)."""
    now = datetime.now(UTC)
    for w in ctx.config.waves():
        if w.gated and w.smart_group in new_groups and w.start is not None and w.start < now:
            raise UsageError(f"rollout.waves {w.name!r}: start {w.start.strftime('%Y-%m-%dT%H:%M:%SZ')} is in the "
                             "past and the wave has not started", hint="give a future start, or remove start to begin "
                             "the wave now")


def _rule_entry(app_uuid: str, sg_uuid: str, sg_name: str) -> dict[str, Any]:
    key = f"{app_uuid}:{sg_uuid}".lower()
    return {"kind": "ws1.rule", "id": key, "name": key, "app_uuid": app_uuid, "sg_uuid": sg_uuid, "group": sg_name}


class Ws1Assign(Step):
    id = "ws1.assign"
    title = "Assign Okta Verify (Auto) to the smart groups"
    needs = ("ws1.upload",)
    required_fields = ("ws1.api_url", "ws1.smart_group")
    clients = ("ws1",)

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        names = outputs.get("smart_group_names") or [outputs.get("smart_group_name")]
        return "assigned (Auto) and published to " + ", ".join(repr(n) for n in names)

    async def _look(self, ctx: Context) -> dict[str, Any]:
        """Everything apply needs, read once: the app's rules, the rules odatui added that left the wave, and
        the older versions still active with their rules."""
        client = ctx.ws1()
        app_uuid = ctx.output("ws1.upload", "app_uuid")
        wave = _wave(ctx)
        current = await client.get_assignment_rules(app_uuid)
        in_wave = {u.lower() for u, _ in wave}
        mine = [e for e in ctx.created_by_odatui(self.id, "ws1.rule") if e.get("app_uuid", "").lower() == app_uuid.lower()]
        drop = {e["sg_uuid"].lower() for e in mine if e["sg_uuid"].lower() not in in_wave
                and any(is_our_rule(r, e["sg_uuid"]) for r in current.get("assignments") or [])}
        gone = [e for e in mine if e["sg_uuid"].lower() not in in_wave]
        previous = []
        for old in ctx.outputs.get("ws1.upload", {}).get("previous") or []:
            rules = await client.get_assignment_rules(old["app_uuid"])
            previous.append({**old, "rules": [r for r in rules.get("assignments") or [] if not is_our_rule(r)]})
        return {"current": current, "wave": wave, "drop": drop, "gone": gone, "previous": previous}

    def _outputs(self, ctx: Context, look: dict[str, Any], added: list[str]) -> dict[str, Any]:
        app_uuid = ctx.output("ws1.upload", "app_uuid")
        wave = look["wave"]
        entries = {u.lower(): _rule_entry(app_uuid, u, n) for u, n in wave}
        released = list(look["gone"])
        for old in look["previous"]:  # our rules on a retired version are no longer ours to remove
            released += [e for e in ctx.created_by_odatui(self.id, "ws1.rule")
                         if e.get("app_uuid", "").lower() == old["app_uuid"].lower()]
        # A rule already there under odatui's own name (e.g. on a version odatui unretired) is odatui's too: remove
        # takes it, as it takes the rules it adds now.
        ours = {a.lower() for a in added} | {u.lower() for u, _ in wave
                                             if any(is_our_rule(r, u) for r in look["current"].get("assignments") or [])}
        return {"app_uuid": app_uuid, "smart_group_uuid": wave[0][0], "smart_group_name": wave[0][1],
                "smart_group_uuids": [u for u, _ in wave], "smart_group_names": [n for _, n in wave],
                "retired": [o["app_id"] for o in look["previous"]],
                OWN_CREATED: [e for k, e in entries.items() if k in ours],
                OWN_ADOPTED: [e for k, e in entries.items() if k not in ours],
                OWN_RELEASED: released}

    async def inspect(self, ctx: Context) -> Change:
        look = await self._look(ctx)
        current, wave = look["current"], look["wave"]
        starts = wave_starts(ctx)
        missing = [(u, n) for u, n in wave if not group_covered(current, u)]
        _refuse_past_starts(ctx, [n for _, n in missing])
        restart = [(u, n) for u, n in wave if (u, n) not in missing and _stale_start(current, u, starts.get(n))]
        app_uuid = ctx.output("ws1.upload", "app_uuid")
        if not missing and not restart and not look["drop"] and not look["previous"]:
            return Change(ChangeKind.NONE, "Okta Verify is already assigned (Auto) to "
                          + ", ".join(repr(n) for _, n in wave), outputs=self._outputs(ctx, look, []))
        details = [f"add {n!r}" + (f" from {_when(starts[n])}" if n in starts else "") for _, n in missing]
        details += [f"{n!r} from {_when(starts[n])} (start date changed)" for _, n in restart]
        details += [f"remove the rule odatui added for {e['group']!r} (no longer listed)" for e in look["gone"]
                    if e["sg_uuid"].lower() in look["drop"]]
        details += [f"move the assignment from {o['version']} and retire {o['version']} (app id {o['app_id']})"
                    for o in look["previous"]]
        others = [r for r in current.get("assignments") or [] if not is_our_rule(r)]
        if others:
            details.append(f"{len(others)} existing assignment rule(s) kept")
        kind = ChangeKind.CREATE if not current.get("assignments") and not look["previous"] else ChangeKind.UPDATE
        names = ", ".join(repr(n) for _, n in wave)
        summary = (f"assign Okta Verify to {names} with Auto delivery and publish" if kind is ChangeKind.CREATE
                   else f"update the assignment: Okta Verify (Auto) to exactly {names}")
        return Change(kind, summary, details=tuple(details), found=look,
                      creates=tuple({"kind": "ws1.rule", "name": f"{app_uuid}:{u}".lower()} for u, _ in missing))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        return await self._save(ctx, progress, await self._look(ctx))

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        return await self._save(ctx, progress, change.found)  # what inspect read in this attempt

    async def _save(self, ctx: Context, progress: Progress, look: dict[str, Any]) -> dict[str, Any]:
        client = ctx.ws1()
        app_uuid = ctx.output("ws1.upload", "app_uuid")
        current, wave = look["current"], look["wave"]
        starts = wave_starts(ctx)
        missing = [u for u, _ in wave if not group_covered(current, u)]
        restart = [u for u, n in wave if _stale_start(current, u, starts.get(n))]
        carried = [r for old in look["previous"] for r in old["rules"]]
        names = ", ".join(repr(n) for _, n in wave)
        if missing or restart or look["drop"] or carried:
            progress(None, f"Saving the assignment to {names} and publishing")
            ours = [(u, n) for u, n in wave if not _theirs_cover(current, u)]
            await client.put_assignment_rules(app_uuid, merged_rules(current, ours, drop=look["drop"],
                                                                     carried=carried, starts=starts,
                                                                     target=ctx.target))
            saved = await client.get_assignment_rules(app_uuid)
            if not all(group_covered(saved, u) for u, _ in wave):
                raise StepError("Workspace ONE accepted the assignment rules but does not show them.",
                                hint="open the app's Assignments in the console and Save & Publish; then re-run",
                                retryable=True)
        # Retire older versions only once this one is assigned: Macs never go without an assigned Okta Verify.
        for old in look["previous"]:
            progress(None, f"Retiring Okta Verify {old['version']} (app id {old['app_id']})")
            await client.retire_internal_app(int(old["app_id"]))
        progress(1.0, f"Okta Verify is assigned (Auto) to {names}")
        return self._outputs(ctx, look, missing)
