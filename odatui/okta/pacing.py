"""Okta rate-limit pacing, shared by every client of one org in one event loop (the `Pacer` odatui.core.http.send uses).

Never more than 2 requests in flight per org; slow down when `X-Rate-Limit-Remaining` drops under 10 %; after a 429
every caller of the org waits until `X-Rate-Limit-Reset` (https://developer.okta.com/docs/reference/rl-best-practices/).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator

import httpx

MAX_IN_FLIGHT = 2
SLOW_DOWN_BELOW = 0.10  # fraction of X-Rate-Limit-Limit left


class OrgLimiter:
    """Shared by every client of one org in one event loop: in-flight cap and rate-limit pacing."""

    def __init__(self) -> None:
        self.sem = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.not_before = 0.0  # monotonic time before which no request starts
        self.in_flight = 0
        self.peak_in_flight = 0

    async def wait_turn(self) -> None:
        delay = self.not_before - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One of the org's MAX_IN_FLIGHT request slots, held while the request is in flight."""
        async with self.sem:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            try:
                yield
            finally:
                self.in_flight -= 1

    def pause(self, seconds: float) -> None:
        self.not_before = max(self.not_before, time.monotonic() + seconds)

    def observe(self, response: httpx.Response) -> None:
        try:
            limit = int(response.headers["X-Rate-Limit-Limit"])
            remaining = int(response.headers["X-Rate-Limit-Remaining"])
            reset = float(response.headers["X-Rate-Limit-Reset"])
        except (KeyError, ValueError):
            return
        if limit > 0 and remaining < limit * SLOW_DOWN_BELOW:
            # Spread what is left of the window over the remaining calls instead of running into a 429.
            window_left = max(0.0, reset - time.time())
            self.pause(min(window_left, window_left / max(remaining, 1)))


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, OrgLimiter]] = weakref.WeakKeyDictionary()


def org_limiter(host: str) -> OrgLimiter:
    loop = asyncio.get_running_loop()
    per_loop = _limiters.setdefault(loop, {})
    if host not in per_loop:
        per_loop[host] = OrgLimiter()
    return per_loop[host]

