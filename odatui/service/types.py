"""What the service hands the faces (the CLI and the wizard) and the tests: plain, typed results. A face reads these,
never the engine's or the state file's own objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StepView:
    """One step of a run as a face lists it: its id, its title (the step's own) and what it needs."""

    id: str
    title: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class StepStatus:
    """One step's last recorded outcome on this target (from the run state)."""

    step_id: str
    status: str  # odatui.core.state.Status (a plain string when read back)
    summary: str | None = None
    last_error: str | None = None
    hint: str | None = None
    retryable: bool | None = None
    attempts: int = 0
    outputs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunOutcome:
    """What a run ended with: the exit code (odatui.engine.exits), each step's final status, the steps this run ran
    or re-checked, and the error that stopped it before any step (secrets unavailable, the target locked)."""

    exit_code: int
    summary: dict[str, str]
    ran: frozenset[str] = frozenset()
    abort_error: BaseException | None = None


@dataclass(frozen=True)
class RetryChoice:
    """`odatui retry`'s choice: the steps to run again, and what the live check found (`stale`: step id → why the
    tenant no longer agrees with its success; `checked`: whether the tenant could be asked; `problem`: why not)."""

    ids: list[str]
    stale: dict[str, str]
    checked: bool
    problem: str | None
