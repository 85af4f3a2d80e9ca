"""The wizard app: screen order, start-up work after the first paint, and the bridge to the engine (its events
become messages; retry / check now / cancel go back to it). Screens stay thin; long work runs in workers."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen

from odatui.tui.screens.welcome import WelcomeScreen

DEFAULT_HELP = """\
# odatui

**F1** help for this screen · **Ctrl+P** commands (retry failed, export profiles, support bundle, theme) ·
**Ctrl+Q** quit. Everything works with the keyboard: **Tab** moves between fields, **Enter** presses a button."""


class EngineEvent(Message):
    """An engine event (odatui.events) delivered into the app's message queue."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class OdatuiApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "odatui"
    SUB_TITLE = "Okta Desktop Password Sync · Workspace ONE"
    BINDINGS = [
        Binding("f1", "help", "Help"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, session: Any, *, demo: bool = False, still: bool = False,
                 clock: Callable[[], float] = time.monotonic, open_log: bool = False) -> None:
        super().__init__()
        self.session = session
        self.open_log = open_log  # `odatui` / `odatui demo`: the CLI leaves the log file to our start-up worker
        self.log_path: Path | None = None
        self.demo = demo
        self.still = still  # tests and snapshots: no blinking cursor, no timers that change the picture
        self.clock = clock
        self.loaded: Any = None
        self.load_error: str | None = None
        self.engine: Any = None
        self.model: Any = None  # odatui.tui.progress.RunModel, made when a run starts
        self.running = False
        if still:
            self.animation_level = "none"

    def copy_to_clipboard(self, text: str) -> None:
        """Every copy (Input, screen selection, key binding) ends here and leaves as an OSC 52 sequence: nothing
        that holds a secret odatui knows, or comes from a masked field, is sent."""
        from odatui.log import known_secrets

        focused = self.focused
        masked = bool(getattr(focused, "password", False))
        values = known_secrets() | {v for v in getattr(self.session, "typed", {}).values() if v}
        if masked or any(v in text for v in values if len(v) >= 4):
            self.bell()
            self.notify("Secrets are never copied to the clipboard.", severity="warning")
            return
        super().copy_to_clipboard(text)

    # ------------------------------------------------------------------ start-up
    def get_default_screen(self) -> Screen:
        return WelcomeScreen()  # the first paint is the real first screen, not an empty one

    def on_mount(self) -> None:
        # After the first paint: config, keychain probe (keyring can hang) and the demo sandbox, in a thread.
        # The short delay keeps their imports and key generation from competing with that paint for the GIL.
        self.call_after_refresh(self.set_timer, 0.1, self._start_loading)

    def _start_loading(self) -> None:
        self._load()

    @work(thread=True, exit_on_error=False, group="startup")
    def _load(self) -> None:
        if self.open_log:
            try:
                from odatui.log import setup_logging

                self.log_path = setup_logging()
            except OSError as exc:  # the wizard still works; only the log is missing
                self.call_from_thread(self.notify, f"{exc}", title="Cannot open the log file", severity="warning")
        try:
            loaded = self.session.load()
        except Exception as exc:  # e.g. the demo sandbox could not start: say so on the Welcome screen
            self.call_from_thread(self._load_failed, f"{type(exc).__name__}: {exc}")
            return
        self.call_from_thread(self._loaded, loaded)

    def _loaded(self, loaded: Any) -> None:
        self.loaded = loaded
        for screen in self.screen_stack:
            if isinstance(screen, WelcomeScreen):
                screen.show_loaded()

    def _load_failed(self, message: str) -> None:
        self.load_error = message
        for screen in self.screen_stack:
            if isinstance(screen, WelcomeScreen):
                screen.query_one("#config-status").update(f"✗ Could not start: {message}")

    # ------------------------------------------------------------------ wizard order
    def _order(self) -> list[type[Screen]]:
        from odatui.tui.screens.okta import OktaScreen
        from odatui.tui.screens.review import ReviewScreen
        from odatui.tui.screens.rollout import RolloutScreen
        from odatui.tui.screens.ws1 import Ws1Screen

        return [WelcomeScreen, OktaScreen, Ws1Screen, RolloutScreen, ReviewScreen]

    def advance(self, screen: Screen) -> None:
        order = self._order()
        index = order.index(type(screen))
        self.push_screen(order[index + 1]())

    def can_go_back(self, screen: Screen) -> bool:
        return not isinstance(screen, WelcomeScreen)

    def go_back(self) -> None:
        self.pop_screen()

    async def plan_rows(self) -> list[Any]:
        return await self.session.plan()

    def display_path(self, path: Path | str) -> str:
        text = str(path)
        home = str(Path.home())
        return "~" + text[len(home):] if text.startswith(home + "/") else text

    # ------------------------------------------------------------------ run
    @work(exit_on_error=False, group="resume")
    async def ask_resume_then_run(self) -> None:
        import asyncio

        from odatui.tui.screens.modals import ResumeScreen

        try:
            previous = await asyncio.to_thread(self.session.previous_run)
        except Exception as exc:
            self.notify(str(exc), title="Cannot read the last run", severity="error", timeout=10)
            return
        only = None
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
        from odatui.tui.progress import RunModel
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
        from odatui.errors import OdatuiError

        try:
            await self.engine.run(only=only, on_event=self.on_engine)
        except OdatuiError as exc:
            self.running = False
            self.notify(str(exc), title="The run could not start", severity="error", timeout=15)
            self._refresh_run(None)

    def on_engine(self, event: Any) -> None:
        self.post_message(EngineEvent(event))  # thread-safe; keeps the engine's order

    def on_engine_event(self, message: EngineEvent) -> None:
        from odatui.events import RunFinished, StepStarted

        event = message.event
        view = self.model.apply(event)
        if isinstance(event, StepStarted):
            self.running = True
        if isinstance(event, RunFinished):
            self.running = False
            if self.model.all_done:
                self.notify("Every step is done. Press n for the results.", title="Run finished")
            else:
                self.notify("Some steps are not done: select one for its fix, r retries it.",
                            title="Run finished", severity="warning")
        self._refresh_run(view)

    def _refresh_run(self, view: Any) -> None:
        from odatui.tui.screens.run import RunScreen

        for screen in self.screen_stack:
            if isinstance(screen, RunScreen):
                screen.refresh_step(view)

    def _rerun(self, ids: Iterable[str]) -> None:
        wanted = list(dict.fromkeys(ids))
        for sid in list(wanted):
            for child in self.engine.descendants(sid):
                if self.model.steps[child].status not in ("succeeded", "unchanged") and child not in wanted:
                    wanted.append(child)
        self._launch([s for s in self.engine.order if s in wanted])

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
            self.session.demo.add_psso_app()
        except Exception as exc:
            self.call_from_thread(self.notify, f"{exc}", title="Could not add the app", severity="error")
            return
        self.call_from_thread(self.notify, "The Platform SSO app was added in the sandbox's Okta; checking now.",
                              title="Admin action simulated")
        self.engine.check_now(step_id)  # thread-safe: the engine hops to its loop

    def show_done(self) -> None:
        from odatui.tui.screens.done import DoneScreen

        self.push_screen(DoneScreen())

    # ------------------------------------------------------------------ everywhere
    def action_help(self) -> None:
        from odatui.tui.screens.modals import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(getattr(self.screen, "HELP", "") or DEFAULT_HELP))

    async def action_quit(self) -> None:
        if not self.running:
            self.exit(0)
            return
        self._confirm_quit()

    @work(exit_on_error=False, group="quit")
    async def _confirm_quit(self) -> None:
        import asyncio

        from odatui.tui.screens.modals import ConfirmScreen

        question = ("A run is in progress. Quit now?\nRunning steps are cancelled cleanly and the state is kept: "
                    "the next start offers to resume.")
        if not await self.push_screen_wait(ConfirmScreen(question, yes="Quit", no="Keep running")):
            return
        self.engine.cancel()
        for _ in range(200):  # the engine records every running step as cancelled, then finishes
            if not self.running:
                break
            await asyncio.sleep(0.05)
        self.exit(return_code=130)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Retry failed steps", "Run every failed step again", self.retry_failed)
        yield SystemCommand("Export profiles", "Write the .mobileconfig files for any MDM", self.export_profiles)
        yield SystemCommand("Support bundle", "Zip the redacted config, run state and logs", self.support_bundle)
        yield SystemCommand("Remove what odatui created", "Plan, then undo this target's rollout (odatui remove)",
                            self.remove_rollout)
        yield SystemCommand("Switch theme", "Change the colours", self.action_change_theme)

    @work(exclusive=True, exit_on_error=False, group="remove")
    async def remove_rollout(self) -> None:
        """The palette's `odatui remove`: the same plan text, a confirmation, then the removal."""
        from odatui.tui.screens.modals import ConfirmScreen

        if self.session.config is None or self.running:
            self.notify("Finish or stop the current run first.", severity="warning")
            return
        try:
            plan = await self.session.removal_plan()
        except Exception as exc:  # a readable line, never a traceback on screen
            self.notify(str(exc), title="Remove: plan failed", severity="error", timeout=15)
            return
        if not plan.to_delete or not plan.checked:
            if plan.items and plan.checked:  # only objects deleted by hand: forget them
                await self.session.remove()
            self.notify(plan.text.strip().splitlines()[-1], title="Remove")
            return
        question = plan.text + "\nRemove these from the tenant?"
        if not await self.push_screen_wait(ConfirmScreen(question, yes="Remove", no="Keep")):
            return
        try:
            failed, report = await self.session.remove()
        except Exception as exc:
            self.notify(str(exc), title="Remove failed", severity="error", timeout=15)
            return
        self.notify(report.strip() or "done", title="Removed" if not failed else "Remove: some items failed",
                    severity="information" if not failed else "error", timeout=15)

    @work(thread=True, exit_on_error=False, group="export")
    def export_profiles(self) -> None:
        if self.session.config is None:
            return
        try:
            paths = self.session.export_profiles()
            folder = self.display_path(paths[0].parent) if paths else "?"
            self.call_from_thread(self.notify, f"{len(paths)} files in {folder}", title="Profiles exported")
        except Exception as exc:
            self.call_from_thread(self.notify, str(exc), title="Export failed", severity="error", timeout=15)

    @work(thread=True, exit_on_error=False, group="bundle")
    def support_bundle(self) -> None:
        import argparse
        import contextlib
        import io

        from odatui.paths import state_dir

        out = state_dir() / f"odatui-support-{time.strftime('%Y%m%d-%H%M%S')}.zip"
        try:
            from odatui.bundle import cmd_bundle
        except ImportError:
            self.call_from_thread(self.notify, "`odatui bundle` is not available in this build.", severity="warning")
            return
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                cmd_bundle(argparse.Namespace(config=self.session.config_path, out=str(out)))
            self.call_from_thread(self.notify, f"Written to {self.display_path(out)}", title="Support bundle")
        except Exception as exc:
            self.call_from_thread(self.notify, str(exc), title="Support bundle failed", severity="error")
