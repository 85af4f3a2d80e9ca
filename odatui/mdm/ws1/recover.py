"""`odatui remove --recover`: rebuild the ledger from the markers in the tenant when the run state is damaged or gone.

Reads only. What carries this target's marker (odatui.core.markers) is odatui's: the profile named in the config whose
Description carries it, the Okta Verify apps whose pkginfo `notes` carry it, and odatui's assignment rules (our name
prefix) whose description carries it. Objects the vendors give no note field (WS1 smart groups, Okta group
assignments) cannot be told apart from the admin's: they are listed, never taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from odatui.core.markers import carries


@dataclass
class Recovered:
    created: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # step id → ledger entries
    unmarked: list[str] = field(default_factory=list)  # what may be odatui's but carries no marker (one line each)

    def add(self, step_id: str, entry: dict[str, Any]) -> None:
        self.created.setdefault(step_id, []).append(entry)

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.created.values())


async def recover_ledger(ctx: Any, target: str | None) -> Recovered:
    """Find what carries `target`'s marker in the WS1 organization group of the config."""
    from odatui.core.errors import StepError
    from odatui.macos.certificate import certificate_profile_name
    from odatui.mdm.ws1.steps.assign import is_our_rule
    from odatui.mdm.ws1.steps.common import APP_NAME

    found = Recovered()
    if not target:
        raise StepError("the tenants could not be asked who they are, so odatui's marker cannot be looked for",
                        hint="check the connection (`odatui test`), then `odatui remove --recover` again")
    ws1 = ctx.ws1()
    og = await ws1.find_org_group(ctx.config.ws1.group_id)
    if og is None:
        raise StepError(f"the Workspace ONE organization group {ctx.config.ws1.group_id} was not found")
    certificate_name = certificate_profile_name(ctx.config.rollout.profile_name)  # ws1.certificate's profile
    for summary in await ws1.search_profiles(og.id, ctx.config.rollout.profile_name):
        general = (await ws1.get_profile(summary.id)).get("General") or {}
        if carries(general.get("Description"), target):
            step = "ws1.certificate" if general.get("Name") == certificate_name else "ws1.profile"
            found.add(step, {"kind": "ws1.profile", "id": str(summary.id), "uuid": summary.uuid,
                             "name": general.get("Name")})
    groups: set[str] = set()
    for app in await ws1.search_apps(og.id, APP_NAME):
        if app.name != APP_NAME:
            continue
        detail = await ws1.get_internal_app(app.id)
        if carries((detail.get("MacOsSoftwareDeploymentSummary") or {}).get("Pkginfo"), target):
            found.add("ws1.upload", {"kind": "ws1.app", "id": str(app.id), "uuid": app.uuid,
                                     "name": f"{APP_NAME} {app.version}", "version": app.version})
        rules = await ws1.get_assignment_rules(app.uuid)
        for rule in rules.get("assignments") or []:
            dist = rule.get("distribution") or {}
            if is_our_rule(rule) and carries(dist.get("description"), target):
                sg = str(dist["smart_groups"][0])
                key = f"{app.uuid}:{sg}".lower()
                groups.add(sg)
                found.add("ws1.assign", {"kind": "ws1.rule", "id": key, "name": key, "app_uuid": app.uuid,
                                         "sg_uuid": sg, "group": str(dist.get("name") or sg)})
    if groups:
        found.unmarked.append(f"{len(groups)} smart group(s) odatui's rules delivered to: Workspace ONE keeps no note "
                              "on a smart group (SmartGroupEditV1Model), so whether odatui created them is unknown; "
                              "left alone")
    if ctx.config.okta.groups:
        found.unmarked.append("the Okta group assignments of the app: Okta keeps no note on an assignment "
                              "(ApplicationGroupAssignment), so whether odatui made them is unknown; left alone")
    return found


def apply_recovered(state: Any, found: Recovered) -> None:
    """Put what was found into the state's ledger as created by odatui (the removal plan then checks each again)."""
    for step_id, entries in found.created.items():
        state.step(step_id).own(created=entries)
    state.notes.append(f"ledger rebuilt from odatui's markers in the tenant ({found.count} object(s))")


async def recover(config: Any, secrets: Any, state: Any, target: str | None) -> Recovered:
    """Rebuild `state`'s ledger from the tenant's markers (the caller holds the target's lock and saves)."""
    from odatui.steps.base import Context

    ctx = Context(config, secrets)
    try:
        found = await recover_ledger(ctx, target)
    finally:
        await ctx.aclose()
    apply_recovered(state, found)
    return found
