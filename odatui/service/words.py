"""The one place an engine event (odatui.core.events) becomes words, for every face: the CLI's plain lines and the
wizard's step log both say a step's progress, outcome and reason with these."""

from __future__ import annotations

from typing import Any

from odatui.core.events import (
    StepCancelled,
    StepFailed,
    StepLog,
    StepNeedsAction,
    StepProgress,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)


def human_bytes(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.0f} MB" if n >= 1e7 else f"{n / 1e6:.1f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.0f} kB"
    return f"{int(n)} B"


def progress_text(event: StepProgress) -> str:
    """`42% 420 MB/1.0 GB 85 MB/s`, or the step's own message, or "working"."""
    parts = []
    if event.fraction is not None:
        parts.append(f"{event.fraction * 100:.0f}%")
    if event.bytes_done is not None and event.bytes_total:
        parts.append(f"{human_bytes(event.bytes_done)}/{human_bytes(event.bytes_total)}")
        if event.rate:
            parts.append(f"{human_bytes(event.rate)}/s")
    elif event.message:
        parts.append(event.message)
    return " ".join(parts) or "working"


def log_text(event: StepLog) -> str:
    """A step's log line: info as it is, anything else with its level first."""
    return event.message if event.level == "info" else f"{event.level}: {event.message}"


def skipped_text(event: StepSkipped) -> str:
    return f"skipped: {event.reason}"


def cancelled_text(event: StepCancelled) -> str:
    reason = event.reason or "cancelled"
    return f"cancelled: {reason}" if reason != "cancelled" else "cancelled"


def describe(event: Any) -> str | None:
    """One line saying what happened to a step (None for the run's end: its summary is said with the state)."""
    if isinstance(event, StepStarted):
        return f"started: {event.title}" + (f" (attempt {event.attempt})" if event.attempt > 1 else "")
    if isinstance(event, StepProgress):
        return progress_text(event)
    if isinstance(event, StepLog):
        return log_text(event)
    if isinstance(event, StepNeedsAction):
        return "NEEDS YOUR ACTION:"
    if isinstance(event, StepSucceeded):
        return ("done: " if event.changed else "unchanged: ") + (event.summary or "ok")
    if isinstance(event, StepFailed):
        retry = f" (retrying in {event.will_retry_in:.0f} s)" if event.will_retry_in is not None else ""
        return f"FAILED: {event.error}{retry}"
    if isinstance(event, StepSkipped):
        return skipped_text(event)
    if isinstance(event, StepCancelled):
        return f"cancelled: {event.reason}"
    return None
