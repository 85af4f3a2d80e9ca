"""Welcome: what odatui will do, whether the keychain works (and the fix when not), which answers file is used."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Static

from odatui.core.errors import OdatuiError
from odatui.tui.screens.base import WizardScreen
from odatui.tui.widgets.field import FieldInput

PLAN_TEXT = """\
odatui sets up Okta Desktop Password Sync (Platform SSO) on your Macs:
 1. Okta: check the org, find the Platform SSO app, assign your groups.
 2. Workspace ONE: upload Okta Verify to your smart group, create the
    Platform SSO profile, then read it all back to verify.
You see the plan before anything changes; failed steps retry in place."""


class WelcomeScreen(WizardScreen):
    TITLE_TEXT = "Welcome to odatui"
    EXCERPT = PLAN_TEXT
    HELP = """\
# Welcome

odatui asks a few questions about your Okta org and your Workspace ONE tenant, shows you the plan,
then does the console work and shows each step's progress.

* **Keychain**: API tokens and passwords go to the OS keychain, never into the answers file.
  Over SSH on Linux there is often no keychain; the screen shows how to start one.
* **Answers file**: a TOML file with the non-secret answers. Type another path and press *Load* to use it.

Keys: **Ctrl+N** next, **Esc** back, **F1** this help, **Ctrl+P** commands, **Ctrl+Q** quit."""

    def compose_form(self) -> ComposeResult:
        yield Static("⧗ Checking the keychain…", id="keychain")
        yield Static("", id="keychain-fix")
        yield Static("⧗ Reading the answers file…", id="config-status")
        with Horizontal(id="load-row"):
            yield FieldInput(placeholder="path of an existing answers file (.toml)", id="config-path", compact=True)
            yield Button("Load", id="load", compact=True)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#keychain-fix", Static).display = False
        if self.odatui.loaded is not None:
            self.show_loaded()

    def show_loaded(self) -> None:
        loaded = self.odatui.loaded
        if loaded is None:
            return
        icon = "✓" if loaded.probe_ok else "!"
        self.query_one("#keychain", Static).update(f"{icon} {loaded.probe_text}")
        fix = self.query_one("#keychain-fix", Static)
        fix.update(f"To use the keychain:\n{loaded.probe_fix}" if loaded.probe_fix else "")
        fix.display = bool(loaded.probe_fix)
        status = self.query_one("#config-status", Static)
        if self.odatui.demo:
            status.update("✓ Sandbox answers pre-filled (a sample Okta Verify package was made for you).")
        elif loaded.config_error:
            status.update(f"✗ {loaded.config_error}\n  Fix the file or type another path below.")
        elif loaded.config_found:
            status.update("✓ Answers loaded from the file below; you can change them on the next screens.")
        else:
            status.update("· No answers file yet; your answers will be saved to the path below.")
        path = self.query_one("#config-path", Input)
        if not path.value:
            path.value = "" if self.odatui.demo else loaded.config_path
        self.query_one("#load-row").display = not self.odatui.demo
        self.query_one("#next").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "load":
            event.stop()
            self.load_other(self.query_one("#config-path", Input).value)
        else:
            super().on_button_pressed(event)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "config-path":
            self.load_other(event.value)

    @work(thread=True, exclusive=True, group="load-config", exit_on_error=False)
    def load_other(self, path: str) -> None:
        try:
            message = f"✓ {self.session.load_other(path)}"
        except OdatuiError as exc:
            message = f"✗ {exc}"
        self.app.call_from_thread(self.query_one("#config-status", Static).update, message)

    def action_next(self) -> None:
        if self.odatui.loaded is None:
            self.refuse("still starting up; one moment")
            return
        self.commit()
