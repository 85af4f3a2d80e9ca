"""The one place that runs steps: plan, and run (inspect → apply) along the `needs` DAG with per-step retry,
resume after a crash, needs-action polling and cancellation. The `Engine` is a facade per target that holds the
graph and the options; each `run()` makes a `Run` holding that run's live bookkeeping, which schedules the steps
and makes a `StepExecution` (odatui.engine.step_run) per step run. The controls a face calls (retry a step, check
now, cancel) act on the current `Run`, from any thread.

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

from odatui.engine.delivery import Delivery
from odatui.engine.exits import run_exit
from odatui.engine.graph import Graph
from odatui.engine.persist import StateWriter
from odatui.engine.plan import PlanRow, plan
from odatui.engine.step_run import StepExecution
from odatui.engine.target import bind
from odatui.core.errors import OdatuiError, UsageError
from odatui.core.events import Event, RunFinished, StepCancelled, StepSkipped
from odatui.core.identity import Identity
from odatui.core.log import get_logger
from odatui.core.state import RunState, StateStore, Status
from odatui.steps.base import Context, Step, clients_of

log = get_logger("engine")

# Statuses that keep the steps needing them from running.
_BLOCKING = (Status.FAILED, Status.NEEDS_ACTION, Status.CANCELLED, Status.SKIPPED)
# A step in one of these is run again with the step retried before it (it did not get to a true success).
_AGAIN = (Status.SKIPPED, Status.FAILED, Status.CANCELLED, Status.NEEDS_ACTION, None)


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    summary: dict[str, str]  # step id → final status (odatui.core.state.Status)


class Engine:
    """The steps of one target and how to run them: plan, run, and the controls a face calls during a run."""

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
        self.identity: Any = None  # odatui.core.identity.Identity of the last run's target
        self._run: Run | None = None  # the live run, else the last one (what `ran` and `abort_error` report)
        self._background: asyncio.Task[RunResult] | None = None  # a run started by retry_step after the last one

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
        self._run = Run(self, on_event)
        return await self._run.go(selected)

    @property
    def _running(self) -> bool:
        return self._run is not None and self._run.running

    @property
    def ran(self) -> set[str]:
        """The steps the last run ran or re-checked against the tenant (the rest of its summary is stored)."""
        return set(self._run.status) if self._run is not None else set()

    @property
    def abort_error(self) -> OdatuiError | None:
        """Why the run stopped early (e.g. SecretsUnavailable, with its remedy in `hint`)."""
        return self._run.abort[1] if self._run is not None and self._run.abort else None

    # ------------------------------------------------------------------ controls (from any thread)
    def _call_in_loop(self, fn: Callable[[], None]) -> None:
        run = self._run
        if run is not None and run.loop_thread != threading.get_ident():
            run.loop.call_soon_threadsafe(fn)
        else:
            fn()

    def retry_step(self, step_id: str) -> None:
        """Run a failed (or needs-action, cancelled, skipped) step again, and the steps it unblocks."""
        if step_id not in self.steps:
            raise UsageError(f"unknown step id {step_id!r}", hint="step ids: " + ", ".join(self.order))

        def during() -> None:
            run = self._run
            if run is None or not run.running:
                return after()
            again = [step_id] + [d for d in self.descendants(step_id) if run.status.get(d) in _AGAIN]
            if run.status.get(step_id) in (Status.RUNNING, Status.SUCCEEDED):
                return
            run.include(again)
            run.wake.set()

        def after() -> None:
            again = [step_id] + [d for d in self.descendants(step_id)
                                 if self.state.steps.get(d) is None or self.state.steps[d].status != Status.SUCCEEDED]
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = self._run.loop if self._run is not None else None
            if loop is None or loop.is_closed():
                raise UsageError("retry_step after a run needs the event loop the run used")
            on_event = self._run.on_event if self._run is not None else None
            self._background = loop.create_task(self.run(only=again, on_event=on_event))

        self._call_in_loop(during)

    def check_now(self, step_id: str) -> None:
        """A step waiting for the admin: look again now instead of at the next poll."""

        def poke() -> None:
            event = self._run.check.get(step_id) if self._run is not None else None
            if event is not None:
                event.set()

        self._call_in_loop(poke)

    def cancel(self) -> None:
        """Stop cleanly: running steps are recorded as cancelled, nothing new starts."""

        def stop() -> None:
            if self._run is not None:
                self._run.stop()

        self._call_in_loop(stop)


class Run:
    """One `Engine.run()`: its live bookkeeping (statuses, tasks, the wake-up event, the Context, the state writer,
    the event delivery, why it stopped), the scheduling along the `needs` graph, and its outcome."""

    def __init__(self, engine: Engine, on_event: Callable[[Event], Any] | None) -> None:
        self.engine = engine
        self.state = engine.state
        self.on_event = on_event
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()
        self.running = True
        self.wake = asyncio.Event()
        self.status: dict[str, str] = {}
        self.adopt_only: set[str] = set()
        self.not_applicable: set[str] = set()
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.check: dict[str, asyncio.Event] = {}
        self.abort: tuple[int, OdatuiError] | None = None
        self.cancelled = False
        self.failed_with: dict[str, int] = {}  # step id → exit code of its error (2 for config/package input)
        self.delivery = Delivery(on_event, self.loop)
        self.writer = StateWriter(engine.store, self._state_unwritable)
        self.ctx: Context | None = None
        self.tenant_locks: Any = None

    async def go(self, selected: list[str]) -> RunResult:
        engine = self.engine
        locked_here = False
        try:
            self.ctx = Context(engine.config, engine.secrets, {}, client_factory=engine.client_factory)
            self.ctx.undo = engine.undo
            await self.ctx.preload_clients(*clients_of(engine.steps.values()))
            locked_here = await self._bind_target()
            self.state = engine.state = engine.store.load()
            self.state.target = engine.store.target  # a state moved from its spelling's name is this target's now
            for note in self.state.notes:
                log.warning("%s", note)
            if engine.identity is not None and len(engine.identity.confirmed) == 2:
                self.state.identity = engine.identity.as_dict()
            self.ctx.outputs = {k: dict(v) for k, v in self.state.outputs().items()}
            self.ctx.created = self.state.created()
            self.include(selected)
            # Secrets and TLS contexts of the clients the pending steps use, built in threads side by side instead
            # of one after the other on the loop inside the first step of each branch.
            pending = [engine.steps[s] for s, st in self.status.items() if st == Status.PENDING]
            await self.ctx.prepare_clients(*clients_of(pending))
            log.info("run of %s started: %s", self.state.target, ", ".join(selected))
            await self._schedule()
        except asyncio.CancelledError:
            # Ctrl-C (asyncio.run cancels the main task) or the TUI closing: stop the steps, keep the state.
            self.cancelled = True
            await self._stop_tasks()
            self._finish_log()
            raise
        finally:
            await self._wind_down(locked_here)
        result = RunResult(self._exit_code(), self.summary())
        self._finish_log()
        self.emit(RunFinished(summary=result.summary, exit_code=result.exit_code))
        return result

    async def _wind_down(self, locked_here: bool) -> None:
        try:
            await asyncio.shield(self.writer.flush())
        except Exception:
            log.exception("writing the run state failed")
        if self.ctx is not None:
            try:
                await asyncio.shield(self.ctx.aclose())
            except Exception:  # closing clients must never mask the run's result
                log.exception("closing API clients failed")
            self.ctx = None
        self.running = False
        if locked_here:
            self.engine.store.release()
        if self.tenant_locks is not None:
            self.tenant_locks.release()
            self.tenant_locks = None

    async def _bind_target(self) -> bool:
        """Before any change: learn which tenants this config reaches, take their locks and switch to their run
        state (odatui.engine.target). True when the state folder's lock was taken here (released after the run)."""
        assert self.ctx is not None
        engine = self.engine
        bound = await bind(self.ctx, engine.store, have_locks=self.tenant_locks is not None)
        engine.identity = bound.identity
        self.ctx.target = bound.identity.key
        if bound.locks is not None:
            self.tenant_locks = bound.locks
        engine.store = bound.store
        self.writer.store = engine.store
        return bound.locked_here

    def include(self, ids: Iterable[str]) -> None:
        """Add steps to the live run, with the ancestors they need. An ancestor that succeeded in an earlier run is
        not trusted: the tenant may have changed since (a restored org, an app deleted by hand), so it is inspected
        again and only a live NONE (still there) hands fresh outputs to the steps that need them; otherwise it
        stops with what it would change, and its dependents do not run on an old value."""
        for sid in ids:
            self.status[sid] = Status.PENDING
            self.adopt_only.discard(sid)
        for sid in list(ids):
            for anc in self.engine.ancestors(sid):
                if anc in self.status:
                    continue
                self.status[anc] = Status.PENDING
                self.adopt_only.add(anc)
                if self.ctx is not None:
                    self.ctx.outputs.pop(anc, None)  # never fall back on the stored value

    async def _schedule(self) -> None:
        while True:
            self._start_ready()
            if not self.tasks:
                return
            await self.wake.wait()
            self.wake.clear()

    def _start_ready(self) -> None:
        engine = self.engine
        changed = True
        while changed and self.abort is None and not self.cancelled:
            changed = False
            for sid in engine.order:
                if self.status.get(sid) != Status.PENDING or sid in self.tasks:
                    continue  # (a retried step whose last attempt is still winding down starts after it)
                step = engine.steps[sid]
                blocker = next((n for n in step.needs if self.status.get(n) in _BLOCKING
                                and n not in self.not_applicable), None)
                if blocker is not None:
                    self.skip(sid, f"needs {blocker}, which {_said(self.status[blocker])}")
                    changed = True
                elif all(self.status.get(n) == Status.SUCCEEDED or n in self.not_applicable for n in step.needs):
                    if not step.applies(engine.config):
                        self.not_applicable.add(sid)
                        self.skip(sid, "not needed for this configuration")
                    else:
                        self.status[sid] = Status.RUNNING
                        task = asyncio.create_task(StepExecution(self, sid).execute(), name=f"odatui-step-{sid}")
                        task.add_done_callback(lambda t, sid=sid: self._step_done(sid, t))
                        self.tasks[sid] = task
                    changed = True

    def _step_done(self, sid: str, task: asyncio.Task[None]) -> None:
        # A done callback, not a `finally`: a task cancelled before it ever ran never enters its body.
        if self.tasks.get(sid) is not task:
            return
        if self.status.get(sid) == Status.RUNNING:
            self.record(sid, Status.CANCELLED, last_error="cancelled")
            self.emit(StepCancelled(sid))
        del self.tasks[sid]
        self.check.pop(sid, None)
        self.wake.set()

    def stop(self) -> None:
        """Cancel: running steps are recorded as cancelled, nothing new starts."""
        self.cancelled = True
        for task in list(self.tasks.values()):
            task.cancel()
        self.wake.set()

    async def _stop_tasks(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ transitions (each one saved)
    def record(self, sid: str, status: str, **fields: Any) -> None:
        rec = self.state.step(sid)
        rec.status = status
        for key, value in fields.items():
            setattr(rec, key, value)
        self.status[sid] = status
        self.writer.request(self.state)

    def skip(self, sid: str, reason: str) -> None:
        self.record(sid, Status.SKIPPED, last_error=None, summary=reason)
        self.emit(StepSkipped(sid, reason))

    def emit(self, event: Event | RunFinished) -> None:
        self.delivery.emit(event)

    def _state_unwritable(self, exc: OdatuiError) -> None:
        # Without a state file a crash could not resume cleanly: stop here rather than go on blind.
        log.error("%s", exc)
        if self.abort is None:
            self.abort = (exc.exit_code, exc)
            for task in list(self.tasks.values()):
                task.cancel()
            self.wake.set()

    # ------------------------------------------------------------------ outcome
    def _exit_code(self) -> int:
        return run_exit(self.status, failed_with=self.failed_with, not_applicable=self.not_applicable,
                        aborted=self.abort[0] if self.abort is not None else None, cancelled=self.cancelled)

    def summary(self) -> dict[str, str]:
        out = {}
        for sid in self.engine.order:
            if sid in self.status:
                out[sid] = self.status[sid]
            elif sid in self.state.steps:
                out[sid] = self.state.steps[sid].status
            else:
                out[sid] = Status.PENDING
        return out

    def _finish_log(self) -> None:
        log.info("run of %s finished: %s", self.state.target,
                 ", ".join(f"{k}={v}" for k, v in self.summary().items()))


def _said(status: str) -> str:
    return {Status.FAILED: "failed", Status.NEEDS_ACTION: "needs your action", Status.CANCELLED: "was cancelled",
            Status.SKIPPED: "did not run"}.get(status, status)
