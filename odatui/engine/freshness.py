"""Is the last run still true? `status` and `retry` compare the run state with the live tenant before they
report a stored success as current.

The check is the plan's: every step inspects the live tenant (reads only). A step that succeeded last time and
now inspects as NONE is confirmed; one that would create or update again, needs the admin again or cannot be
inspected is stale, with the plan's line as the reason. When the tenants cannot be reached (offline, no
credentials), nothing is confirmed and the caller says so instead of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from odatui.core.errors import OdatuiError
from odatui.core.identity import client_kinds, resolve
from odatui.core.log import redact
from odatui.core.state import RunState, StateStore, Status
from odatui.steps.base import ChangeKind, Context


@dataclass
class LiveCheck:
    store: StateStore  # the state of the tenants the config reaches now (or the last known, when unreachable)
    identity: Any  # odatui.core.identity.Identity
    rows: dict[str, Any] | None = None  # step id → PlanRow; None when the tenant could not be asked
    problem: str | None = None  # why nothing was checked
    stale: dict[str, str] = field(default_factory=dict)  # step id → why its stored success is no longer true

    @property
    def checked(self) -> bool:
        return self.rows is not None


async def live_check(engine: Any, *, plan: bool = True) -> LiveCheck:
    spelled = engine.store
    try:
        known = spelled.load().identity
    except OdatuiError:
        known = None
    ctx = Context(engine.config, engine.secrets, {}, client_factory=engine.client_factory)
    try:
        await ctx.prepare_clients(*client_kinds(engine.config))
        identity = await resolve(ctx, known=known)
    finally:
        await ctx.aclose()
    store = StateStore(identity.key, spelled.directory)
    if not store.path.exists() and spelled.path.exists() and len(identity.confirmed) < 2:
        store = spelled  # offline: the state this spelling last ran on
    check = LiveCheck(store, identity)
    if len(identity.confirmed) < 2:
        check.problem = "; ".join(identity.problems) or "the tenants were not asked"
        return check
    if not plan:
        return check
    try:
        check.rows = {row.step_id: row for row in await engine.plan(target=identity.key)}
    except OdatuiError as exc:
        check.problem = redact(exc.message)
        return check
    check.stale = stale_steps(store.load(), check.rows)
    return check


def _identifying(key: str) -> bool:
    # What names a thing in the tenant (ids, client ID, package version and hash); counts such as a smart group's
    # devices move on their own and do not make a step stale.
    return key.endswith(("id", "uuid")) or key in ("version", "sha256", "org_host")


def stale_steps(state: RunState, rows: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for sid, rec in state.steps.items():
        row = rows.get(sid)
        if rec.status != Status.SUCCEEDED or row is None:
            continue
        live = dict(row.change.outputs) if row.change is not None and row.change.kind is ChangeKind.NONE else {}
        moved = [f"{k} {rec.outputs[k]} → {live[k]}" for k in sorted(set(rec.outputs) & set(live))
                 if _identifying(k) and rec.outputs[k] != live[k] and not isinstance(live[k], (dict, list))]
        if row.error:
            out[sid] = f"cannot be confirmed now: {row.error}"
        elif row.change is None:
            out[sid] = f"cannot be confirmed now: {row.hint or 'it depends on a step that is not confirmed'}"
        elif row.change.kind is ChangeKind.NEEDS_ACTION:
            out[sid] = f"the tenant changed since: it needs your action again ({row.change.summary})"
        elif row.change.kind is not ChangeKind.NONE:
            out[sid] = f"the tenant changed since: it would {row.change.kind.value} now ({row.change.summary})"
        elif moved:
            out[sid] = f"the tenant changed since: {'; '.join(moved)}"
    return out
