"""`okta.assign`: assign the configured Okta groups to the PSSO app (idempotent PUTs)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from odatui.errors import StepError
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, Change, ChangeKind, Context, Progress, Step
from odatui.steps.okta_common import explained


class OktaAssign(Step):
    id = "okta.assign"
    title = "Okta group assignment"
    needs = ("okta.app",)
    required_fields = ("okta.org_url",)
    clients = ("okta",)

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        ids = outputs.get("group_ids") or {}
        return "assigned " + ", ".join(f"{name} ({gid})" for name, gid in ids.items()) + " to the app" if ids \
            else change.summary

    async def _plan(self, ctx: Context) -> tuple[dict[str, str], list[str]]:
        """(group name → id for every configured group, names not yet assigned). Reads only."""
        cfg = ctx.config.okta
        client = ctx.okta()
        app_id = ctx.output("okta.app", "app_id")
        with explained(ctx):
            assigned = {a["id"] for a in await client.app_group_assignments(app_id)}
            ids: dict[str, str] = {}
            for name in cfg.groups:
                group = await client.group_by_name(name)
                if group is None:
                    raise StepError(f'The Okta group "{name}" does not exist in {cfg.host}.',
                                    hint="check the exact name (it is case-sensitive) in Directory → Groups, "
                                    "or create the group, then run again")
                ids[name] = group["id"]
        return ids, [n for n in cfg.groups if ids[n] not in assigned]

    async def inspect(self, ctx: Context) -> Change:
        cfg = ctx.config.okta
        if cfg.auth == "none":
            label = cfg.app_label
            steps = tuple(f'Applications → "{label}" → Assignments → Assign → Assign to Groups → "{g}" → Assign'
                          for g in cfg.groups) or ("Assign the users or groups who get Desktop Password Sync",)
            return Change(ChangeKind.NONE, "assign the groups in the Admin Console (no API access)", steps,
                          {"group_ids": {}, "groups": list(cfg.groups), "manual": True})
        if not cfg.groups:
            return Change(ChangeKind.NONE, "no Okta groups configured (okta.groups is empty)",
                          ("users must be assigned to the app, or registration fails on the Mac",),
                          {"group_ids": {}, "groups": [], "manual": False})
        ids, missing = await self._plan(ctx)
        app_id = ctx.output("okta.app", "app_id")
        # Who in these groups cannot use Desktop Password Sync is preflight.okta's readiness warning.
        if not missing:
            return Change(ChangeKind.NONE, f"already assigned: {', '.join(cfg.groups)}", (),
                          {"group_ids": ids, "groups": list(cfg.groups), "manual": False,
                           OWN_ADOPTED: [_entry(app_id, n, ids[n]) for n in cfg.groups]})
        return Change(ChangeKind.CREATE, f"assign {', '.join(missing)} to the app",
                      tuple(f'assign "{n}" ({ids[n]})' for n in missing), found=(ids, missing),
                      creates=tuple({"kind": "okta.group", "name": n} for n in missing))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        cfg = ctx.config.okta
        if cfg.auth == "none" or not cfg.groups:
            return dict((await self.inspect(ctx)).outputs)
        ids, missing = await self._plan(ctx)  # looked up again: the tenant may have changed since the plan
        return await self._assign(ctx, progress, ids, missing)

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        ids, missing = change.found  # inspect's lookups of this attempt: no second round of reads
        return await self._assign(ctx, progress, ids, missing)

    async def _assign(self, ctx: Context, progress: Progress, ids: dict[str, str], missing: list[str]
                      ) -> dict[str, Any]:
        app_id = ctx.output("okta.app", "app_id")
        client = ctx.okta()
        for i, name in enumerate(missing):
            progress(i / len(missing), f'assigning "{name}"')
            with explained(ctx):
                await client.assign_group(app_id, ids[name])
        progress(1.0, "groups assigned")
        return {"group_ids": ids, "groups": list(ctx.config.okta.groups), "assigned": missing, "manual": False,
                OWN_CREATED: [_entry(app_id, n, ids[n]) for n in missing],
                OWN_ADOPTED: [_entry(app_id, n, ids[n]) for n in ctx.config.okta.groups if n not in missing]}


def _entry(app_id: str, name: str, group_id: str) -> dict[str, Any]:
    """The ledger's record of one group assignment (odatui.state.StepRecord.own)."""
    return {"kind": "okta.group", "id": f"{app_id}:{group_id}", "name": name, "app_id": app_id, "group_id": group_id}
