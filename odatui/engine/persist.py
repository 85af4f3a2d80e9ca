"""Saving the run state after every transition, off the event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from odatui.core.errors import OdatuiError
from odatui.core.state import RunState, StateStore


class StateWriter:
    """Saves the run state after every transition without blocking the loop (an fsync'd save takes ~15 ms).

    A snapshot is taken on the loop at each transition and written by a worker thread; while one write is in
    flight, later transitions coalesce into the next one, so the file always ends at the latest state.
    """

    def __init__(self, store: StateStore, on_error: Callable[[OdatuiError], None]) -> None:
        self.store = store
        self.on_error = on_error
        self._pending: RunState | None = None
        self._task: asyncio.Task[None] | None = None

    def request(self, state: RunState) -> None:
        self._pending = RunState.from_json(json.loads(json.dumps(state.to_json())))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain(), name="odatui-state-writer")

    async def _drain(self) -> None:
        while self._pending is not None:
            snapshot, self._pending = self._pending, None
            try:
                await asyncio.to_thread(self.store.save, snapshot)
            except OdatuiError as exc:
                self.on_error(exc)

    async def flush(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)
