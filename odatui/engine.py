"""The one place that runs steps: plan (inspect only), run (inspect → apply along the `needs` DAG), per-step
retry with backoff, resume after a crash, needs-action polling and cancellation.

The TUI and the plain CLI are two faces on the events this engine emits (odatui.events). The run state is saved
after every transition, so a killed process resumes: every step starts with `inspect`, which adopts what already
exists (NONE → outputs recorded, `apply` skipped) instead of creating a second app or profile.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from odatui.errors import NeedsAction, OdatuiError, SecretsUnavailable, StepError, UsageError
from odatui.events import (
    Event,
    RunFinished,
    StepCancelled,
    StepFailed,
    StepLog,
    StepNeedsAction,
    StepProgress,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)
from odatui.log import get_logger, redact
from odatui.state import (
    CANCELLED,
    FAILED,
    NEEDS_ACTION,
    PENDING,
    RUNNING,
    SKIPPED,
    SUCCEEDED,
    RunState,
    StateStore,
)
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, OWN_RELEASED, Change, ChangeKind, Context, Progress, Step

log = get_logger("engine")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NEEDS_ACTION, EXIT_SECRETS, EXIT_CANCELLED = 0, 1, 2, 3, 4, 130
PROGRESS_INTERVAL = 0.1  # seconds: at most ~10 progress events per step per second reach a face

# Config fields each step cannot do without (auth-dependent ones are added in `missing_fields`).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "preflight.okta": ("okta.org_url",),
    "okta.app": ("okta.org_url", "okta.app_label"),
    "okta.assign": ("okta.org_url",),
    "preflight.ws1": ("ws1.api_url", "ws1.group_id", "ws1.smart_group"),
    "preflight.package": ("rollout.package",),
    "ws1.upload": ("ws1.api_url", "rollout.package"),
    "ws1.assign": ("ws1.api_url", "ws1.smart_group"),
    "ws1.profile": ("ws1.api_url", "ws1.smart_group", "rollout.profile_name"),
    "verify": (),
}


def missing_fields(config: Any, step_ids: Iterable[str]) -> list[str]:
    """Dotted config fields that the given steps need and that are still empty (Config.missing)."""
    wanted: list[str] = []
    ids = set(step_ids)
    for sid in ids:
        wanted.extend(REQUIRED_FIELDS.get(sid, ()))
    if ids & {"preflight.okta", "okta.app", "okta.assign"}:
        if config.okta.auth == "none":
            wanted.append("okta.client_id")
        elif config.okta.auth == "service_app":
            wanted.append("okta.service_app_client_id")
    if ids & {"preflight.ws1", "ws1.upload", "ws1.assign", "ws1.profile"}:
        wanted.append("ws1.username" if config.ws1.auth == "basic" else "ws1.oauth_client_id")
    return config.missing(*dict.fromkeys(wanted))


@dataclass(frozen=True)
class PlanRow:
    step_id: str
    title: str
    needs: tuple[str, ...]
    change: Change | None  # None when it cannot be known yet (see hint) or inspect failed (see error)
    error: str | None = None
    hint: str | None = None


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    summary: dict[str, str]  # step id → final status (odatui.state statuses)


def topo_order(steps: Iterable[Step]) -> list[str]:
    """Step ids so that every step comes after what it needs (stable: the given order breaks ties)."""
    by_id = {s.id: s for s in steps}
    for step in by_id.values():
        for need in step.needs:
            if need not in by_id:
                raise UsageError(f"step {step.id} needs {need}, which is not part of this run's steps")
    order: list[str] = []
    visiting: set[str] = set()

    def visit(sid: str) -> None:
        if sid in order:
            return
        if sid in visiting:
            raise UsageError(f"the steps' needs form a cycle through {sid}")
        visiting.add(sid)
        for need in by_id[sid].needs:
            visit(need)
        visiting.discard(sid)
        order.append(sid)

    for sid in by_id:
        visit(sid)
    return order


class _Coalescer:
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


class _StateWriter:
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


class Engine:
    def __init__(
        self,
        config: Any,
        secrets: Any,
        store: StateStore,
        *,
        steps: list[Step] | None = None,
        interactive: bool = False,
        retry_limit: int = 3,
        client_factory: Callable[[str, Context], Any] | None = None,
        poll_interval: tuple[float, float] = (2.0, 30.0),
        retry_backoff: tuple[float, float] = (1.0, 30.0),
    ) -> None:
        if steps is None:
            from odatui.steps import all_steps

            steps = all_steps()
        self.config = config
        self.secrets = secrets
        self.store = store
        self.steps: dict[str, Step] = {s.id: s for s in steps}
        self.order = topo_order(steps)
        self.interactive = interactive
        self.retry_limit = retry_limit
        self.client_factory = client_factory
        self.poll_interval = poll_interval
        self.retry_backoff = retry_backoff
        self.state: RunState = store.load()
        self._children: dict[str, list[str]] = {sid: [] for sid in self.order}
        for sid in self.order:
            for need in self.steps[sid].needs:
                self._children[need].append(sid)
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
        self._coalescer: _Coalescer | None = None
        self._ctx: Context | None = None
        self._background: asyncio.Task[RunResult] | None = None
        self._failed_with: dict[str, int] = {}
        self._writer: _StateWriter | None = None
        self.identity: Any = None  # odatui.identity.Identity of the last run's target
        self._tenant_locks: Any = None

    # ------------------------------------------------------------------ graph helpers
    def ancestors(self, sid: str) -> list[str]:
        out: list[str] = []
        todo = list(self.steps[sid].needs)
        while todo:
            need = todo.pop()
            if need not in out:
                out.append(need)
                todo.extend(self.steps[need].needs)
        return [s for s in self.order if s in out]

    def descendants(self, sid: str) -> list[str]:
        out: list[str] = []
        todo = list(self._children[sid])
        while todo:
            child = todo.pop()
            if child not in out:
                out.append(child)
                todo.extend(self._children[child])
        return [s for s in self.order if s in out]

    def select(self, only: list[str] | None = None, from_step: str | None = None) -> list[str]:
        """The steps a run will apply, in order. Unknown ids are a usage error (exit 2)."""
        for sid in [*(only or []), *([from_step] if from_step else [])]:
            if sid not in self.steps:
                raise UsageError(f"unknown step id {sid!r}", hint="step ids: " + ", ".join(self.order))
        if only and from_step:
            raise UsageError("use either --only or --from, not both")
        if only:
            return [s for s in self.order if s in set(only)]
        if from_step:
            chosen = {from_step, *self.descendants(from_step)}
            return [s for s in self.order if s in chosen]
        return list(self.order)

    # ------------------------------------------------------------------ plan
    async def plan(self) -> list[PlanRow]:
        """Inspect every step (dependencies first, independent ones concurrently). Writes nothing anywhere."""
        # Live only: a stored output is what the tenant held once, not what it holds now (each step's answer
        # comes from its own inspect, dependencies first; what cannot be known yet says so).
        ctx = Context(self.config, self.secrets, {}, client_factory=self.client_factory)
        ctx.created = self.state.created()
        rows: dict[str, PlanRow] = {}
        done: dict[str, asyncio.Event] = {sid: asyncio.Event() for sid in self.order}
        secrets_error: list[SecretsUnavailable] = []
        na: set[str] = set()  # steps not needed for this configuration

        async def one(sid: str) -> None:
            step = self.steps[sid]
            try:
                for need in step.needs:
                    await done[need].wait()
                rows[sid] = await self._plan_row(step, ctx, na)
            except SecretsUnavailable as exc:
                secrets_error.append(exc)
                rows[sid] = PlanRow(sid, step.title, step.needs, None, error=exc.message, hint=exc.hint)
            finally:
                done[sid].set()

        try:
            await ctx.prepare_clients("okta", "ws1")  # secrets and TLS contexts off the loop, as in run()
            await asyncio.gather(*(one(sid) for sid in self.order))
        finally:
            await ctx.aclose()
        if secrets_error:
            raise secrets_error[0]
        return [rows[sid] for sid in self.order]

    async def _plan_row(self, step: Step, ctx: Context, na: set[str]) -> PlanRow:
        sid = step.id
        if not step.applies(self.config):
            na.add(sid)
            return PlanRow(sid, step.title, step.needs, Change(ChangeKind.NONE, "not needed for this configuration"))
        # Needs whose outputs this plan cannot know yet: the step's own answer waits for them.
        unknown = [n for n in step.needs if n not in ctx.outputs and n not in na]
        try:
            change = await step.inspect(ctx)
        except SecretsUnavailable:
            raise
        except NeedsAction as exc:
            change = Change(ChangeKind.NEEDS_ACTION, exc.message, action=str(exc))
        except OdatuiError as exc:
            if unknown:
                return PlanRow(sid, step.title, step.needs, None,
                               hint=f"decided once {', '.join(unknown)} {'have' if len(unknown) > 1 else 'has'} run")
            return PlanRow(sid, step.title, step.needs, None, error=redact(exc.message), hint=exc.hint)
        except Exception as exc:  # a bug in a step must not hide the rest of the plan
            log.exception("inspect of %s failed", sid)
            return PlanRow(sid, step.title, step.needs, None, error=_unexpected(exc), hint="details are in the log")
        if change.kind is ChangeKind.NONE:
            ctx.outputs[sid] = dict(change.outputs)
        return PlanRow(sid, step.title, step.needs, change)

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
        self._failed_with: dict[str, int] = {}  # step id → exit code of its error (2 for config/package input)
        self._on_event = on_event
        self._coalescer = _Coalescer(self._loop, self._deliver)
        self._writer = _StateWriter(self.store, self._state_unwritable)
        locked_here = False
        try:
            self._ctx = Context(self.config, self.secrets, {}, client_factory=self.client_factory)
            if self.client_factory is None:
                # Importing httpx and the clients takes a few hundred ms: do it off the loop, before any step
                # starts, so the first step of each branch does not hold up the others (and a TUI stays live).
                await asyncio.to_thread(_preload_clients)
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
            if self.client_factory is None:
                await self._prebuild_clients()
            log.info("run of %s started: %s", self.state.target, ", ".join(selected))
            await self._schedule()
        except asyncio.CancelledError:
            # Ctrl-C (asyncio.run cancels the main task) or the TUI closing: stop the steps, keep the state.
            self._cancelled = True
            await self._stop_tasks()
            self._finish_log()
            raise
        finally:
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
        result = RunResult(self._exit_code(), self._summary())
        self._finish_log()
        self._emit(RunFinished(summary=result.summary, exit_code=result.exit_code))
        return result

    async def _bind_target(self) -> bool:
        """Before any change: learn which tenants this config reaches (odatui.identity), take their locks and
        switch to their run state. True when the state folder's lock was taken here (released after the run)."""
        from odatui.identity import resolve
        from odatui.state import TenantLocks

        assert self._ctx is not None
        kinds = [k for k, url in (("okta", self.config.okta.org_url), ("ws1", self.config.ws1.api_url)) if url]
        await self._ctx.prepare_clients(*kinds)
        try:
            known = self.store.load().identity
        except OdatuiError:
            known = None
        self.identity = identity = await resolve(self._ctx, known=known)
        # Only confirmed parts lock across folders: an unconfirmed one is a spelling, and the state folder's lock
        # below covers it.
        names = tuple(n for part, n in zip(("okta", "ws1"), identity.lock_names, strict=True)
                      if part in identity.confirmed)
        if names and self._tenant_locks is None:
            locks = TenantLocks(names)
            await asyncio.to_thread(locks.acquire)
            self._tenant_locks = locks
        if self.store._lock_fd is None:
            # The spelling's lock too, so whoever holds it (an older odatui, a caller) still keeps this run out.
            spelled = self.store
            spelled.acquire()
            try:
                store = spelled.rebind(identity.key)
                if store is not spelled:
                    store.acquire()
            except BaseException:
                spelled.release()
                raise
            if store is not spelled:
                spelled.release()
            self.store = store
            if self._writer is not None:
                self._writer.store = self.store
            return True
        return False

    def _include(self, ids: Iterable[str]) -> None:
        """Add steps to the live run, with the ancestors they need. An ancestor that succeeded in an earlier run is
        not trusted: the tenant may have changed since (a restored org, an app deleted by hand), so it is inspected
        again and only a live NONE (still there) hands fresh outputs to the steps that need them; otherwise it
        stops with what it would change, and its dependents do not run on an old value."""
        for sid in ids:
            self._status[sid] = PENDING
            self._adopt_only.discard(sid)
        for sid in list(ids):
            for anc in self.ancestors(sid):
                if anc in self._status:
                    continue
                self._status[anc] = PENDING
                self._adopt_only.add(anc)
                if self._ctx is not None:
                    self._ctx.outputs.pop(anc, None)  # never fall back on the stored value

    async def _prebuild_clients(self) -> None:
        """Build the API clients (TLS contexts, secrets) in threads, side by side, instead of one after the other
        on the loop inside the first step of each branch. Failures are left for the step to meet and report."""
        assert self._ctx is not None
        ids = [s for s, st in self._status.items() if st == PENDING]
        kinds = [k for k in ("okta", "ws1") if any(k in sid for sid in ids) or "verify" in ids]
        await self._ctx.prepare_clients(*kinds)

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
                if self._status.get(sid) != PENDING or sid in self._tasks:
                    continue  # (a retried step whose last attempt is still winding down starts after it)
                step = self.steps[sid]
                blocker = next((n for n in step.needs if self._status.get(n) in
                                (FAILED, NEEDS_ACTION, CANCELLED, SKIPPED) and n not in self._not_applicable), None)
                if blocker is not None:
                    self._skip(sid, f"needs {blocker}, which {_said(self._status[blocker])}")
                    changed = True
                elif all(self._status.get(n) == SUCCEEDED or n in self._not_applicable for n in step.needs):
                    if not step.applies(self.config):
                        self._not_applicable.add(sid)
                        self._skip(sid, "not needed for this configuration")
                    else:
                        self._status[sid] = RUNNING
                        task = asyncio.create_task(self._run_step(sid), name=f"odatui-step-{sid}")
                        task.add_done_callback(lambda t, sid=sid: self._step_done(sid, t))
                        self._tasks[sid] = task
                    changed = True

    async def _run_step(self, sid: str) -> None:
        try:
            await self._execute(sid)
        except asyncio.CancelledError:
            self._record(sid, CANCELLED, last_error="cancelled")
            self._emit(StepCancelled(sid))
        except Exception:  # the engine's own bug: never leave the scheduler waiting
            log.exception("engine error while running %s", sid)
            message = "internal error in odatui (details are in the log)"
            self._record(sid, FAILED, last_error=message)
            self._emit(StepFailed(sid, message))
        finally:
            if self._coalescer is not None:
                self._coalescer.flush(sid)

    def _step_done(self, sid: str, task: asyncio.Task[None]) -> None:
        # A done callback, not a `finally`: a task cancelled before it ever ran never enters its body.
        if self._tasks.get(sid) is not task:
            return
        if self._status.get(sid) == RUNNING:
            self._record(sid, CANCELLED, last_error="cancelled")
            self._emit(StepCancelled(sid))
        del self._tasks[sid]
        self._check.pop(sid, None)
        if self._wake is not None:
            self._wake.set()

    async def _execute(self, sid: str) -> None:
        step = self.steps[sid]
        ctx = self._ctx
        assert ctx is not None
        adopt_only = sid in self._adopt_only
        attempt = 1
        self._record(sid, RUNNING, started=time.time(), finished=None, attempts=self.state.step(sid).attempts + 1,
                     last_error=None, hint=None, retryable=None)
        self._emit(StepStarted(sid, step.title, attempt))
        poll_delay = self.poll_interval[0]
        progress = Progress(lambda fraction, message="", **extra: self._progress(sid, fraction, message, extra))
        while True:
            try:
                change = await step.inspect(ctx)
                if change.kind is ChangeKind.NEEDS_ACTION:
                    raise NeedsAction(change.action or change.summary)
                if change.kind is ChangeKind.NONE:
                    self._succeed(sid, dict(change.outputs), change.summary, changed=False)
                    return
                if adopt_only:
                    reason = (f"not selected, and it would {change.kind.value}: {change.summary}; "
                              f"run `odatui apply --only {sid}` first")
                    # Recorded, not only shown: a success stored for it earlier is no longer true of the tenant.
                    self._record(sid, SKIPPED, summary=reason, finished=time.time(), outputs={})
                    self._emit(StepSkipped(sid, reason))
                    return
                self._emit(StepLog(sid, f"{change.kind.value}: {change.summary}"))
                if change.creates:
                    # Saved before the first write, so a kill between the write and its record still leaves
                    # the object marked as odatui's for the next run (which adopts it).
                    rec = self.state.step(sid)
                    rec.intends = [*rec.intends, *(dict(c) for c in change.creates if dict(c) not in rec.intends)]
                    self._record(sid, RUNNING)
                # The change inspect just found, so apply need not read the tenant again (a retry re-inspects).
                outputs = await step.apply_change(ctx, progress, change)
                self._succeed(sid, dict(outputs or {}), step.done(change, outputs or {}), changed=True)
                return
            except NeedsAction as exc:
                text = redact(str(exc))
                if not self.interactive:
                    self._record(sid, NEEDS_ACTION, last_error=text, finished=time.time())
                    self._emit(StepNeedsAction(sid, text))
                    return
                self._record(sid, NEEDS_ACTION, last_error=text)
                self._status[sid] = RUNNING  # still ours: polling
                self._emit(StepNeedsAction(sid, text, polling=True, next_check_in=poll_delay))
                await self._wait_for_check(sid, poll_delay)
                poll_delay = min(poll_delay * 1.5, self.poll_interval[1])
            except SecretsUnavailable as exc:
                self._fail(sid, exc, attempt)
                self._abort = (EXIT_SECRETS, exc)
                for other, task in list(self._tasks.items()):
                    if other != sid:
                        task.cancel()
                return
            except StepError as exc:
                if exc.retryable and attempt <= self.retry_limit:
                    wait = self._backoff(attempt)
                    self._emit(StepFailed(sid, redact(exc.message), True, exc.hint, attempt, will_retry_in=wait))
                    log.info("%s attempt %d failed (%s); retrying in %.1fs", sid, attempt, redact(exc.message), wait)
                    await asyncio.sleep(wait)
                    attempt += 1
                    self._record(sid, RUNNING, attempts=self.state.step(sid).attempts + 1)
                    self._emit(StepStarted(sid, step.title, attempt))
                    continue
                self._fail(sid, exc, attempt)
                return
            except OdatuiError as exc:
                self._fail(sid, exc, attempt)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or an unforeseen answer: a readable line, the traceback in the log
                log.exception("step %s failed unexpectedly", sid)
                self._fail(sid, StepError(_unexpected(exc), hint="details are in the log; `odatui bundle` collects "
                                                                  "them for support"), attempt)
                return

    def _backoff(self, attempt: int) -> float:
        base, cap = self.retry_backoff
        delay = min(cap, base * 2 ** (attempt - 1))
        return random.uniform(delay / 2, delay)

    async def _wait_for_check(self, sid: str, delay: float) -> None:
        event = self._check.setdefault(sid, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout=delay)
        except TimeoutError:
            pass
        event.clear()

    # ------------------------------------------------------------------ transitions (each one saved)
    def _record(self, sid: str, status: str, **fields: Any) -> None:
        rec = self.state.step(sid)
        rec.status = status
        for key, value in fields.items():
            setattr(rec, key, value)
        self._status[sid] = status
        if self._writer is not None:
            self._writer.request(self.state)
        else:
            self.store.save(self.state)

    def _state_unwritable(self, exc: OdatuiError) -> None:
        # Without a state file a crash could not resume cleanly: stop here rather than go on blind.
        log.error("%s", exc)
        if self._abort is None:
            self._abort = (exc.exit_code, exc)
            for task in list(self._tasks.values()):
                task.cancel()
            if self._wake is not None:
                self._wake.set()

    def _succeed(self, sid: str, outputs: dict[str, Any], summary: str, *, changed: bool) -> None:
        outputs = json.loads(json.dumps(outputs, default=str))  # what the state file can hold is what steps get
        assert self._ctx is not None
        rec = self.state.step(sid)
        rec.own(outputs.pop(OWN_CREATED, []), outputs.pop(OWN_ADOPTED, []), outputs.pop(OWN_RELEASED, []))
        rec.intends = []
        self._ctx.created[sid] = list(rec.created)
        self._ctx.outputs[sid] = outputs
        self._record(sid, SUCCEEDED, outputs=outputs, summary=summary, finished=time.time(), last_error=None,
                     hint=None, retryable=None)
        if self._coalescer is not None:
            self._coalescer.flush(sid)
        log.info("%s %s: %s", sid, "done" if changed else "unchanged", summary)
        self._emit(StepSucceeded(sid, outputs, summary, changed))

    def _fail(self, sid: str, exc: OdatuiError, attempt: int) -> None:
        retryable = bool(getattr(exc, "retryable", False))
        self._failed_with[sid] = exc.exit_code
        message = redact(exc.message)
        self._record(sid, FAILED, last_error=message, hint=exc.hint, retryable=retryable, finished=time.time())
        log.warning("%s failed: %s", sid, message)
        self._emit(StepFailed(sid, message, retryable, exc.hint, attempt))

    def _skip(self, sid: str, reason: str) -> None:
        self._record(sid, SKIPPED, last_error=None, summary=reason)
        self._emit(StepSkipped(sid, reason))

    async def _stop_tasks(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ------------------------------------------------------------------ events
    def _progress(self, sid: str, fraction: float | None, message: str, extra: dict[str, Any]) -> None:
        if "_log" in extra:
            event: Event = StepLog(sid, message, extra["_log"])
        else:
            done = extra.get("bytes_done", extra.get("bytes_sent"))
            event = StepProgress(sid, fraction, message, bytes_done=done,
                                 bytes_total=extra.get("bytes_total"), rate=extra.get("rate"))
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            self._loop.call_soon_threadsafe(self._progress_event, event)
        else:
            self._progress_event(event)

    def _progress_event(self, event: Event) -> None:
        if isinstance(event, StepProgress) and self._coalescer is not None:
            self._coalescer.offer(event)
        else:
            self._emit(event)

    def _emit(self, event: Event | RunFinished) -> None:
        if isinstance(event, StepProgress) and self._coalescer is not None:
            self._coalescer.offer(event)
            return
        self._deliver(event)

    def _deliver(self, event: Any) -> None:
        if self._on_event is None:
            return
        try:
            result = self._on_event(event)
            if asyncio.iscoroutine(result):
                asyncio.ensure_future(result)
        except Exception:  # a face's bug must not stop the rollout
            log.exception("event handler failed on %s", type(event).__name__)

    # ------------------------------------------------------------------ outcome
    def _exit_code(self) -> int:
        if self._abort is not None:
            return self._abort[0]
        if self._cancelled:
            return EXIT_CANCELLED
        statuses = self._status.values()
        # A step that failed on the admin's input (a bad package, a config value) is exit 2: fix the input first.
        if any(self._failed_with.get(s) == EXIT_USAGE for s, st in self._status.items() if st == FAILED):
            return EXIT_USAGE
        if FAILED in statuses or CANCELLED in statuses:
            return EXIT_FAILED
        if NEEDS_ACTION in statuses:
            return EXIT_NEEDS_ACTION
        blocked = [s for s, st in self._status.items() if st == SKIPPED and s not in self._not_applicable]
        return EXIT_FAILED if blocked else EXIT_OK

    def _summary(self) -> dict[str, str]:
        out = {}
        for sid in self.order:
            if sid in self._status:
                out[sid] = self._status[sid]
            elif sid in self.state.steps:
                out[sid] = self.state.steps[sid].status
            else:
                out[sid] = PENDING
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

    # ------------------------------------------------------------------ controls for the faces
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
            again = [step_id] + [d for d in self.descendants(step_id)
                                 if self._status.get(d) in (SKIPPED, FAILED, CANCELLED, NEEDS_ACTION, None)]
            if self._status.get(step_id) in (RUNNING, SUCCEEDED):
                return
            self._include(again)
            assert self._wake is not None
            self._wake.set()

        def after() -> None:
            again = [step_id] + [d for d in self.descendants(step_id)
                                 if self.state.steps.get(d) is None or self.state.steps[d].status != SUCCEEDED]
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


def _preload_clients() -> None:
    import odatui.okta.client  # noqa: F401
    import odatui.ws1.client  # noqa: F401


def _said(status: str) -> str:
    return {FAILED: "failed", NEEDS_ACTION: "needs your action", CANCELLED: "was cancelled",
            SKIPPED: "did not run"}.get(status, status)


def _unexpected(exc: BaseException) -> str:
    text = redact(str(exc)).strip().splitlines()
    return f"unexpected error: {type(exc).__name__}" + (f": {text[0]}" if text else "")


def save_answers(config: Any, path: Any = None) -> Any:
    """The answers file: the config that reproduces this rollout unattended (`odatui apply --config FILE`).

    Default location: `<config dir>/answers/<target>.toml`. No secrets: the Config model has none.
    """
    from pathlib import Path

    from odatui.config import save_config
    from odatui.paths import config_dir

    target = Path(path) if path else config_dir() / "answers" / f"{config.target_key()}.toml"
    return save_config(config, target)
