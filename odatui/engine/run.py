"""Running one step: inspect → apply, retried with backoff when the error says it may pass, polled while it needs
the admin, and every outcome (the error branches) recorded in the run state and told to the face.

A mixin of odatui.engine.scheduler.Engine, which owns the attributes used here (the live run's bookkeeping).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import TYPE_CHECKING, Any

from odatui.engine.exits import EXIT_SECRETS
from odatui.engine.plan import unexpected
from odatui.core.errors import NeedsAction, OdatuiError, SecretsUnavailable, StepError
from odatui.core.events import (
    Event,
    RunFinished,
    StepCancelled,
    StepFailed,
    StepLog,
    StepNeedsAction,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)
from odatui.core.log import get_logger, redact
from odatui.core.state import Status
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, OWN_RELEASED, ChangeKind, Progress

if TYPE_CHECKING:
    from odatui.engine.delivery import Delivery
    from odatui.engine.persist import StateWriter
    from odatui.core.state import RunState, StateStore
    from odatui.steps.base import Context, Step

log = get_logger("engine")


class StepRunner:
    steps: dict[str, Step]
    state: RunState
    store: StateStore
    interactive: bool
    retry_limit: int
    poll_interval: tuple[float, float]
    retry_backoff: tuple[float, float]
    _ctx: Context | None
    _status: dict[str, str]
    _adopt_only: set[str]
    _tasks: dict[str, asyncio.Task[None]]
    _check: dict[str, asyncio.Event]
    _abort: tuple[int, OdatuiError] | None
    _failed_with: dict[str, int]
    _wake: asyncio.Event | None
    _writer: StateWriter | None
    _delivery: Delivery

    async def _run_step(self, sid: str) -> None:
        from odatui.core.http import RETRY_LISTENER  # deferred: start-up (httpx; by now imported off the loop)

        # This task's own context: the step's HTTP retries reach its pane (level "retry"), not only the log file.
        RETRY_LISTENER.set(lambda message: self._emit(StepLog(sid, message, "retry")))
        try:
            await self._execute(sid)
        except asyncio.CancelledError:
            self._record(sid, Status.CANCELLED, last_error="cancelled")
            self._emit(StepCancelled(sid))
        except Exception:  # the engine's own bug: never leave the scheduler waiting
            log.exception("engine error while running %s", sid)
            message = "internal error in odatui (details are in the log)"
            self._record(sid, Status.FAILED, last_error=message)
            self._emit(StepFailed(sid, message))
        finally:
            self._delivery.flush(sid)

    def _step_done(self, sid: str, task: asyncio.Task[None]) -> None:
        # A done callback, not a `finally`: a task cancelled before it ever ran never enters its body.
        if self._tasks.get(sid) is not task:
            return
        if self._status.get(sid) == Status.RUNNING:
            self._record(sid, Status.CANCELLED, last_error="cancelled")
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
        self._record(sid, Status.RUNNING, started=time.time(), finished=None,
                     attempts=self.state.step(sid).attempts + 1, last_error=None, hint=None, retryable=None)
        self._emit(StepStarted(sid, step.title, attempt))
        poll_delay = self.poll_interval[0]
        progress = Progress(lambda fraction, message="", **extra: self._delivery.progress(sid, fraction, message,
                                                                                            extra))
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
                    self._record(sid, Status.SKIPPED, summary=reason, finished=time.time(), outputs={})
                    self._emit(StepSkipped(sid, reason))
                    return
                self._emit(StepLog(sid, f"{change.kind.value}: {change.summary}"))
                if change.creates:
                    # Saved before the first write, so a kill between the write and its record still leaves
                    # the object marked as odatui's for the next run (which adopts it).
                    rec = self.state.step(sid)
                    rec.intends = [*rec.intends, *(dict(c) for c in change.creates if dict(c) not in rec.intends)]
                    self._record(sid, Status.RUNNING)
                # The change inspect just found, so apply need not read the tenant again (a retry re-inspects).
                outputs = await step.apply_change(ctx, progress, change)
                self._succeed(sid, dict(outputs or {}), step.done(change, outputs or {}), changed=True)
                return
            except NeedsAction as exc:
                text = redact(str(exc))
                if not self.interactive:
                    self._record(sid, Status.NEEDS_ACTION, last_error=text, finished=time.time())
                    self._emit(StepNeedsAction(sid, text))
                    return
                self._record(sid, Status.NEEDS_ACTION, last_error=text)
                self._status[sid] = Status.RUNNING  # still ours: polling
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
                    self._record(sid, Status.RUNNING, attempts=self.state.step(sid).attempts + 1)
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
                self._fail(sid, StepError(unexpected(exc), hint="details are in the log; `odatui bundle` collects "
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
        made = self._ctx.made.pop(sid, [])
        created = outputs.pop(OWN_CREATED, [])
        rec.own([*made, *created], outputs.pop(OWN_ADOPTED, []), outputs.pop(OWN_RELEASED, []))
        rec.intends = []
        self._ctx.created[sid] = list(rec.created)
        self._ctx.outputs[sid] = outputs
        self._record(sid, Status.SUCCEEDED, outputs=outputs, summary=summary, finished=time.time(), last_error=None,
                     hint=None, retryable=None)
        self._delivery.flush(sid)
        log.info("%s %s: %s", sid, "done" if changed else "unchanged", summary)
        self._emit(StepSucceeded(sid, outputs, summary, changed))

    def _fail(self, sid: str, exc: OdatuiError, attempt: int) -> None:
        retryable = bool(getattr(exc, "retryable", False))
        if self._ctx is not None and self._ctx.made.get(sid):
            # What the step created before it failed is odatui's: in the ledger, so `remove` takes it.
            rec = self.state.step(sid)
            rec.own(created=self._ctx.made.pop(sid))
            self._ctx.created[sid] = list(rec.created)
        self._failed_with[sid] = exc.exit_code
        message = redact(exc.message)
        self._record(sid, Status.FAILED, last_error=message, hint=exc.hint, retryable=retryable,
                     finished=time.time())
        log.warning("%s failed: %s", sid, message)
        self._emit(StepFailed(sid, message, retryable, exc.hint, attempt))

    def _skip(self, sid: str, reason: str) -> None:
        self._record(sid, Status.SKIPPED, last_error=None, summary=reason)
        self._emit(StepSkipped(sid, reason))

    async def _stop_tasks(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _emit(self, event: Event | RunFinished) -> None:
        self._delivery.emit(event)
