"""The wizard's "Test connection": one preflight step's read-only inspect against the tenant."""

from __future__ import annotations

import logging
from typing import Any

from odatui.core.errors import OdatuiError
from odatui.steps.base import clients
from odatui.mdm import run_order


async def test_connection(config: Any, secrets: Any, step_id: str) -> tuple[bool, str]:
    """(ok, one readable answer): the step's summary, or what stopped it — never a traceback."""
    step = next((s for s in run_order(config) if s.id == step_id), None)
    if step is None:
        return False, f"{step_id} is not available in this build"
    try:
        async with clients(config, secrets, None, *step.clients) as ctx:
            change = await step.inspect(ctx)
        return True, change.summary or "connected"
    except OdatuiError as exc:
        return False, str(exc)
    except Exception as exc:  # a readable, redacted line on screen; the traceback goes to the log
        from odatui.engine.plan import unexpected

        logging.getLogger("odatui").exception("test connection (%s) failed unexpectedly", step_id)
        return False, unexpected(exc)
