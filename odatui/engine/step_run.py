"""Running one step: inspect → apply, retried with backoff when the error says it may pass, polled while it needs
the admin, and every outcome (the error branches) recorded in the run state and told to the face.

A `StepExecution` is made per step run by the live `Run` (odatui.engine.scheduler), which owns the bookkeeping it
records into.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from typing import Any

from odatui.engine.exits import EXIT_SECRETS
from odatui.engine.plan import unexpected
from odatui.core.errors import NeedsAction, OdatuiError, SecretsUnavailable, StepError
from odatui.core.events import (
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

log = get_logger("engine")


class StepExecution:
    """One step's run inside a live `Run`: its task body, its attempts, its polls and its outcome."""

    def __init__(self, run: Any, sid: str) -> None:  # the live scheduler.Run (not imported: it imports this)
        self.run = run
        self.sid = sid
        self.step = run.engine.steps[sid]
        self.attempt = 1

    async def execute(self) -> None:
        from odatui.core.http import RETRY_LISTENER  # deferred: start-up (httpx; by now imported off the loop)

        sid, run = self.sid, self.run
        # This task's own context: the step's HTTP retries reach its pane (level "retry"), not only the log file.
        RETRY_LISTENER.set(lambda message: run.emit(StepLog(sid, message, "retry")))
        try:
            await self._attempts()
        except asyncio.CancelledError:
            run.record(sid, Status.CANCELLED, last_error="cancelled")
            run.emit(StepCancelled(sid))
        except Exception:  # the engine's own bug: never leave the scheduler waiting
            log.exception("engine error while running %s", sid)
            message = "internal error in odatui (details are in the log)"
            run.record(sid, Status.FAILED, last_error=message)
            run.emit(StepFailed(sid, message))
        finally:
            run.delivery.flush(sid)

    async def _attempts(self) -> None:
        sid, step, run, engine = self.sid, self.step, self.run, self.run.engine
        ctx = run.ctx
        assert ctx is not None
        adopt_only = sid in run.adopt_only
        run.record(sid, Status.RUNNING, started=time.time(), finished=None,
                   attempts=run.state.step(sid).attempts + 1, last_error=None, hint=None, retryable=None)
        run.emit(StepStarted(sid, step.title, self.attempt))
        poll_delay = engine.poll_interval[0]
        progress = Progress(lambda fraction, message="", **extra: run.delivery.progress(sid, fraction, message, extra))
        while True:
            try:
                change = await step.inspect(ctx)
                if change.kind is ChangeKind.NEEDS_ACTION:
                    raise NeedsAction(change.action or change.summary)
                if change.kind is ChangeKind.NONE:
                    self._succeed(dict(change.outputs), change.summary, changed=False)
                    return
                if adopt_only:
                    reason = (f"not selected, and it would {change.kind.value}: {change.summary}; "
                              f"run `odatui apply --only {sid}` first")
                    # Recorded, not only shown: a success stored for it earlier is no longer true of the tenant.
                    run.record(sid, Status.SKIPPED, summary=reason, finished=time.time(), outputs={})
                    run.emit(StepSkipped(sid, reason))
                    return
                run.emit(StepLog(sid, f"{change.kind.value}: {change.summary}"))
                if change.creates:
                    # Saved before the first write, so a kill between the write and its record still leaves
                    # the object marked as odatui's for the next run (which adopts it).
                    rec = run.state.step(sid)
                    rec.intends = [*rec.intends, *(dict(c) for c in change.creates if dict(c) not in rec.intends)]
                    run.record(sid, Status.RUNNING)
                # The change inspect just found, so apply need not read the tenant again (a retry re-inspects).
                outputs = await step.apply_change(ctx, progress, change)
                self._succeed(dict(outputs or {}), step.done(change, outputs or {}), changed=True)
                return
            except NeedsAction as exc:
                text = redact(str(exc))
                if not engine.interactive:
                    run.record(sid, Status.NEEDS_ACTION, last_error=text, finished=time.time())
                    run.emit(StepNeedsAction(sid, text))
                    return
                run.record(sid, Status.NEEDS_ACTION, last_error=text)
                run.status[sid] = Status.RUNNING  # still ours: polling
                run.emit(StepNeedsAction(sid, text, polling=True, next_check_in=poll_delay))
                await self._wait_for_check(poll_delay)
                poll_delay = min(poll_delay * 1.5, engine.poll_interval[1])
            except SecretsUnavailable as exc:
                self._fail(exc)
                run.abort = (EXIT_SECRETS, exc)
                for other, task in list(run.tasks.items()):
                    if other != sid:
                        task.cancel()
                return
            except StepError as exc:
                if exc.retryable and self.attempt <= engine.retry_limit:
                    wait = self._backoff()
                    run.emit(StepFailed(sid, redact(exc.message), True, exc.hint, self.attempt, will_retry_in=wait))
                    log.info("%s attempt %d failed (%s); retrying in %.1fs", sid, self.attempt, redact(exc.message),
                             wait)
                    await asyncio.sleep(wait)
                    self.attempt += 1
                    run.record(sid, Status.RUNNING, attempts=run.state.step(sid).attempts + 1)
                    run.emit(StepStarted(sid, step.title, self.attempt))
                    continue
                self._fail(exc)
                return
            except OdatuiError as exc:
                self._fail(exc)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug or an unforeseen answer: a readable line, the traceback in the log
                log.exception("step %s failed unexpectedly", sid)
                self._fail(StepError(unexpected(exc), hint="details are in the log; `odatui bundle` collects "
                                                           "them for support"))
                return

    def _backoff(self) -> float:
        base, cap = self.run.engine.retry_backoff
        delay = min(cap, base * 2 ** (self.attempt - 1))
        return random.uniform(delay / 2, delay)

    async def _wait_for_check(self, delay: float) -> None:
        event = self.run.check.setdefault(self.sid, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), timeout=delay)
        except TimeoutError:
            pass
        event.clear()

    # ------------------------------------------------------------------ outcomes (each one saved)
    def _succeed(self, outputs: dict[str, Any], summary: str, *, changed: bool) -> None:
        sid, run = self.sid, self.run
        outputs = json.loads(json.dumps(outputs, default=str))  # what the state file can hold is what steps get
        assert run.ctx is not None
        rec = run.state.step(sid)
        made = run.ctx.made.pop(sid, [])
        created = outputs.pop(OWN_CREATED, [])
        rec.own([*made, *created], outputs.pop(OWN_ADOPTED, []), outputs.pop(OWN_RELEASED, []))
        rec.intends = []
        run.ctx.created[sid] = list(rec.created)
        run.ctx.outputs[sid] = outputs
        run.record(sid, Status.SUCCEEDED, outputs=outputs, summary=summary, finished=time.time(), last_error=None,
                   hint=None, retryable=None)
        run.delivery.flush(sid)
        log.info("%s %s: %s", sid, "done" if changed else "unchanged", summary)
        run.emit(StepSucceeded(sid, outputs, summary, changed))

    def _fail(self, exc: OdatuiError) -> None:
        sid, run = self.sid, self.run
        retryable = bool(getattr(exc, "retryable", False))
        if run.ctx is not None and run.ctx.made.get(sid):
            # What the step created before it failed is odatui's: in the ledger, so `remove` takes it.
            rec = run.state.step(sid)
            rec.own(created=run.ctx.made.pop(sid))
            run.ctx.created[sid] = list(rec.created)
        run.failed_with[sid] = exc.exit_code
        message = redact(exc.message)
        run.record(sid, Status.FAILED, last_error=message, hint=exc.hint, retryable=retryable, finished=time.time())
        log.warning("%s failed: %s", sid, message)
        run.emit(StepFailed(sid, message, retryable, exc.hint, self.attempt))
