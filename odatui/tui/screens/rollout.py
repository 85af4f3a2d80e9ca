"""Rollout: the Okta Verify package to deploy, the oldest macOS to support, and the profile's name."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Input, Select

from odatui.tui.screens.base import WizardScreen
from odatui.tui.screens.pick_file import PickFileScreen
from odatui.tui.validators import ConfigField
from odatui.tui.widgets.field import Choice, Field, FieldInput

FLOORS = (("macOS 13 Ventura (Platform SSO 1.0)", 13), ("macOS 14 Sonoma", 14), ("macOS 15 Sequoia", 15),
          ("macOS 26 Tahoe", 26))


class RolloutScreen(WizardScreen):
    TITLE_TEXT = "Rollout"
    EXCERPT = "What goes to the Macs: the Okta Verify package and a Platform SSO profile."
    HELP = """\
# Rollout

* **Okta Verify package**: the `.pkg` downloaded from Okta (Settings › Downloads). Press **Browse** to pick it.
  odatui checks it is a flat package of `com.okta.mobile`, new enough for the macOS floor.
* **Oldest macOS**: 13 gets Platform SSO 1.0 settings, 14 and later 2.0 (Okta Verify 9.19 or newer; 9.52 for 26)
  and Okta's Device Access SCEP certificate (Okta screen). Platform SSO keys such as `file_vault_policy` (15+) or
  `registration_during_setup` (26) go in the answers file's `[rollout.psso]` table.
* **Profile name**: how the profile is called in Workspace ONE.
* **User principal name**: optional WS1 lookup value, e.g. `{EmailAddress}`.
* **Export folder**: where the `.mobileconfig` files for other MDMs are written at the end."""

    def _rollout(self):
        return self.session.config.rollout

    def compose_form(self) -> ComposeResult:
        cfg = self.session.config.rollout
        with Horizontal(id="package-row"):
            yield Field("Okta Verify .pkg", FieldInput(
                value=cfg.package, placeholder="~/Downloads/OktaVerify-9.52.0.pkg", id="package",
                validators=[ConfigField("rollout", "package", self._rollout, label="Package", required=True)]))
            yield Button("Browse…", id="browse", compact=True)
        yield Choice("Oldest macOS", Select(FLOORS, value=cfg.macos_min, allow_blank=False, id="macos_min"))
        yield Field("Profile name", FieldInput(
            value=cfg.profile_name, id="profile_name",
            validators=[ConfigField("rollout", "profile_name", self._rollout, label="Profile name", required=True)]))
        yield Field("UPN (optional)", FieldInput(
            value=cfg.user_principal_name, placeholder="{EmailAddress}", id="user_principal_name"))
        yield Field("Export folder", FieldInput(
            value=cfg.export_dir, placeholder="default: odatui's state folder", id="export_dir"))

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#package").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "browse":
            event.stop()
            current = Path(self.query_one("#package", Input).value or "~").expanduser()
            start = current.parent if current.is_file() else (current if current.is_dir() else Path.home())
            self.app.push_screen(PickFileScreen(start), self._picked)
        else:
            super().on_button_pressed(event)

    def _picked(self, path: str | None) -> None:
        if path:
            package = self.query_one("#package", Input)
            package.value = path
            package.focus()

    def collect(self) -> dict[str, str]:
        rollout = self.session.config.rollout
        rollout.package = self.query_one("#package", Input).value
        rollout.macos_min = self.query_one("#macos_min", Select).value
        rollout.profile_name = self.query_one("#profile_name", Input).value
        rollout.user_principal_name = self.query_one("#user_principal_name", Input).value.strip()
        rollout.export_dir = self.query_one("#export_dir", Input).value.strip()
        return {}
