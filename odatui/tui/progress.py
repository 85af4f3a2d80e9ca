"""What the run screen shows, folded from the engine's events: one `StepView` per step. Plain Python (no Textual),
so the same fold is tested directly and fed synthetic events for deterministic snapshots."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from odatui.core import events as ev
from odatui.service.words import cancelled_text, log_text, skipped_text

# status → (glyph, word). Words as well as glyphs: state is never told by colour alone (NO_COLOR, TERM=linux).
STATUS = {
    "pending": ("·", "waiting"),
    "running": ("▶", "running"),
    "retrying": ("↻", "retrying"),
    "succeeded": ("✓", "done"),
    "unchanged": ("✓", "already there"),
    "failed": ("✗", "failed"),
    "needs-action": ("!", "needs you"),
    "skipped": ("–", "skipped"),
    "cancelled": ("○", "cancelled"),
}


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def human_seconds(s: float) -> str:
    s = int(s)
    return f"{s}s" if s < 60 else f"{s // 60}m{s % 60:02d}s"


@dataclass
class StepView:
    step_id: str
    title: str
    status: str = "pending"
    summary: str = ""
    attempt: int = 0
    started: float | None = None
    finished: float | None = None
    error: str = ""
    hint: str = ""
    retryable: bool = False
    will_retry_in: float | None = None
    action: str = ""
    polling: bool = False
    next_check_in: float | None = None
    fraction: float | None = None
    bytes_done: int | None = None
    bytes_total: int | None = None
    rate: float | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    log: deque[str] = field(default_factory=lambda: deque(maxlen=500))
    last_run: bool = False  # the status is the previous run's (seeded from the state file), not this run's
    http_retry: str = ""  # the latest HTTP-level retry of the running attempt, e.g. "GET /api/…: HTTP 503; …"

    @property
    def glyph(self) -> str:
        return STATUS[self.status][0]

    @property
    def word(self) -> str:
        return STATUS[self.status][1]

    def elapsed(self, now: float) -> str:
        if self.started is None:
            return ""
        end = self.finished if self.finished is not None else now
        return human_seconds(max(0.0, end - self.started))

    def transfer(self) -> str:
        """`12.3 MB / 27.0 MB · 5.1 MB/s` while an upload runs."""
        if self.bytes_total is None:
            return self.summary
        text = f"{human_bytes(self.bytes_done or 0)} / {human_bytes(self.bytes_total)}"
        if self.rate:
            text += f" · {human_bytes(self.rate)}/s"
        return text

    def line(self) -> str:
        """The pane's second line: what is happening now, in one line."""
        if self.last_run:
            return f"last run: {self._line()}"
        return self._line()

    def _line(self) -> str:
        if self.status == "running" and self.http_retry:
            return f"↻ {self.http_retry}"
        if self.status == "failed":
            return self.error.splitlines()[0] if self.error else "failed"
        if self.status == "cancelled":
            return "cancelled before it finished · r retries"
        if self.status == "retrying":
            wait = f" in {self.will_retry_in:.0f}s" if self.will_retry_in else ""
            return f"attempt {self.attempt} failed; retrying{wait}"
        if self.status == "needs-action":
            return "waiting for you (select for the steps)" + (" · checking" if self.polling else "")
        if self.status == "running" and self.bytes_total is not None:
            return self.transfer()
        return self.summary or self.word


class RunModel:
    def __init__(self, steps: Iterable[tuple[str, str]], clock: Callable[[], float] = time.monotonic) -> None:
        self.steps: dict[str, StepView] = {sid: StepView(sid, title) for sid, title in steps}
        self.clock = clock
        self.finished: ev.RunFinished | None = None

    def seed(self, previous: dict[str, Any]) -> None:
        """Show the last run's outcome (state file records) before anything new happens."""
        for sid, rec in previous.items():
            view = self.steps.get(sid)
            if view is None:
                continue
            status = rec.status if rec.status in STATUS else "pending"
            if status == "running":
                status = "cancelled"  # a crash mid-step: it will be inspected again
            view.status = status
            view.last_run = status != "pending"
            # Only the outcome's own summary: a failed or waiting step's earlier success text is not its state.
            view.summary = (rec.summary or "") if status in ("succeeded", "unchanged", "skipped") else ""
            view.error = rec.last_error or ""
            view.hint = rec.hint or ""
            view.retryable = bool(rec.retryable)
            view.outputs = dict(rec.outputs or {})
            view.attempt = rec.attempts
            if status == "needs-action":
                view.action = rec.last_error or ""

    def apply(self, event: Any) -> StepView | None:
        if isinstance(event, ev.RunFinished):
            self.finished = event
            return None
        view = self.steps.get(event.step_id)
        if view is None:
            view = self.steps[event.step_id] = StepView(event.step_id, event.step_id)
        now = self.clock()
        view.last_run = False  # any event of this run replaces what the state file said
        if isinstance(event, ev.StepStarted):
            if view.status not in ("retrying", "running") or view.started is None:
                view.started = now
            self.finished = None
            view.title = event.title or view.title
            view.status, view.attempt, view.finished = "running", event.attempt, None
            view.last_run = False
            view.error = view.hint = view.action = view.summary = view.http_retry = ""
            view.fraction = view.bytes_done = view.bytes_total = view.rate = None
            view.log.append(f"attempt {event.attempt} started" if event.attempt > 1 else "started")
        elif isinstance(event, ev.StepProgress):
            view.fraction = event.fraction
            view.bytes_done, view.bytes_total, view.rate = event.bytes_done, event.bytes_total, event.rate
            if event.message:
                view.summary = event.message
        elif isinstance(event, ev.StepLog):
            if event.level == "retry":
                view.http_retry = event.message
                view.log.append(f"↻ {event.message}")
            else:
                view.log.append(log_text(event))
        elif isinstance(event, ev.StepNeedsAction):
            view.status, view.action, view.summary, view.http_retry = "needs-action", event.text, "", ""
            view.polling, view.next_check_in = event.polling, event.next_check_in
            when = f"; next check in {event.next_check_in:.0f}s" if event.polling and event.next_check_in else ""
            view.log.append(f"needs your action{when}")
        elif isinstance(event, ev.StepSucceeded):
            view.status = "succeeded" if event.changed else "unchanged"
            view.summary, view.outputs, view.finished = event.summary, dict(event.outputs), now
            view.http_retry = ""
            view.fraction = 1.0
            view.bytes_total = None
            view.log.append(f"{'done' if event.changed else 'already there'}: {event.summary}")
        elif isinstance(event, ev.StepFailed):
            view.error, view.hint, view.retryable = event.error, event.hint or "", event.retryable
            view.summary = view.http_retry = ""  # what this attempt found before failing is not its outcome
            view.attempt = event.attempt
            if event.will_retry_in is not None:
                view.status, view.will_retry_in = "retrying", event.will_retry_in
                view.log.append(f"attempt {event.attempt} failed: {event.error}; retrying in {event.will_retry_in:.0f}s")
            else:
                view.status, view.finished = "failed", now
                view.log.append(f"failed: {event.error}")
                if event.hint:
                    view.log.append(f"fix: {event.hint}")
        elif isinstance(event, ev.StepSkipped):
            view.status, view.summary, view.finished = "skipped", event.reason, now
            view.log.append(skipped_text(event))
        elif isinstance(event, ev.StepCancelled):
            # Stopped mid-step (quit, Ctrl-C): nothing is wrong with the step, so it is retryable like a failure.
            reason = event.reason or "cancelled"
            view.status, view.finished, view.retryable = "cancelled", now, True
            view.error = reason if reason != "cancelled" else "the run was stopped while this step ran"
            view.hint, view.will_retry_in, view.bytes_total = "", None, None
            view.log.append(cancelled_text(event))
        return view

    # --- queries for the screen ---
    def done_fraction(self) -> float:
        """Share of steps that are done (failed or skipped ones are not: the bar shows what is really finished)."""
        if not self.steps:
            return 0.0
        done = sum(1 for v in self.steps.values() if v.status in ("succeeded", "unchanged")
                   or (v.status == "skipped" and "not needed" in v.summary))
        return done / len(self.steps)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for view in self.steps.values():
            out[view.status] = out.get(view.status, 0) + 1
        return out

    def failed(self) -> list[str]:
        return [sid for sid, v in self.steps.items() if v.status in ("failed", "cancelled")]

    def headline(self) -> str:
        c = self.counts()
        done = c.get("succeeded", 0) + c.get("unchanged", 0)
        parts = [f"{done}/{len(self.steps)} done"]
        for status, word in (("running", "running"), ("retrying", "retrying"), ("failed", "failed"),
                             ("needs-action", "need you"), ("skipped", "skipped"), ("cancelled", "cancelled")):
            if c.get(status):
                parts.append(f"{c[status]} {word}")
        if self.finished is not None:
            parts.append("run finished" if self.finished.exit_code == 0 else "run stopped")
        return " · ".join(parts)

    @property
    def all_done(self) -> bool:
        return all(v.status in ("succeeded", "unchanged") or (v.status == "skipped" and "not needed" in v.summary)
                   for v in self.steps.values())
