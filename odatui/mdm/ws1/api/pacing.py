"""Workspace ONE's client-side rate limit: the `Pacer` odatui.core.http.send uses for every WS1 call.

A tenant's API budget is shared by every client that uses its credentials (consoles, scripts, other tools), so
odatui limits itself the way Omnissa's own Go SDK does: at most `requests_per_minute` requests started in any
60-second window, 1,000 by default (fleet-safety.md, "Omnissa's Go SDK (euc-oss) … limits itself to 1,000
requests a minute by default"; whether the SDK lets a burst through at once is unverified: odatui lets up to the
whole minute's budget start at once, so a 300-request fleet listing is not slowed, and a 2,000-request detailed
look takes at least a minute). After a 429 every caller of the tenant waits until its `Retry-After` has passed,
not only the task that was refused: `pause` moves one shared "not before" time that every `wait_turn` honours.

One limiter per API host per event loop (`tenant_limiter`), so the concurrent listings of one look, and the steps
of one run, share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable

import httpx

from odatui.core.errors import StepError

DEFAULT_PER_MINUTE = 1_000
WINDOW = 60.0


class Ws1RateLimit:
    """At most `per_minute` request starts in any WINDOW seconds, and a pause for everyone after a 429."""

    def __init__(self, per_minute: int = DEFAULT_PER_MINUTE, *, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 1:
            raise ValueError("requests_per_minute must be at least 1")
        self.per_minute = per_minute
        self.window = window  # 60 s; shorter only in tests
        self.clock = clock
        self.not_before = 0.0  # monotonic time before which no request starts (a 429's Retry-After)
        self.started: deque[float] = deque()  # start times inside the window (at most per_minute of them)
        self.lock = asyncio.Lock()  # turns are given in arrival order
        self.waited = 0.0  # seconds callers spent waiting for a turn (reported by benchmarks)
        self.pauses = 0

    async def wait_turn(self) -> None:
        async with self.lock:
            while True:
                now = self.clock()
                while self.started and now - self.started[0] >= self.window:
                    self.started.popleft()
                delay = self.not_before - now
                if len(self.started) >= self.per_minute:
                    delay = max(delay, self.started[0] + self.window - now)
                if delay <= 0:
                    self.started.append(now)
                    return
                self.waited += delay
                await asyncio.sleep(delay)

    def slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        # In-flight requests are bounded by each listing's semaphore and the connection pool, not here.
        return _no_slot()

    def observe(self, response: httpx.Response) -> None:
        """WS1 sends no remaining-budget headers (2604 Swagger documents none); a 429 is handled by `pause`."""

    def pause(self, seconds: float) -> None:
        self.pauses += 1
        self.not_before = max(self.not_before, self.clock() + seconds)


@contextlib.asynccontextmanager
async def _no_slot() -> AsyncIterator[None]:
    yield


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[str, int], Ws1RateLimit]] = (
    weakref.WeakKeyDictionary())


def tenant_limiter(api_url: str, per_minute: int = DEFAULT_PER_MINUTE) -> Ws1RateLimit:
    """The limiter every WS1 client of this API host shares in the running event loop."""
    loop = asyncio.get_running_loop()
    per_loop = _limiters.setdefault(loop, {})
    key = (api_url, per_minute)
    if key not in per_loop:
        per_loop[key] = Ws1RateLimit(per_minute)
    return per_loop[key]


class BudgetSpent(StepError):
    """The request budget (`--max-requests`) would be exceeded by one more request: it is not sent."""


class RequestBudget:
    """At most `limit` requests sent by one client, every attempt (retries and token renewals) counted, so a
    `--max-requests N` look never sends an N+1th request."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)

    def take(self) -> None:
        if self.used >= self.limit:
            raise BudgetSpent(f"the request budget of {self.limit} is spent", retryable=False,
                              hint="raise --max-requests: the bulk listing alone takes about one request per 500 "
                                   "Macs for each listing, before any per-Mac lookup")
        self.used += 1


class Budgeted:
    """A rate limit and a request budget as one `Pacer`: the budget is taken when the limiter gives the turn."""

    def __init__(self, limiter: Ws1RateLimit, budget: RequestBudget) -> None:
        self.limiter, self.budget = limiter, budget

    async def wait_turn(self) -> None:
        self.budget.take()  # before waiting: a spent budget says so at once
        await self.limiter.wait_turn()

    def slot(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self.limiter.slot()

    def observe(self, response: httpx.Response) -> None:
        self.limiter.observe(response)

    def pause(self, seconds: float) -> None:
        self.limiter.pause(seconds)
