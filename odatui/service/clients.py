"""API clients for the read-only and one-off calls of the faces (status, devices, repush, test connection): built
through the steps' Context, in worker threads, and always closed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from odatui.steps.base import Context


@asynccontextmanager
async def clients(config: Any, secrets: Any, outputs: dict[str, dict[str, Any]] | None = None,
                  *kinds: str) -> AsyncIterator[Any]:
    """A steps Context with these clients prepared (keychain reads and TLS set-up off the event loop)."""
    ctx = Context(config, secrets, outputs or {})
    try:
        await ctx.prepare_clients(*kinds)
        yield ctx
    finally:
        await ctx.aclose()
