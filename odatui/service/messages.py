"""What a face shows when a service call fails: one readable, redacted line, and for an error nobody foresaw the
traceback in the log (never on screen)."""

from __future__ import annotations

import logging

from odatui.engine.plan import unexpected
from odatui.core.errors import OdatuiError


def readable(exc: BaseException, doing: str) -> str:
    """`doing`: what was being done, for the log line ("export", "re-push")."""
    if isinstance(exc, OdatuiError):
        return str(exc)  # its message and fix, written for the admin (secrets already redacted)
    logging.getLogger("odatui").error("%s failed unexpectedly", doing, exc_info=exc)
    return unexpected(exc)
