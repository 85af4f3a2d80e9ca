"""The app's side of a run: start it (after asking whether to resume), fold the run's events into the run model,
and send retry / check now / the demo's admin action back to it. A plain object the app owns (`app.runs`): the
run belongs to the app, not a screen, so opening help or results never cancels it. It holds the service's
RunSession (odatui.service.run), never the engine."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from odatui.core.errors import OdatuiError
from odatui.tui import messages as msg


class RunController:
    """The run of one wizard app. The app's `model` (odatui.tui.progress.RunModel) and `running` are what the
    screens show; this keeps them true."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.run: Any = None  # odatui.service.run.RunSession, opened on the first run (it imports every step)

    @property
    def session(self) -> Any:
        return self.app.session

    # ------------------------------------------------------------------ starting
    def ask_resume_then_run(self) -> None:
        self.app.run_worker(self._ask_resume_then_run(), group="resume", exit_on_error=False)

    async def _ask_resume_then_run(self) -> None:
        from odatui.tui.screens.modals import ResumeScreen  # deferred: start-up

        app = self.app
        try:
            previous = await asyncio.to_thread(self.session.previous_run)
        except Exception as exc:
            app.notify(str(exc), title="Cannot read the last run", severity="error", timeout=10)
            return
        only = None
        if self.run is None:  # it reads the run state and imports every step: off the event loop
            self.run = await asyncio.to_thread(self.session.open_run)
        if any(status == "succeeded" for status in previous.values()):
            try:  # a ✓ the live tenant contradicts is shown as stale, and Resume re-runs it
                previous, _offline = await self.run.live_statuses(previous)
            except Exception:  # noqa: BLE001 - the recorded statuses stand; the run checks the tenant anyway
                pass
        if any(status != "pending" for status in previous.values()):
            choice = await app.push_screen_wait(ResumeScreen(previous, dict(self.titles())))
            if choice is None:
                return
            mode, steps = choice
            only = steps if mode in ("resume", "only") else None
            if mode == "resume" and not steps:
                only = None  # everything was done: run all again, which only verifies and adopts
        self.start_run(only, seed=True)

    def titles(self) -> list[tuple[str, str]]:
        if self.run is None:
            self.run = self.session.open_run()
        return self.run.titles()

    def start_run(self, only: list[str] | None = None, *, seed: bool = False) -> None:
        from odatui.tui.progress import RunModel  # deferred: start-up
        from odatui.tui.screens.run import RunScreen

        model = RunModel(self.titles(), clock=self.app.clock)
        if seed:
            model.seed(self.run.recorded())
        self.app.model = model
        self.app.push_screen(RunScreen())
        self._launch(only)

    def _launch(self, only: list[str] | None) -> None:
        self.app.running = True
        self.app.model.finished = None
        self.app.run_worker(self._drive(only), group="engine", exit_on_error=False)

    async def _drive(self, only: list[str] | None) -> None:
        try:
            await self.run.run(only=only, on_event=self.on_event)
        except OdatuiError as exc:
            self.app.running = False
            self.app.notify(str(exc), title="The run could not start", severity="error", timeout=15)
            self.refresh(None)

    def on_event(self, event: Any) -> None:
        self.app.post_message(msg.message_for(event))  # thread-safe; keeps the run's order

    # ------------------------------------------------------------------ the run's messages (from the app)
    def fold(self, message: msg.EngineMessage) -> None:
        app = self.app
        if isinstance(message, msg.StepStarted):
            app.running = True
        view = app.model.apply(message.event)
        if isinstance(message, msg.RunFinished):
            app.running = False
            if app.model.all_done:
                app.notify("Every step is done. Press n for the results.", title="Run finished")
            else:
                app.notify("Some steps are not done: select one for its fix, r retries it.",
                           title="Run finished", severity="warning")
        self.refresh(view)

    def refresh(self, view: Any) -> None:
        from odatui.tui.screens.run import RunScreen  # deferred: start-up

        for screen in self.app.screen_stack:
            if isinstance(screen, RunScreen):
                screen.refresh_step(view)

    # ------------------------------------------------------------------ controls
    def _rerun(self, ids: Iterable[str]) -> None:
        model = self.app.model
        self._launch(self.run.with_waiting(ids, lambda sid: model.steps[sid].status in ("succeeded", "unchanged")))

    def retry_step(self, step_id: str) -> None:
        if self.app.running:
            self.run.retry_step(step_id)
        else:
            self._rerun([step_id])

    def retry_failed(self) -> None:
        model = self.app.model
        failed = model.failed() if model is not None else []
        if not failed or self.run is None:
            self.app.notify("No failed steps to retry.")
            return
        if self.app.running:
            for sid in failed:
                self.run.retry_step(sid)
        else:
            self._rerun(failed)

    def check_now(self, step_id: str) -> None:
        self.run.check_now(step_id)

    def cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()

    def outputs(self) -> dict[str, dict[str, Any]]:
        """Step id → outputs of the run state ({} before any run was opened)."""
        return self.run.outputs() if self.run is not None else {}

    def simulate_admin(self, step_id: str) -> None:
        self.app.run_worker(lambda: self._simulate_admin(step_id), thread=True, group="simulate",
                            exit_on_error=False)

    def _simulate_admin(self, step_id: str) -> None:
        app = self.app
        try:
            self.session.demo_admin_action()
        except Exception as exc:
            app.call_from_thread(app.notify, f"{exc}", title="Could not add the app", severity="error")
            return
        app.call_from_thread(app.notify, "The Platform SSO app was added in the sandbox's Okta; checking now.",
                             title="Admin action simulated")
        self.run.check_now(step_id)  # thread-safe: the run hops to its loop
