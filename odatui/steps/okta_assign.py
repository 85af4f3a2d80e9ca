"""`okta.assign`: assign the configured Okta groups to the PSSO app (idempotent PUTs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from odatui.core.errors import UsageError
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, Change, ChangeKind, Context, Progress, Step
from odatui.steps.okta_common import explained
from odatui.steps.okta_waves import groups_now, waiting_groups, wave_user_warnings


class OktaAssign(Step):
    id = "okta.assign"
    title = "Okta group assignment"
    # After preflight.ws1: each wave's Okta groups are checked against the users of the wave's Macs it found.
    needs = ("okta.app", "preflight.ws1")
    required_fields = ("okta.org_url",)
    clients = ("okta",)

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        ids = outputs.get("group_ids") or {}
        return "assigned " + ", ".join(f"{name} ({gid})" for name, gid in ids.items()) + " to the app" if ids \
            else change.summary

    async def _plan(self, ctx: Context) -> tuple[dict[str, str], list[str]]:
        """(group name → id for every group to assign now, names not yet assigned). Reads only."""
        cfg = ctx.config.okta
        client = ctx.okta()
        app_id = ctx.output("okta.app", "app_id")
        wanted = groups_now(ctx.config)
        with explained(ctx):
            assigned = {a["id"] for a in await client.app_group_assignments(app_id)}
            ids: dict[str, str] = {}
            for name in wanted:
                group = await client.group_by_name(name)
                if group is None:
                    field = next((f"rollout.waves {w.name!r} okta_groups" for w in ctx.config.waves()
                                  if w.gated and name in w.okta_groups and name not in cfg.groups), "okta.groups")
                    raise UsageError(f'{field}: the Okta group "{name}" does not exist in {cfg.host}',
                                     hint="check the exact name (it is case-sensitive) in Directory → Groups, "
                                     "or create the group, then run again")
                ids[name] = group["id"]
        return ids, [n for n in wanted if ids[n] not in assigned]

    async def inspect(self, ctx: Context) -> Change:
        cfg = ctx.config.okta
        if cfg.auth == "none":
            label = cfg.app_label
            steps = tuple(f'Applications → "{label}" → Assignments → Assign → Assign to Groups → "{g}" → Assign'
                          for g in cfg.groups) or ("Assign the users or groups who get Desktop Password Sync",)
            return Change(ChangeKind.NONE, "assign the groups in the Admin Console (no API access)", steps,
                          {"group_ids": {}, "groups": list(cfg.groups), "manual": True})
        if not groups_now(ctx.config):
            return Change(ChangeKind.NONE, "no Okta groups configured (okta.groups is empty)",
                          ("users must be assigned to the app, or registration fails on the Mac",),
                          {"group_ids": {}, "groups": [], "manual": False})
        ids, missing = await self._plan(ctx)
        app_id = ctx.output("okta.app", "app_id")
        wanted = groups_now(ctx.config)
        # Who in these groups cannot use Desktop Password Sync is preflight.okta's readiness warning; whose Mac is
        # in a wave without its user in the wave's Okta groups is this step's.
        warnings = tuple(await wave_user_warnings(ctx, ids))
        later = waiting_groups(ctx.config)
        details = tuple(f"{n!r} waits for its wave to start" for n in later)
        if not missing:
            return Change(ChangeKind.NONE, f"already assigned: {', '.join(wanted)}", details,
                          {"group_ids": ids, "groups": list(wanted), "manual": False, "warnings": list(warnings),
                           OWN_ADOPTED: [_entry(app_id, n, ids[n]) for n in wanted]}, warnings=warnings)
        return Change(ChangeKind.CREATE, f"assign {', '.join(missing)} to the app",
                      tuple(f'assign "{n}" ({ids[n]})' for n in missing) + details, found=(ids, missing, warnings),
                      creates=tuple({"kind": "okta.group", "name": n} for n in missing), warnings=warnings)

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        cfg = ctx.config.okta
        if cfg.auth == "none" or not groups_now(ctx.config):
            return dict((await self.inspect(ctx)).outputs)
        ids, missing = await self._plan(ctx)  # looked up again: the tenant may have changed since the plan
        return await self._assign(ctx, progress, ids, missing, tuple(await wave_user_warnings(ctx, ids)))

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        ids, missing, warnings = change.found  # inspect's lookups of this attempt: no second round of reads
        return await self._assign(ctx, progress, ids, missing, warnings)

    async def _assign(self, ctx: Context, progress: Progress, ids: dict[str, str], missing: list[str],
                      warnings: tuple[str, ...] = ()) -> dict[str, Any]:
        app_id = ctx.output("okta.app", "app_id")
        client = ctx.okta()
        for i, name in enumerate(missing):
            progress(i / len(missing), f'assigning "{name}"')
            with explained(ctx):
                await client.assign_group(app_id, ids[name])
        progress(1.0, "groups assigned")
        for line in warnings:
            progress.log(line, level="warning")
        wanted = groups_now(ctx.config)
        return {"group_ids": ids, "groups": list(wanted), "assigned": missing, "manual": False,
                "warnings": list(warnings),
                OWN_CREATED: [_entry(app_id, n, ids[n]) for n in missing],
                OWN_ADOPTED: [_entry(app_id, n, ids[n]) for n in wanted if n not in missing]}


def _entry(app_id: str, name: str, group_id: str) -> dict[str, Any]:
    """The ledger's record of one group assignment (odatui.core.state.StepRecord.own)."""
    return {"kind": "okta.group", "id": f"{app_id}:{group_id}", "name": name, "app_id": app_id, "group_id": group_id}
