"""What to re-run: the one rule both faces use. A step to retry takes with it every step that needs it and is not
done — they were skipped or never reached because of it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from odatui.engine.freshness import live_check
from odatui.core.state import RUNNING


def with_waiting(engine: Any, ids: Iterable[str], done: Callable[[str], bool]) -> list[str]:
    """`ids` and the steps waiting on them (descendants not `done`), in run order."""
    wanted = set(ids)
    for sid in list(wanted):
        for child in engine.descendants(sid):
            if not done(child):
                wanted.add(child)
    return [sid for sid in engine.order if sid in wanted]


def retry_ids(engine: Any, state: Any = None, stale: Any = ()) -> list[str]:
    """The failed steps of the last run, the succeeded ones the live tenant no longer agrees with (`stale`, from
    odatui.engine.freshness), and what they blocked."""
    state = state if state is not None else engine.store.load()
    # Skipped steps too (blocked by a prerequisite that was missing), unless they are not needed at all.
    blocked = {sid for sid, rec in state.steps.items()
               if rec.status == "skipped" and rec.summary != "not needed for this configuration"}
    # "running" in a saved state means the process that ran it died (kill -9, power loss): the run takes the lock
    # before it starts, so no live odatui is behind it. Such a step is retried like a cancelled one.
    running = {sid for sid, rec in state.steps.items() if rec.status == RUNNING}
    failed = [sid for sid in engine.order
              if sid in state.failed() or sid in stale or sid in blocked or sid in running]

    def done(sid: str) -> bool:
        rec = state.steps.get(sid)
        return rec is not None and rec.status == "succeeded"

    return with_waiting(engine, failed, done)


async def retry_plan(engine: Any) -> tuple[list[str], Any]:
    """`odatui retry`'s choice: the last run's successes checked live first (a restored org or an app deleted by
    hand makes them stale, and stale steps are retried like failed ones). (ids, the live check); the engine is
    pointed at the store the check resolved."""
    check = await live_check(engine)
    engine.store = check.store
    return retry_ids(engine, check.store.load(), check.stale), check


async def live_statuses(engine: Any, previous: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """The last run's statuses with every success the live tenant no longer holds marked "stale", for the wizard's
    Resume (it showed "Verify ✓" for objects `odatui remove` or an admin had deleted): (statuses, why the tenant
    could not be asked, or None). Offline, the recorded statuses stand and the reason says so."""
    if not any(status == "succeeded" for status in previous.values()):
        return previous, None
    check = await live_check(engine)
    if check.problem:
        return previous, check.problem
    return {sid: "stale" if sid in check.stale else status for sid, status in previous.items()}, None
