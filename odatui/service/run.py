"""A run, as the faces hold it: `open_run(config, secrets)` gives a `RunSession`, the only thing the CLI and the
wizard hold to plan, run, retry, check now and cancel. The engine behind it is the service's (odatui.engine), and
what comes back is typed (odatui.service.types)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from odatui.service.types import RetryChoice, RunOutcome, StepStatus, StepView


def open_run(config: Any, secrets: Any = None, *, directory: Path | None = None, interactive: bool = False,
             **engine_options: Any) -> RunSession:
    """A run of this config's steps on its target (`directory`: where run states live; the demo's own folder).
    It reads the run state and imports every step: call it off an event loop."""
    from odatui.service.setup import make_engine  # deferred: start-up (imports every step)

    return RunSession(make_engine(config, secrets, directory=directory, interactive=interactive, **engine_options))


class RunSession:
    """One target's run: its steps, its plan, the run itself and the controls while it goes."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.config = engine.config
        self.secrets = engine.secrets

    # --- the steps ---
    @property
    def order(self) -> list[str]:
        return list(self._engine.order)

    @property
    def steps(self) -> list[StepView]:
        steps = self._engine.steps
        return [StepView(sid, steps[sid].title, tuple(steps[sid].needs)) for sid in self._engine.order]

    def titles(self) -> list[tuple[str, str]]:
        return [(view.id, view.title) for view in self.steps]

    def select(self, only: list[str] | None = None, from_step: str | None = None) -> list[str]:
        return self._engine.select(only, from_step)

    def with_waiting(self, ids: Iterable[str], done: Callable[[str], bool]) -> list[str]:
        """`ids` and the steps waiting on them that are not `done`, in run order (odatui.service.retry)."""
        from odatui.service.retry import with_waiting

        return with_waiting(self._engine, ids, done)

    # --- before a run ---
    def require_fields(self, step_ids: list[str], where: str | None = None) -> None:
        from odatui.service.setup import require_fields

        require_fields(self.config, self._engine, step_ids, where)

    def check_start(self, where: str | None = None) -> None:
        from odatui.service.setup import check_start

        check_start(self.config, self._engine, where)

    async def plan(self) -> list[Any]:
        """The plan rows (odatui.engine.plan.PlanRow: step_id, title, needs, change, error, hint)."""
        return await self._engine.plan()

    async def aclose(self) -> None:
        close = getattr(self._engine, "aclose", None)
        if close is not None:
            await close()

    async def retry_plan(self) -> RetryChoice:
        """What `odatui retry` runs: the failed steps, the successes the live tenant no longer agrees with, and what
        they blocked. The run is pointed at the state the live check resolved."""
        from odatui.service.retry import retry_plan

        ids, check = await retry_plan(self._engine)
        return RetryChoice(ids, dict(check.stale), bool(check.checked), check.problem)

    async def live_statuses(self, previous: dict[str, str]) -> tuple[dict[str, str], str | None]:
        """The last run's statuses with the successes the tenant no longer holds marked "stale"."""
        from odatui.service.retry import live_statuses

        return await live_statuses(self._engine, previous)

    async def live_target(self) -> Any:
        """Who the tenants are, asked live (odatui.engine.freshness.LiveCheck without the plan): its `identity`
        (key, lock names, what was confirmed) and the `store` of that canonical target."""
        from odatui.engine.freshness import live_check

        return await live_check(self._engine, plan=False)

    # --- the run ---
    async def run(self, only: list[str] | None = None, from_step: str | None = None,
                  on_event: Callable[[Any], None] | None = None) -> RunOutcome:
        result = await self._engine.run(only=only, from_step=from_step, on_event=on_event)
        return RunOutcome(result.exit_code, dict(result.summary), frozenset(self._engine.ran or ()),
                          self._engine.abort_error)

    def retry_step(self, step_id: str) -> None:
        self._engine.retry_step(step_id)

    def check_now(self, step_id: str) -> None:
        self._engine.check_now(step_id)

    def cancel(self) -> None:
        self._engine.cancel()

    # --- what the state says ---
    def previous(self) -> dict[str, StepStatus]:
        """Each step's last recorded outcome on this target (the run state as the run left it, or as loaded)."""
        return _statuses(self._engine.state)

    def recorded(self) -> dict[str, StepStatus]:
        """As `previous`, read afresh from the state file (a run elsewhere may have written it)."""
        return _statuses(self._engine.store.load())

    def outputs(self) -> dict[str, dict[str, Any]]:
        """Step id → outputs: the run state (steps done in earlier runs too)."""
        return dict(self._engine.state.outputs())


def _statuses(state: Any) -> dict[str, StepStatus]:
    return {sid: StepStatus(sid, rec.status, rec.summary, rec.last_error, rec.hint, rec.retryable, rec.attempts,
                            dict(rec.outputs or {}))
            for sid, rec in state.steps.items()}


def step_views(config: Any) -> list[StepView]:
    """The steps a run of this config has, in run order, as a face lists them (no run state is read)."""
    from odatui.engine.graph import topo_order
    from odatui.mdm import run_order  # deferred: start-up (imports every step)

    steps = {step.id: step for step in run_order(config)}
    return [StepView(sid, steps[sid].title, tuple(steps[sid].needs)) for sid in topo_order(steps.values())]
