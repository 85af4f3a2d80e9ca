"""How the engine's events reach a face: the one progress coalescer (faces never throttle again) and delivery
that a face's bug cannot break, from the loop or from a step's worker thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from odatui.core.events import Event, RunFinished, StepLog, StepProgress
from odatui.core.log import get_logger

log = get_logger("engine")

PROGRESS_INTERVAL = 0.1  # seconds: at most ~10 progress events per step per second reach a face


class Coalescer:
    """Forwards progress events at most every PROGRESS_INTERVAL per step; the latest one always gets through."""

    def __init__(self, loop: asyncio.AbstractEventLoop, emit: Callable[[Event], None]) -> None:
        self._loop = loop
        self._emit = emit
        self._last: dict[str, float] = {}
        self._pending: dict[str, StepProgress] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def offer(self, event: StepProgress) -> None:
        sid = event.step_id
        now = time.monotonic()
        wait = PROGRESS_INTERVAL - (now - self._last.get(sid, -1e9))
        if wait <= 0 and sid not in self._pending:
            self._last[sid] = now
            self._emit(event)
            return
        self._pending[sid] = event
        if sid not in self._timers:
            self._timers[sid] = self._loop.call_later(max(wait, 0.0), self.flush, sid)

    def flush(self, sid: str) -> None:
        timer = self._timers.pop(sid, None)
        if timer is not None:
            timer.cancel()
        event = self._pending.pop(sid, None)
        if event is not None:
            self._last[sid] = time.monotonic()
            self._emit(event)


class Delivery:
    """One run's events to its face: progress coalesced, everything else at once, in order, on the loop."""

    def __init__(self, on_event: Callable[[Event], Any] | None, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.on_event = on_event
        self._loop = loop
        self._loop_thread = threading.get_ident() if loop is not None else None
        self._coalescer = Coalescer(loop, self._deliver) if loop is not None else None

    def emit(self, event: Event | RunFinished) -> None:
        if isinstance(event, StepProgress) and self._coalescer is not None:
            self._coalescer.offer(event)
            return
        self._deliver(event)

    def flush(self, sid: str) -> None:
        """Deliver the step's held-back progress now (before its outcome)."""
        if self._coalescer is not None:
            self._coalescer.flush(sid)

    def progress(self, sid: str, fraction: float | None, message: str, extra: dict[str, Any]) -> None:
        """A step's `Progress` callback, from the loop or from a worker thread (an upload's reader)."""
        if "_log" in extra:
            event: Event = StepLog(sid, message, extra["_log"])
        else:
            done = extra.get("bytes_done", extra.get("bytes_sent"))
            event = StepProgress(sid, fraction, message, bytes_done=done,
                                 bytes_total=extra.get("bytes_total"), rate=extra.get("rate"))
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self.emit, event)
        else:
            self.emit(event)

    def _deliver(self, event: Any) -> None:
        if self.on_event is None:
            return
        try:
            result = self.on_event(event)
            if asyncio.iscoroutine(result):
                asyncio.ensure_future(result)
        except Exception:  # a face's bug must not stop the rollout
            log.exception("event handler failed on %s", type(event).__name__)
