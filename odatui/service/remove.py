"""Removing what odatui created for a target — the undo of `apply` — for `odatui remove` (odatui/cli/remove.py) and
the wizard's palette command. The MDM plug-in that created the objects removes them (odatui.mdm.Mdm: the plan, read
live, changes nothing; then the removal, struck from the ledger item by item); here only the store's lock."""

from __future__ import annotations

import asyncio
import io
from typing import Any, TextIO

from odatui.mdm import for_config


async def removal_plan(config: Any, secrets: Any, state: Any, *, include_adopted: bool = False,
                       named: frozenset[str] = frozenset()) -> Any:
    """What `remove` would do for this target (a plan with `.text`, `.items`, `.to_delete`, `.checked`). Reads the
    tenant, changes nothing. `named`: adopted objects the admin named one by one (`--include-adopted NAME`)."""
    return await for_config(config).removal_plan(config, secrets, state, include_adopted=include_adopted,
                                                 named=named)


async def remove_planned(config: Any, secrets: Any, store: Any, state: Any, plan: Any, out: TextIO) -> int:
    """Carry out a plan (the caller holds the store's lock); the number of items that could not be removed."""
    return await for_config(config).remove_planned(config, secrets, store, state, plan, out)


async def undo_entry(ctx: Any, step_id: str, entry: Any) -> str:
    """Context.undo: remove one object the ledger says odatui created, exactly as `odatui remove` would;
    "removed", or "gone" when it was deleted already."""
    return await for_config(ctx.config).undo(ctx, step_id, entry)


async def remove_now(config: Any, secrets: Any, store: Any) -> tuple[int, str]:
    """Remove what odatui created (the plan afresh, under the store's lock); (items that failed, report)."""
    out = io.StringIO()
    await asyncio.to_thread(store.acquire)  # a lock file and a state read: off the caller's event loop
    try:
        state = await asyncio.to_thread(store.load)
        plan = await removal_plan(config, secrets, state)
        failed = await remove_planned(config, secrets, store, state, plan, out)
    finally:
        store.release()
    return failed, out.getvalue()


async def recover(config: Any, secrets: Any, state: Any, target: str | None) -> Any:
    """`remove --recover`: rebuild `state`'s ledger from the markers odatui left in the tenant (the caller holds the
    target's lock and saves); what was found (`.count`, `.created`)."""
    return await for_config(config).recover(config, secrets, state, target)
