"""The one place that runs steps: plan, and run (inspect → apply) along the `needs` DAG with per-step retry,
resume after a crash, needs-action polling and cancellation. This module schedules; one step's run is
odatui.engine.run, the controls a face calls are odatui.engine.controls.

The TUI and the plain CLI are two faces on the events this engine emits (odatui.core.events). The run state is saved
after every transition (odatui.engine.persist), so a killed process resumes: every step starts with `inspect`,
which adopts what already exists (NONE → outputs recorded, `apply` skipped) instead of creating a second app or
profile. The engine knows no API client: steps declare theirs (Step.clients) and the Context builds them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from odatui.engine.controls import Controls
from odatui.engine.delivery import Delivery
from odatui.engine.exits import run_exit
from odatui.engine.graph import Graph
from odatui.engine.persist import StateWriter
from odatui.engine.plan import PlanRow, plan
from odatui.engine.run import StepRunner
from odatui.engine.target import bind
from odatui.core.errors import OdatuiError, UsageError
from odatui.core.events import Event, RunFinished
from odatui.core.identity import Identity
from odatui.core.log import get_logger
from odatui.core.state import RunState, StateStore, Status
from odatui.steps.base import Context, Step, clients_of

log = get_logger("engine")

# Statuses that keep the steps needing them from running.
_BLOCKING = (Status.FAILED, Status.NEEDS_ACTION, Status.CANCELLED, Status.SKIPPED)


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    summary: dict[str, str]  # step id → final status (odatui.core.state.Status)


class Engine(StepRunner, Controls):
    def __init__(
        self,
        config: Any,
        secrets: Any,
        store: StateStore,
        *,
        steps: list[Step],  # the run order, odatui.mdm.run_order(config): the service hands it in
        interactive: bool = False,
        retry_limit: int = 3,
        client_factory: Callable[[str, Context], Any] | None = None,
        undo: Callable[..., Any] | None = None,
        poll_interval: tuple[float, float] = (2.0, 30.0),
        retry_backoff: tuple[float, float] = (1.0, 30.0),
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.store = store
        self.graph = Graph(steps)
        self.steps: dict[str, Step] = self.graph.steps
        self.order = self.graph.order
        self.interactive = interactive
        self.retry_limit = retry_limit
        self.client_factory = client_factory
        self.undo = undo  # Context.undo for the run: how a step removes an object it replaced
        self.poll_interval = poll_interval
        self.retry_backoff = retry_backoff
        self.state: RunState = store.load()
        # Live-run bookkeeping (None/empty between runs).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._running = False
        self._wake: asyncio.Event | None = None
        self._status: dict[str, str] = {}
        self._adopt_only: set[str] = set()
        self._not_applicable: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._check: dict[str, asyncio.Event] = {}
        self._abort: tuple[int, OdatuiError] | None = None
        self._cancelled = False
        self._on_event: Callable[[Event], Any] | None = None
        self._delivery = Delivery(None)
        self._ctx: Context | None = None
        self._background: asyncio.Task[RunResult] | None = None
        self._failed_with: dict[str, int] = {}  # step id → exit code of its error (2 for config/package input)
        self._writer: StateWriter | None = None
        self.identity: Any = None  # odatui.core.identity.Identity of the last run's target
        self._tenant_locks: Any = None

    # ------------------------------------------------------------------ graph (odatui.engine.graph)
    def ancestors(self, sid: str) -> list[str]:
        return self.graph.ancestors(sid)

    def descendants(self, sid: str) -> list[str]:
        return self.graph.descendants(sid)

    def select(self, only: list[str] | None = None, from_step: str | None = None) -> list[str]:
        """The steps a run will apply, in order. Unknown ids are a usage error (exit 2)."""
        return self.graph.select(only, from_step)

    # ------------------------------------------------------------------ plan (odatui.engine.plan)
    async def plan(self, target: str | None = None) -> list[PlanRow]:
        """Inspect every step (dependencies first, independent ones concurrently). Writes nothing anywhere.
        `target`: the tenants' identity key when the caller resolved it (the marker a run would write names it);
        else the one this state last ran on."""
        known = self.state.identity
        if target is None and known and known.get("okta") and known.get("ws1"):
            target = Identity(known["okta"], known["ws1"]).key
        return await plan(self.graph, self.config, self.secrets, self.state.created(),
                          client_factory=self.client_factory, target=target)

    # ------------------------------------------------------------------ run
    async def run(
        self,
        *,
        only: list[str] | None = None,
        from_step: str | None = None,
        on_event: Callable[[Event], Any] | None = None,
    ) -> RunResult:
        if self._running:
            raise UsageError("a run is already in progress")
        selected = self.select(only, from_step)
        self._running = True
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._wake = asyncio.Event()
        self._status, self._adopt_only, self._not_applicable = {}, set(), set()
        self._tasks, self._check = {}, {}
        self._abort, self._cancelled = None, False
        self._failed_with = {}
        self._on_event = on_event
        self._delivery = Delivery(on_event, self._loop)
        self._writer = StateWriter(self.store, self._state_unwritable)
        locked_here = False
        try:
            self._ctx = Context(self.config, self.secrets, {}, client_factory=self.client_factory)
            self._ctx.undo = self.undo
            await self._ctx.preload_clients(*clients_of(self.steps.values()))
            locked_here = await self._bind_target()
            self.state = self.store.load()
            self.state.target = self.store.target  # a state moved from its spelling's name is this target's now
            for note in self.state.notes:
                log.warning("%s", note)
            if self.identity is not None and len(self.identity.confirmed) == 2:
                self.state.identity = self.identity.as_dict()
            self._ctx.outputs = {k: dict(v) for k, v in self.state.outputs().items()}
            self._ctx.created = self.state.created()
            self._include(selected)
            # Secrets and TLS contexts of the clients the pending steps use, built in threads side by side instead
            # of one after the other on the loop inside the first step of each branch.
            pending = [self.steps[s] for s, st in self._status.items() if st == Status.PENDING]
            await self._ctx.prepare_clients(*clients_of(pending))
            log.info("run of %s started: %s", self.state.target, ", ".join(selected))
            await self._schedule()
        except asyncio.CancelledError:
            # Ctrl-C (asyncio.run cancels the main task) or the TUI closing: stop the steps, keep the state.
            self._cancelled = True
            await self._stop_tasks()
            self._finish_log()
            raise
        finally:
            await self._wind_down(locked_here)
        result = RunResult(self._exit_code(), self._summary())
        self._finish_log()
        self._emit(RunFinished(summary=result.summary, exit_code=result.exit_code))
        return result

    async def _wind_down(self, locked_here: bool) -> None:
        assert self._writer is not None
        try:
            await asyncio.shield(self._writer.flush())
        except Exception:
            log.exception("writing the run state failed")
        if self._ctx is not None:
            try:
                await asyncio.shield(self._ctx.aclose())
            except Exception:  # closing clients must never mask the run's result
                log.exception("closing API clients failed")
            self._ctx = None
        self._running = False
        if locked_here:
            self.store.release()
        if self._tenant_locks is not None:
            self._tenant_locks.release()
            self._tenant_locks = None

    async def _bind_target(self) -> bool:
        """Before any change: learn which tenants this config reaches, take their locks and switch to their run
        state (odatui.engine.target). True when the state folder's lock was taken here (released after the run)."""
        assert self._ctx is not None
        bound = await bind(self._ctx, self.store, have_locks=self._tenant_locks is not None)
        self.identity = bound.identity
        self._ctx.target = bound.identity.key
        if bound.locks is not None:
            self._tenant_locks = bound.locks
        self.store = bound.store
        if self._writer is not None:
            self._writer.store = self.store
        return bound.locked_here

    def _include(self, ids: Iterable[str]) -> None:
        """Add steps to the live run, with the ancestors they need. An ancestor that succeeded in an earlier run is
        not trusted: the tenant may have changed since (a restored org, an app deleted by hand), so it is inspected
        again and only a live NONE (still there) hands fresh outputs to the steps that need them; otherwise it
        stops with what it would change, and its dependents do not run on an old value."""
        for sid in ids:
            self._status[sid] = Status.PENDING
            self._adopt_only.discard(sid)
        for sid in list(ids):
            for anc in self.ancestors(sid):
                if anc in self._status:
                    continue
                self._status[anc] = Status.PENDING
                self._adopt_only.add(anc)
                if self._ctx is not None:
                    self._ctx.outputs.pop(anc, None)  # never fall back on the stored value

    async def _schedule(self) -> None:
        assert self._wake is not None
        while True:
            self._start_ready()
            if not self._tasks:
                return
            await self._wake.wait()
            self._wake.clear()

    def _start_ready(self) -> None:
        changed = True
        while changed and self._abort is None and not self._cancelled:
            changed = False
            for sid in self.order:
                if self._status.get(sid) != Status.PENDING or sid in self._tasks:
                    continue  # (a retried step whose last attempt is still winding down starts after it)
                step = self.steps[sid]
                blocker = next((n for n in step.needs if self._status.get(n) in _BLOCKING
                                and n not in self._not_applicable), None)
                if blocker is not None:
                    self._skip(sid, f"needs {blocker}, which {_said(self._status[blocker])}")
                    changed = True
                elif all(self._status.get(n) == Status.SUCCEEDED or n in self._not_applicable for n in step.needs):
                    if not step.applies(self.config):
                        self._not_applicable.add(sid)
                        self._skip(sid, "not needed for this configuration")
                    else:
                        self._status[sid] = Status.RUNNING
                        task = asyncio.create_task(self._run_step(sid), name=f"odatui-step-{sid}")
                        task.add_done_callback(lambda t, sid=sid: self._step_done(sid, t))
                        self._tasks[sid] = task
                    changed = True

    # ------------------------------------------------------------------ outcome
    def _exit_code(self) -> int:
        return run_exit(self._status, failed_with=self._failed_with, not_applicable=self._not_applicable,
                        aborted=self._abort[0] if self._abort is not None else None, cancelled=self._cancelled)

    def _summary(self) -> dict[str, str]:
        out = {}
        for sid in self.order:
            if sid in self._status:
                out[sid] = self._status[sid]
            elif sid in self.state.steps:
                out[sid] = self.state.steps[sid].status
            else:
                out[sid] = Status.PENDING
        return out

    def _finish_log(self) -> None:
        log.info("run of %s finished: %s", self.state.target,
                 ", ".join(f"{k}={v}" for k, v in self._summary().items()))

    @property
    def ran(self) -> set[str]:
        """The steps the last run ran or re-checked against the tenant (the rest of its summary is stored)."""
        return set(self._status)

    @property
    def abort_error(self) -> OdatuiError | None:
        """Why the run stopped early (e.g. SecretsUnavailable, with its remedy in `hint`)."""
        return self._abort[1] if self._abort else None


def _said(status: str) -> str:
    return {Status.FAILED: "failed", Status.NEEDS_ACTION: "needs your action", Status.CANCELLED: "was cancelled",
            Status.SKIPPED: "did not run"}.get(status, status)
