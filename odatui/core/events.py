"""What the engine tells its faces (TUI, plain CLI). Plain dataclasses: no Textual, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    step_id: str


@dataclass(frozen=True)
class StepStarted(Event):
    title: str
    attempt: int = 1


@dataclass(frozen=True)
class StepProgress(Event):
    fraction: float | None  # 0..1, None when the amount of work is unknown
    message: str = ""
    bytes_done: int | None = None
    bytes_total: int | None = None
    rate: float | None = None  # bytes per second


@dataclass(frozen=True)
class StepLog(Event):
    message: str
    level: str = "info"


@dataclass(frozen=True)
class StepNeedsAction(Event):
    text: str  # exactly what the admin must do, with the console path
    polling: bool = False  # the engine re-checks by itself
    next_check_in: float | None = None


@dataclass(frozen=True)
class StepSucceeded(Event):
    outputs: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    changed: bool = True  # False when the step found nothing to do


@dataclass(frozen=True)
class StepFailed(Event):
    error: str
    retryable: bool = False
    hint: str | None = None
    attempt: int = 1
    will_retry_in: float | None = None  # the engine retries by itself after this many seconds


@dataclass(frozen=True)
class StepSkipped(Event):
    reason: str  # e.g. "needs okta.app, which failed"


@dataclass(frozen=True)
class StepCancelled(Event):
    reason: str = "cancelled"  # the run was stopped (Ctrl-C, the TUI closed, engine.cancel()) while it ran


@dataclass(frozen=True)
class RunFinished:
    summary: dict[str, str]  # step id → final status
    exit_code: int = 0
    step_id: str = ""  # not about one step; present so every event has the attribute
