"""What a face may ask of a live run, from any thread: retry a step, look again now, cancel.

A mixin of odatui.engine.scheduler.Engine, which owns the attributes and the methods (`descendants`, `_include`,
`run`) used here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from odatui.core.errors import UsageError
from odatui.core.state import Status

if TYPE_CHECKING:
    from odatui.core.events import Event
    from odatui.core.state import RunState

# A step in one of these is run again with the step retried before it (it did not get to a true success).
_AGAIN = (Status.SKIPPED, Status.FAILED, Status.CANCELLED, Status.NEEDS_ACTION, None)


class Controls:
    steps: dict[str, Any]
    order: list[str]
    state: RunState
    _loop: asyncio.AbstractEventLoop | None
    _loop_thread: int | None
    _running: bool
    _wake: asyncio.Event | None
    _status: dict[str, str]
    _tasks: dict[str, asyncio.Task[None]]
    _check: dict[str, asyncio.Event]
    _cancelled: bool
    _on_event: Callable[[Event], Any] | None
    _background: asyncio.Task[Any] | None

    def _call_in_loop(self, fn: Callable[[], None]) -> None:
        if self._loop is not None and self._loop_thread != threading.get_ident():
            self._loop.call_soon_threadsafe(fn)
        else:
            fn()

    def retry_step(self, step_id: str) -> None:
        """Run a failed (or needs-action, cancelled, skipped) step again, and the steps it unblocks."""
        if step_id not in self.steps:
            raise UsageError(f"unknown step id {step_id!r}", hint="step ids: " + ", ".join(self.order))

        def during() -> None:
            if not self._running:
                return after()
            again = [step_id] + [d for d in self.descendants(step_id) if self._status.get(d) in _AGAIN]
            if self._status.get(step_id) in (Status.RUNNING, Status.SUCCEEDED):
                return
            self._include(again)
            assert self._wake is not None
            self._wake.set()

        def after() -> None:
            again = [step_id] + [d for d in self.descendants(step_id)
                                 if self.state.steps.get(d) is None or self.state.steps[d].status != Status.SUCCEEDED]
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = self._loop
            if loop is None or loop.is_closed():
                raise UsageError("retry_step after a run needs the event loop the run used")
            self._background = loop.create_task(self.run(only=again, on_event=self._on_event))

        self._call_in_loop(during)

    def check_now(self, step_id: str) -> None:
        """A step waiting for the admin: look again now instead of at the next poll."""

        def poke() -> None:
            event = self._check.get(step_id)
            if event is not None:
                event.set()

        self._call_in_loop(poke)

    def cancel(self) -> None:
        """Stop cleanly: running steps are recorded as cancelled, nothing new starts."""

        def stop() -> None:
            self._cancelled = True
            for task in list(self._tasks.values()):
                task.cancel()
            if self._wake is not None:
                self._wake.set()

        self._call_in_loop(stop)
