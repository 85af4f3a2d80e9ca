"""The engine: plans and runs the steps and tells the faces what happens (odatui.core.events).

One job per module: `graph` (order, ancestors, descendants, selection), `plan` (inspect only), `scheduler` (the
Engine: a run along the `needs` graph), `run` (one step: inspect → apply and its error branches), `controls`
(retry, check now, cancel), `persist` (the state writer), `delivery` (events to a face; the one progress
coalescer), `target` (identity, locks, state file), `fields` (the config a run needs), `exits` (THE exit-code
table).

The names other modules import from `odatui.engine` are loaded on first use: `odatui.cli.main` reads the exit codes
at start-up without importing the engine itself.
"""

from __future__ import annotations

import importlib

from odatui.engine.exits import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_NEEDS_ACTION,
    EXIT_OK,
    EXIT_SECRETS,
    EXIT_USAGE,
)

TYPE_CHECKING = False  # (typing's own flag costs importing typing and re at start-up)
if TYPE_CHECKING:
    from odatui.engine.delivery import PROGRESS_INTERVAL
    from odatui.engine.fields import missing_fields
    from odatui.engine.graph import topo_order
    from odatui.engine.plan import PlanRow
    from odatui.engine.scheduler import Engine, RunResult

_LAZY = {
    "Engine": "odatui.engine.scheduler",
    "RunResult": "odatui.engine.scheduler",
    "PlanRow": "odatui.engine.plan",
    "missing_fields": "odatui.engine.fields",
    "topo_order": "odatui.engine.graph",
    "PROGRESS_INTERVAL": "odatui.engine.delivery",
}

__all__ = ["EXIT_CANCELLED", "EXIT_FAILED", "EXIT_NEEDS_ACTION", "EXIT_OK", "EXIT_SECRETS", "EXIT_USAGE", *_LAZY]


def __getattr__(name: str) -> object:
    # deferred: start-up (the engine imports the steps' base, asyncio and logging; `odatui --help` needs none)
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'odatui.engine' has no attribute {name!r}")
