"""`odatui remove`: a plan of what odatui created for this target, then its removal — the undo of `apply`. The plan
and the removal are odatui.service.remove's; this prints them and asks.

Exit codes: 0 removed, or nothing to remove · 1 an object could not be checked or removed (run it again: it
resumes) · 2 no `--yes` and no terminal to confirm at, or another odatui holds the target · 4 secrets unavailable.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, TextIO

from odatui.core.errors import UsageError
from odatui.core.secrets import SecretStore
from odatui.service.remove import recover, removal_plan, remove_planned
from odatui.service.run import open_run
from odatui.service.setup import load_config_at
from odatui.core.locks import TenantLocks


async def _plan_and_maybe_remove(args: Any, config: Any, store: Any, out: TextIO, confirm: Any,
                                 target: str | None = None) -> int:
    secrets = SecretStore()
    state = store.load()
    for note in state.notes:  # a damaged state was set aside: say so (and that --recover finds what it listed)
        out.write(f"{note}\n")
        if not getattr(args, "recover", False):
            out.write("  → `odatui remove --recover` finds what odatui created by the marker it leaves on it\n")
    if getattr(args, "recover", False):
        found = await recover(config, secrets, state, target)
        out.write(f"Recovered from odatui's markers in the tenant: {found.count} object(s).\n")
        for line in found.unmarked:
            out.write(f"  not recovered: {line}\n")
        await asyncio.to_thread(store.save, state)
    adopted = getattr(args, "include_adopted", None)  # None: no flag; True/[]: the flag; [NAME…]: those too
    named = frozenset(adopted) if isinstance(adopted, list) else frozenset()
    plan = await removal_plan(config, secrets, state, include_adopted=adopted is not None and adopted is not False,
                              named=named)
    out.write(plan.text)
    if not plan.items:
        return 0
    if not plan.checked:
        out.write("Nothing was changed: some objects could not be checked (see above).\n")
        return 1
    if plan.to_delete and not getattr(args, "yes", False) and not confirm():
        out.write("Nothing was changed.\n")
        return 0
    failed = await remove_planned(config, secrets, store, state, plan, out)
    if failed:
        out.write(f"Result: {failed} item(s) could not be removed (exit 1); `odatui remove` again resumes.\n")
        return 1
    kept = [i for i in plan.items if i.keep and i.present]
    if kept and not plan.to_delete:
        out.write(f"Result: Nothing was removed; {len(kept)} item(s) kept for the reasons above (exit 0).\n")
    elif kept:
        out.write(f"Result: removed (exit 0), except {len(kept)} item(s) kept for the reasons above. "
                  "`odatui apply` rolls out again.\n")
    else:
        out.write("Result: removed (exit 0). `odatui apply` rolls out again.\n")
    return 0


def cmd_remove(args: Any, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    config = load_config_at(getattr(args, "config", None))
    interactive = sys.stdin.isatty()  # as apply: the question needs a terminal to answer it

    def confirm() -> bool:
        if not interactive:
            raise UsageError("odatui remove deletes objects in the tenant and there is no terminal to confirm at",
                             hint="run it again with --yes to remove what is listed above")
        try:
            return input("Remove these? [y/N] ").strip().lower() in ("y", "yes")
        except EOFError:
            return False

    # The same tenant locks and canonical run state as apply (odatui.core.identity), whatever the config's spelling:
    # never alongside an apply on the same tenant, and the ledger read is the one apply wrote.
    check = asyncio.run(open_run(config).live_target())
    names = tuple(n for part, n in zip(("okta", "ws1"), check.identity.lock_names, strict=True)
                  if part in check.identity.confirmed)
    locks = TenantLocks(names)
    if names:
        locks.acquire()
    try:
        with check.store as store:
            target = check.identity.key if len(check.identity.confirmed) == 2 else None
            return asyncio.run(_plan_and_maybe_remove(args, config, store, out, confirm, target))
    finally:
        locks.release()
