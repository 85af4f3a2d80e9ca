"""The app's side of a run: start it (after asking whether to resume), turn the engine's events into one message
per kind and fold them into the run model, and send retry / check now / the demo's admin action back to it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from textual import work

from odatui.core.errors import OdatuiError
from odatui.tui import messages as msg


class RunControl:
    """Mixed into OdatuiApp (which holds session, engine, model, running, clock). The run belongs to the app,
    not a screen, so opening help or results never cancels it."""

    @work(exit_on_error=False, group="resume")
    async def ask_resume_then_run(self) -> None:
        from odatui.tui.screens.modals import ResumeScreen  # deferred: start-up

        try:
            previous = await asyncio.to_thread(self.session.previous_run)
        except Exception as exc:
            self.notify(str(exc), title="Cannot read the last run", severity="error", timeout=10)
            return
        only = None
        if self.engine is None:  # it reads the run state and imports every step: off the event loop
            self.engine = await asyncio.to_thread(self.session.make_engine)
        if any(status == "succeeded" for status in previous.values()):
            from odatui.service.retry import live_statuses  # deferred: start-up

            try:  # a ✓ the live tenant contradicts is shown as stale, and Resume re-runs it
                previous, _offline = await live_statuses(self.engine, previous)
            except Exception:  # noqa: BLE001 - the recorded statuses stand; the run checks the tenant anyway
                pass
        if any(status != "pending" for status in previous.values()):
            titles = self._titles()
            choice = await self.push_screen_wait(ResumeScreen(previous, dict(titles)))
            if choice is None:
                return
            mode, steps = choice
            only = steps if mode in ("resume", "only") else None
            if mode == "resume" and not steps:
                only = None  # everything was done: run all again, which only verifies and adopts
        self.start_run(only, seed=True)

    def _titles(self) -> list[tuple[str, str]]:
        if self.engine is None:
            self.engine = self.session.make_engine()
        return [(sid, self.engine.steps[sid].title) for sid in self.engine.order]

    def start_run(self, only: list[str] | None = None, *, seed: bool = False) -> None:
        from odatui.tui.progress import RunModel  # deferred: start-up
        from odatui.tui.screens.run import RunScreen

        model = RunModel(self._titles(), clock=self.clock)
        if seed:
            model.seed(self.engine.store.load().steps)
        self.model = model
        self.push_screen(RunScreen())
        self._launch(only)

    def _launch(self, only: list[str] | None) -> None:
        self.running = True
        self.model.finished = None
        self._drive(only)

    @work(exit_on_error=False, group="engine")
    async def _drive(self, only: list[str] | None) -> None:
        """The run belongs to the app (not a screen), so opening help or results never cancels it."""
        try:
            await self.engine.run(only=only, on_event=self.on_engine)
        except OdatuiError as exc:
            self.running = False
            self.notify(str(exc), title="The run could not start", severity="error", timeout=15)
            self._refresh_run(None)

    def on_engine(self, event: Any) -> None:
        self.post_message(msg.message_for(event))  # thread-safe; keeps the engine's order

    def _fold(self, message: msg.EngineMessage) -> None:
        self._refresh_run(self.model.apply(message.event))

    def on_step_started(self, message: msg.StepStarted) -> None:
        self.running = True
        self._fold(message)

    on_step_progress = on_step_log = on_step_needs_action = on_step_succeeded = _fold
    on_step_failed = on_step_skipped = on_step_cancelled = _fold

    def on_run_finished(self, message: msg.RunFinished) -> None:
        view = self.model.apply(message.event)
        self.running = False
        if self.model.all_done:
            self.notify("Every step is done. Press n for the results.", title="Run finished")
        else:
            self.notify("Some steps are not done: select one for its fix, r retries it.",
                        title="Run finished", severity="warning")
        self._refresh_run(view)

    def _refresh_run(self, view: Any) -> None:
        from odatui.tui.screens.run import RunScreen  # deferred: start-up

        for screen in self.screen_stack:
            if isinstance(screen, RunScreen):
                screen.refresh_step(view)

    def _rerun(self, ids: Iterable[str]) -> None:
        from odatui.service.retry import with_waiting  # deferred: start-up

        self._launch(with_waiting(self.engine, ids,
                                  lambda sid: self.model.steps[sid].status in ("succeeded", "unchanged")))

    def retry_step(self, step_id: str) -> None:
        if self.running:
            self.engine.retry_step(step_id)
        else:
            self._rerun([step_id])

    def retry_failed(self) -> None:
        failed = self.model.failed() if self.model is not None else []
        if not failed or self.engine is None:
            self.notify("No failed steps to retry.")
            return
        if self.running:
            for sid in failed:
                self.engine.retry_step(sid)
        else:
            self._rerun(failed)

    def check_now(self, step_id: str) -> None:
        self.engine.check_now(step_id)

    @work(thread=True, exit_on_error=False, group="simulate")
    def simulate_admin(self, step_id: str) -> None:
        try:
            self.session.demo_admin_action()
        except Exception as exc:
            self.call_from_thread(self.notify, f"{exc}", title="Could not add the app", severity="error")
            return
        self.call_from_thread(self.notify, "The Platform SSO app was added in the sandbox's Okta; checking now.",
                              title="Admin action simulated")
        self.engine.check_now(step_id)  # thread-safe: the engine hops to its loop

