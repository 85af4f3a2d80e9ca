"""Removing what odatui created for a target — the undo of `apply`: the plan (read live, changes nothing) and
its removal, as the Workspace ONE plug-in does it (odatui.mdm.Mdm; odatui.service.remove is the faces' door).
`odatui remove` (odatui/cli/remove.py) and the wizard's palette command render it.

What to remove comes from the run state's ledger (odatui.core.state.StepRecord.created/adopted), never from names in
the tenant: an object odatui found already there is left alone unless `--include-adopted`. Every item is looked
up first (an object deleted by hand is "already gone", not an error), removed, and struck from the ledger in the
state file at once, so a killed `remove` resumes where it stopped and a second one has nothing to do.

Order: the profile and the assignment rules first (they hold the smart groups and the app), then the app's
versions, then the files odatui uploaded for them (blobs: kept while an app odatui could not remove may use them),
then smart groups (WS1 refuses to delete one that is still assigned), then the Okta group assignments. Right before
each delete the object is read back (mdm.ws1.ownership.not_ours): only what is odatui's goes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, TextIO

from odatui.core.errors import OdatuiError, SecretsUnavailable, UsageError
from odatui.mdm.ws1.ownership import not_ours
from odatui.mdm.ws1.remove_report import print_removal_plan
from odatui.mdm.ws1.remove_safety import app_rules, breakage, restorable, restore_adopted, why_keep

# Blobs after apps: an app's package is a blob, and deleting it under a live app could break that app.
KIND_ORDER = ("ws1.profile", "ws1.rule", "ws1.app", "ws1.blob", "ws1.smart_group", "okta.group")
# Steps whose outputs name removed objects, and verify, whose ✓ vouched for them: after a removal none of them may
# show as done (the wizard's Resume read "Verify ✓" after `odatui remove`).
RESET_STEPS = ("ws1.upload", "ws1.assign", "ws1.certificate", "ws1.profile", "okta.assign", "verify")


@dataclass
class Removal:
    step_id: str
    entry: dict[str, Any]
    origin: str  # "created" or "adopted"
    present: bool | None = None  # None: could not be checked (error says why)
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    keep: str | None = None  # why a safety check (odatui.mdm.ws1.remove_safety) leaves it where it is
    refused: str | None = None  # why it is left alone: read back, it is not odatui's (mdm.ws1.ownership)

    @property
    def kind(self) -> str:
        return str(self.entry.get("kind"))

    def describe(self) -> str:
        e = self.entry
        if self.kind == "ws1.profile":
            return f"profile {e.get('name')!r} (id {e.get('id')})"
        if self.kind == "ws1.app":
            return f"app {e.get('name')} (id {e.get('id')})"
        if self.kind == "ws1.rule":
            return f"assignment rule for smart group {e.get('group')!r} on app {e.get('app_uuid')}"
        if self.kind == "ws1.smart_group":
            return f"smart group {e.get('name')!r} (id {e.get('id')})"
        if self.kind == "ws1.blob":
            return f"uploaded file {e.get('name')} (blob {e.get('id')})"
        if self.kind == "okta.group":
            return f"Okta group {e.get('name')!r} assigned to app {e.get('app_id')}"
        return f"{self.kind} {e.get('id')}"


def ledger_items(state: Any, *, include_adopted: bool) -> list[Removal]:
    items = []
    for sid, rec in state.steps.items():
        items += [Removal(sid, dict(e), "created") for e in rec.created]
        if include_adopted:
            items += [Removal(sid, dict(e), "adopted") for e in rec.adopted]
    rank = {k: n for n, k in enumerate(KIND_ORDER)}
    # Within profiles, the SSO profile before the certificate profile it relies on: Okta's install order
    # (certificate, then SSO profile) reversed, so no Mac is left with Platform SSO and no certificate.
    return sorted(items, key=lambda i: (rank.get(i.kind, len(rank)), i.step_id == "ws1.certificate"))


# --------------------------------------------------------------------------------------------- look


async def _present(ctx: Any, item: Removal, cache: dict[str, Any]) -> bool:
    from odatui.mdm.ws1.steps.assign import is_our_rule

    e = item.entry
    if item.kind == "ws1.profile":
        return await ctx.ws1().profile_exists(int(e["id"]))
    if item.kind == "ws1.app":
        return await ctx.ws1().app_exists(int(e["id"]))
    if item.kind == "ws1.smart_group":
        return await ctx.ws1().get_smart_group(int(e["id"])) is not None
    if item.kind == "ws1.blob":
        int(e["id"])  # a damaged id is named now; whether it is still there only the delete tells (no read)
        return True
    if item.kind == "ws1.rule":
        rules = await app_rules(ctx, e["app_uuid"], cache)
        if rules is None:
            return False
        wanted = str(e["sg_uuid"]).lower()
        if item.origin == "created":
            return any(is_our_rule(r, wanted) for r in rules.get("assignments") or [])
        return any(wanted in [str(g).lower() for g in (r.get("distribution") or {}).get("smart_groups") or []]
                   for r in rules.get("assignments") or [])
    if item.kind == "okta.group":
        key = f"okta:{e['app_id']}"
        if key not in cache:
            try:
                cache[key] = {a["id"] for a in await ctx.okta().app_group_assignments(e["app_id"])}
            except OdatuiError as exc:
                if getattr(exc, "status", None) == 404:  # the app itself is gone
                    cache[key] = set()
                else:
                    raise
        return e["group_id"] in cache[key]
    raise UsageError(f"the run state lists an object of unknown kind {item.kind!r}",
                     hint="it was written by a newer odatui; remove it with that version")


async def plan_removal(ctx: Any, state: Any, *, include_adopted: bool,
                       named: frozenset[str] = frozenset()) -> list[Removal]:
    """Every ledger item with whether it still exists and, if it does, whether a safety check keeps it. Reads
    only."""
    items = ledger_items(state, include_adopted=include_adopted or bool(named))
    cache: dict[str, Any] = {}
    for item in items:
        try:
            item.present = await _present(ctx, item, cache)
            if item.present:
                item.refused = await not_ours(ctx, item, state.target, cache.get(f"rules:{item.entry.get('app_uuid')}"))
                if not item.refused:
                    item.keep = await why_keep(ctx, item, cache, set(named))
        except SecretsUnavailable:
            raise  # exit 4 with its remedy, like apply
        except OdatuiError as exc:
            item.error = exc.message
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # an edited or damaged ledger entry
            item.error = f"the run state's record of it is damaged ({type(exc).__name__}: {exc})"
    return items


# --------------------------------------------------------------------------------------------- act


async def _remove(ctx: Any, item: Removal) -> None:
    from odatui.mdm.ws1.steps.assign import is_our_rule

    e = item.entry
    if item.kind == "ws1.profile":
        await ctx.ws1().delete_profile(int(e["id"]))
    elif item.kind == "ws1.app":
        await ctx.ws1().delete_internal_app(int(e["id"]))
    elif item.kind == "ws1.smart_group":
        await ctx.ws1().delete_smart_group(int(e["id"]))
    elif item.kind == "ws1.blob":
        await ctx.ws1().delete_blob(int(e["id"]))
    elif item.kind == "okta.group":
        await ctx.okta().unassign_group(e["app_id"], e["group_id"])
    elif item.kind == "ws1.rule":
        rules = await app_rules(ctx, e["app_uuid"], {})  # read afresh: another item may have changed them
        if rules is None:
            return
        wanted = str(e["sg_uuid"]).lower()
        kept = []
        for rule in rules.get("assignments") or []:
            dist = dict(rule.get("distribution") or {})
            if item.origin == "created":
                if is_our_rule(rule, wanted):
                    continue  # only the rule odatui wrote; the admin's rules stay as they are
            else:  # --include-adopted: take the group out of whichever rule holds it
                dist["smart_groups"] = [g for g in dist.get("smart_groups") or [] if str(g).lower() != wanted]
                if not dist["smart_groups"]:
                    continue
            kept.append({k: v for k, v in rule.items() if k not in ("id", "uuid")} | {"distribution": dist})
        for n, rule in enumerate(kept):
            rule["priority"] = n
        body: dict[str, Any] = {"assignments": kept,
                                # WS1 refuses exclusions without any assignment (422 1012)
                                "excluded_smart_groups": list(rules.get("excluded_smart_groups") or []) if kept else []}
        await ctx.ws1().put_assignment_rules(e["app_uuid"], body)


async def undo_entry(ctx: Any, step_id: str, entry: Any) -> str:
    """Remove one object the ledger says odatui created, exactly as `odatui remove` would (its look first, then
    its removal): "removed", or "gone" when it was deleted already. A step replacing an object (a renamed
    profile) calls this through Context.undo; the caller strikes it from the ledger (OWN_RELEASED)."""
    from odatui.core.errors import StepError

    item, cache = Removal(step_id, dict(entry), "created"), {}
    if not await _present(ctx, item, cache):
        return "gone"
    # remove's checks, in remove's order: the safety checks (odatui.mdm.ws1.remove_safety), then the read-back
    # right before the delete (mdm.ws1.ownership: the ledger's name and this target's marker).
    keep = await why_keep(ctx, item, cache, set()) or await not_ours(ctx, item, getattr(ctx, "target", None))
    if keep:
        raise StepError(f"the old {item.describe()} was not removed: {keep}",
                        hint="remove it in the console if it should go, then run `odatui apply` again")
    await _remove(ctx, item)
    return "removed"


def _strike(state: Any, item: Removal) -> None:
    """Drop the item from the ledger; the steps whose objects went start afresh on the next apply."""
    rec = state.steps.get(item.step_id)
    if rec is None:
        return
    same = (item.kind, str(item.entry.get("id")))
    rec.created = [e for e in rec.created if (str(e.get("kind")), str(e.get("id"))) != same]
    rec.adopted = [e for e in rec.adopted if (str(e.get("kind")), str(e.get("id"))) != same]


def _reset(state: Any) -> None:
    from odatui.core.state import PENDING

    for sid in RESET_STEPS:
        rec = state.steps.get(sid)
        if rec is not None and rec.status != PENDING:
            rec.status, rec.outputs, rec.summary = PENDING, {}, "removed by `odatui remove`"


async def run_removal(ctx: Any, store: Any, state: Any, items: list[Removal], out: TextIO,
                      restores: list[Removal] = ()) -> int:
    """Remove each item still there, striking it from the ledger (saved) as soon as it is gone; items a safety
    check keeps stay (and stay in the ledger); `restores` are made active before the first app version goes."""
    failed = 0
    pending_restores = list(restores)
    apps_left: set[str] = set()  # ids of apps that stay: the blobs they were made from stay with them
    for item in items:
        if item.kind == "ws1.app" and pending_restores:
            failed += await restore_adopted(ctx, pending_restores, out)
            pending_restores = []
        if item.kind == "ws1.blob" and str(item.entry.get("app_id")) in apps_left and item.error is None:
            item.keep = f"the app it was uploaded for (id {item.entry.get('app_id')}) stays"
        if item.keep and item.error is None:
            if item.kind == "ws1.app":
                apps_left.add(str(item.entry.get("id")))
            out.write(f"  kept    {item.describe()}: {item.keep}\n")
            continue
        if item.error is None and item.present:
            try:
                # Read back right before the delete, every time: only what is odatui's goes.
                item.refused = await not_ours(ctx, item, state.target)
                if item.refused:
                    failed += 1
                    if item.kind == "ws1.app":
                        apps_left.add(str(item.entry.get("id")))
                    out.write(f"  KEPT    {item.describe()}: {item.refused}\n")
                    continue
                await _remove(ctx, item)
            except OdatuiError as exc:
                failed += 1
                if item.kind == "ws1.app":
                    apps_left.add(str(item.entry.get("id")))
                out.write(f"  FAILED  {item.describe()}: {exc.message}\n")
                if exc.hint:
                    out.write(f"          → {exc.hint}\n")
                continue
            out.write(f"  removed {item.describe()}\n")
        elif item.error is not None:
            failed += 1
            if item.kind == "ws1.app":
                apps_left.add(str(item.entry.get("id")))
            continue
        else:
            out.write(f"  gone    {item.describe()} (already deleted outside odatui)\n")
        _strike(state, item)
        await asyncio.to_thread(store.save, state)
        out.flush()
    if not failed:
        _reset(state)
        await asyncio.to_thread(store.save, state)
    return failed


# --------------------------------------------------------------------------------------------- CLI


@dataclass
class RemovalPlan:
    items: list[Removal]  # what remove would act on (created; adopted too with --include-adopted)
    left: list[Removal]  # adopted objects left alone
    text: str  # the plan as the CLI prints it; the wizard shows the same text
    restores: list[Removal] = field(default_factory=list)  # adopted versions made active again

    @property
    def checked(self) -> bool:
        return not any(i.error for i in self.items)

    @property
    def to_delete(self) -> list[Removal]:
        return [i for i in self.items if i.present and not i.keep and not i.refused]


async def removal_plan(config: Any, secrets: Any, state: Any, *, include_adopted: bool = False,
                       named: frozenset[str] = frozenset()) -> RemovalPlan:
    """What `remove` would do for this target. Reads the tenant, changes nothing. `named`: adopted objects the
    admin named one by one (`--include-adopted NAME`), the only adopted ones in use that may go."""
    import io

    from odatui.steps.base import Context

    include_adopted = include_adopted or bool(named)
    ctx = Context(config, secrets)
    try:
        items = await plan_removal(ctx, state, include_adopted=include_adopted, named=named)
        adopted = [i for i in ledger_items(state, include_adopted=True) if i.origin == "adopted"]
        restores = [] if include_adopted else await restorable(ctx, items, adopted)
        notes = await breakage(ctx, state, items, restores)
    finally:
        await ctx.aclose()
    left = [] if include_adopted else [i for i in ledger_items(state, include_adopted=True) if i.origin == "adopted"]
    out = io.StringIO()
    print_removal_plan(items, left, out, restores, notes)
    if not items:
        out.write("Nothing to remove: the run state lists nothing odatui created for this target.\n")
        ledgered = any(rec.created or rec.adopted for rec in state.steps.values())
        if not ledgered and any(rec.status == "succeeded" for rec in state.steps.values()):
            # A run state from before the ledger: its objects are unknown, so none are taken on a guess.
            out.write("  → this run state predates odatui's record of what it created: `odatui apply` records what "
                      "exists (as found), then `odatui remove --include-adopted` removes it\n")
    return RemovalPlan(items, left, out.getvalue(), restores)


async def remove_planned(config: Any, secrets: Any, store: Any, state: Any, plan: RemovalPlan, out: TextIO) -> int:
    """Carry out a plan (the caller holds the store's lock); the number of items that could not be removed."""
    from odatui.steps.base import Context

    ctx = Context(config, secrets)
    try:
        return await run_removal(ctx, store, state, plan.items, out, plan.restores)
    finally:
        await ctx.aclose()
