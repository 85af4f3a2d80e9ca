"""The wizard app: screen order, start-up work after the first paint, quitting (and saving the answers first).
It owns the run's controller (`runs`, odatui.tui.run_control) and the palette's commands (`palette`,
odatui.tui.palette). Screens stay thin; long work runs in workers, and a worker that fails unforeseen is said in
one place (on_worker_state_changed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from odatui.tui import messages as msg
from odatui.tui.palette import PaletteCommands
from odatui.tui.run_control import RunController
from odatui.tui.screens.welcome import WelcomeScreen
from odatui.tui.drafts import Drafts
from odatui.tui.typeahead import TypeAhead

DEFAULT_HELP = """\
# odatui

**F1** help for this screen · **Ctrl+P** commands (retry failed, export profiles, support bundle, theme) ·
**Ctrl+Q** quit. Everything works with the keyboard: **Tab** moves between fields, **Enter** presses a button."""


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
        self.runs = RunController(self)  # the run: the service's RunSession, never the engine
        self.palette = PaletteCommands(self)
        self.model: Any = None  # odatui.tui.progress.RunModel, made when a run starts
        self.running = False
        self.typeahead = TypeAhead(self)  # keys typed while Next replaces the screen reach the next one
        self.drafts = Drafts()  # what was typed on a screen left with Back, put back when it shows again
        if still:
            self.animation_level = "none"

    def copy_to_clipboard(self, text: str) -> None:
        """Every copy (Input, screen selection, key binding) ends here and leaves as an OSC 52 sequence: nothing
        that holds a secret odatui knows, or comes from a masked field, is sent."""
        from odatui.core.log import known_secrets  # deferred: start-up

        focused = self.focused
        masked = bool(getattr(focused, "password", False))
        values = known_secrets() | {v for v in getattr(self.session, "typed", {}).values() if v}
        if masked or any(v in text for v in values if len(v) >= 4):
            self.bell()
            self.notify("Secrets are never copied to the clipboard.", severity="warning")
            return
        super().copy_to_clipboard(text)

    def get_system_commands(self, screen: Screen) -> Any:
        yield from super().get_system_commands(screen)
        yield from self.palette.commands()

    # ------------------------------------------------------------------ the run (RunController's)
    def _on_run_message(self, message: msg.EngineMessage) -> None:
        self.runs.fold(message)

    on_step_started = on_step_progress = on_step_log = on_step_needs_action = _on_run_message
    on_step_succeeded = on_step_failed = on_step_skipped = on_step_cancelled = on_run_finished = _on_run_message

    def ask_resume_then_run(self) -> None:
        self.runs.ask_resume_then_run()

    def retry_step(self, step_id: str) -> None:
        self.runs.retry_step(step_id)

    def retry_failed(self) -> None:
        self.runs.retry_failed()

    def check_now(self, step_id: str) -> None:
        self.runs.check_now(step_id)

    def simulate_admin(self, step_id: str) -> None:
        self.runs.simulate_admin(step_id)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every worker's unforeseen failure, in one place: one readable line on screen, the traceback in the log.
        (A worker says the failures it expects itself, with their own titles.)"""
        if event.state != WorkerState.ERROR or event.worker.error is None:
            return
        from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)

        name = event.worker.group or event.worker.name or "work"
        self.notify(readable(event.worker.error, name), title=f"{name.capitalize()} failed", severity="error",
                    timeout=15, markup=False)

    # ------------------------------------------------------------------ start-up
    def get_default_screen(self) -> Screen:
        return WelcomeScreen()  # the first paint is the real first screen, not an empty one

    def on_mount(self) -> None:
        # After the first paint: config, keychain probe (keyring can hang) and the demo sandbox, in a thread.
        # The short delay keeps their imports and key generation from competing with that paint for the GIL.
        self.call_after_refresh(self.set_timer, 0.1, self._start_loading)

    def _start_loading(self) -> None:
        self._load()

    _declined: dict[Any, Any] | None = None  # the changes the admin chose not to save
    _theme_restored = False  # until the saved theme is applied, theme changes are not the admin's choice

    def watch_theme(self, theme: str) -> None:
        if self._theme_restored and not self.still:
            self._save_theme(theme)

    @work(thread=True, exit_on_error=False, group="theme")
    def _save_theme(self, theme: str) -> None:
        from odatui.tui.theme_pref import save_theme  # deferred: start-up

        try:
            save_theme(theme)
        except OSError as exc:  # the colours still change; only remembering them failed
            self.call_from_thread(self.notify, f"{exc}", title="Theme not remembered", severity="warning")

    def _restore_theme(self, theme: str | None) -> None:
        if theme and theme in self.available_themes:
            self.theme = theme
        self._theme_restored = True

    @work(thread=True, exit_on_error=False, group="startup")
    def _load(self) -> None:
        if not self.still:
            from odatui.tui.theme_pref import load_theme  # deferred: start-up

            self.call_from_thread(self._restore_theme, load_theme())
        else:
            self._theme_restored = True
        if self.open_log:
            try:
                from odatui.core.log import setup_logging  # deferred: start-up

                self.log_path = setup_logging()
            except OSError as exc:  # the wizard still works; only the log is missing
                self.call_from_thread(self.notify, f"{exc}", title="Cannot open the log file", severity="warning")
        try:
            loaded = self.session.load()
        except Exception as exc:  # e.g. the demo sandbox could not start: say so on the Welcome screen
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)

            self.call_from_thread(self._load_failed, readable(exc, "start-up"))
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
        from odatui.tui.screens.okta import OktaScreen  # deferred: start-up
        from odatui.tui.screens.review import ReviewScreen
        from odatui.tui.screens.rollout import RolloutScreen
        from odatui.tui.screens.mdm import MdmScreen

        return [WelcomeScreen, OktaScreen, MdmScreen, RolloutScreen, ReviewScreen]

    def advance(self, screen: Screen) -> None:
        order = self._order()
        index = order.index(type(screen))
        self.typeahead.hold()  # released by the new screen once its first field has the focus
        self.push_screen(order[index + 1]())

    def can_go_back(self, screen: Screen) -> bool:
        return not isinstance(screen, WelcomeScreen)

    def go_back(self) -> None:
        self.pop_screen()

    # ------------------------------------------------------------------ keys typed ahead
    async def on_event(self, event: Any) -> None:
        if self.typeahead.take(event):
            return
        await super().on_event(event)

    async def deliver_key(self, event: Any) -> None:
        """A held key, handled as App.on_event would have: priority bindings, else the focused widget."""
        if not await self._check_bindings(event.key, priority=True):
            (self.focused or self.screen)._forward_event(event)

    async def plan_rows(self) -> list[Any]:
        return await self.session.plan()

    def display_path(self, path: Path | str) -> str:
        text = str(path)
        home = str(Path.home())
        return "~" + text[len(home):] if text.startswith(home + "/") else text

    def show_done(self) -> None:
        from odatui.tui.screens.done import DoneScreen  # deferred: start-up

        self.push_screen(DoneScreen())

    # ------------------------------------------------------------------ everywhere
    def action_help(self) -> None:
        from odatui.tui.screens.modals import HelpScreen  # deferred: start-up

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(getattr(self.screen, "HELP", "") or DEFAULT_HELP))

    async def action_quit(self) -> None:
        if not self.running:
            self._take_typed_answers()
            unsaved = self.session.unsaved() if self.session.config is not None and not self.demo else {}
            asks = unsaved or (self._dropped and not self.demo)  # a refused value is named, never dropped silently
            if asks and unsaved != self._declined:  # not asked again about the very changes they declined
                self._save_then_quit()  # a filled form: keep, drop or go back — never lost silently
                return
            self.exit(0)
            return
        self._confirm_quit()

    def _take_typed_answers(self) -> None:
        """What is typed on the current screen counts as changed even before Next (secrets are not kept here), but
        only what passes its field's rule: a field that fails keeps the answer it had, and the save question names
        it (Ctrl+Q's "Save" wrote a stray "Q" as https://q)."""
        collect = getattr(self.screen, "collect", None)
        self._dropped: list[str] = []
        if collect is None or self.session.config is None:
            return
        from odatui.tui.validators import ConfigField  # deferred: start-up
        from odatui.tui.widgets.field import Field

        typed: list[tuple[Any, str]] = []
        for field in self.screen.query(Field):
            rule = next((v for v in field.input.validators if isinstance(v, ConfigField)), None)
            if rule is None or not field.display or field.check() is None:
                continue
            kept = getattr(getattr(self.session.config, rule.table), rule.field)
            if not isinstance(kept, str):
                continue
            typed.append((field.input, field.input.value))
            field.input.value = kept  # for collect(): the answer as it was
            self._dropped.append(f"{field.label} ({field.input.value!r} kept; typed {typed[-1][1]!r})")
        try:
            collect()
        except Exception:  # a value the model refuses, an unreadable key file: it is not an answer yet
            pass
        finally:
            for widget, value in typed:
                widget.value = value  # the screen still shows what was typed (Cancel goes back to it)

    async def ask_to_save(self, go: str, discard: str) -> str | None:
        """Ask whether to write the changed answers; "save" (written), "discard", or None (cancelled)."""
        from odatui.tui.screens.modals import ChoiceScreen  # deferred: start-up

        changed = self.session.unsaved()
        names = ", ".join(f"{table}.{field}" for table, field in changed)
        where = self.display_path(self.session.config_path or "")
        keep = ("Only these values are written; its comments and other lines stay as they are."
                if getattr(self.session, "file_existed", False) else "The file does not exist yet; it is created.")
        question = (f"You changed {len(changed)} answer(s): {names}.\nSave them to {where}? {keep}" if changed else
                    f"Nothing you typed here can be saved to {where}.")
        dropped = getattr(self, "_dropped", [])
        if dropped:
            question += "\nNot saved, they do not pass their rule: " + "; ".join(dropped) + "."
        choice = await self.push_screen_wait(ChoiceScreen(question, [
            ("save", f"Save answers and {go[0].lower()}{go[1:]}"), ("discard", discard), ("cancel", "Cancel")]))
        if choice == "save":
            try:
                saved = await asyncio.to_thread(self.session.save)
            except Exception as exc:  # e.g. the file is no longer valid TOML, or not writable
                self.notify(f"{exc}", title="Answers not saved", severity="error", timeout=15)
                return None
            self.notify(f"Saved to {self.display_path(saved)}" + (
                f" (not saved: {', '.join(d.split(' (')[0] for d in dropped)})" if dropped else ""),
                title="Answers saved")
            return "save"
        if choice == "discard":
            self._declined = changed
            return "discard"
        return None

    @work(exit_on_error=False, group="quit")
    async def _save_then_quit(self) -> None:
        if await self.ask_to_save("Quit", "Quit without saving") is not None:
            self.exit(0)

    @work(exit_on_error=False, group="quit")
    async def _confirm_quit(self) -> None:
        from odatui.tui.screens.modals import ConfirmScreen  # deferred: start-up

        question = ("A run is in progress. Quit now?\nRunning steps are cancelled cleanly and the state is kept: "
                    "the next start offers to resume.")
        if not await self.push_screen_wait(ConfirmScreen(question, yes="Quit", no="Keep running")):
            return
        self.runs.cancel()
        for _ in range(200):  # the engine records every running step as cancelled, then finishes
            if not self.running:
                break
            await asyncio.sleep(0.05)
        self.exit(return_code=130)
