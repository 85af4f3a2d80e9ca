"""Done: what was created (ids, names), the exported .mobileconfig files, how far the fleet got (refreshing), and
what end users will see on their Macs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from odatui.tui.widgets.banner import SandboxBanner

if TYPE_CHECKING:
    from odatui.tui.app import OdatuiApp

END_USER_STEPS = """\
What your Mac users will see (after the profile and Okta Verify arrive):
  1. A “Registration Required” notification — click it (or Set up in System Settings › Users).
  2. Set up → sign in to Okta in the Okta Verify window.
  3. Enter the Mac's login password when macOS asks, to link it with Okta.
  4. From now on, sign in with Okta: the Mac password follows the Okta password."""

REFRESH_SECONDS = 15.0
SKIP_KEYS = {"sha256", "path", "install_kbytes"}


def created_lines(model: Any) -> list[str]:
    lines = []
    for view in model.steps.values():
        if view.status not in ("succeeded", "unchanged"):
            lines.append(f"{view.glyph} {view.title}: {view.word}" + (f" — {view.error}" if view.error else ""))
            continue
        facts = [f"{k.replace('_', ' ')} {v}" for k, v in view.outputs.items()
                 if k.endswith("_id") and isinstance(v, (str, int)) and str(v) and str(v) not in view.summary]
        lines.append(f"{view.glyph} {view.title}: {view.summary}" + (f" ({', '.join(facts)})" if facts else ""))
    return lines


def status_text(status: dict[str, Any]) -> str:
    devices = status.get("devices") or status.get("devices_in_group") or status.get("device_count")
    parts = [f"Devices in the smart group: {devices if devices is not None else '?'}"]
    for key, label in (("profile_installed", "profile installed"), ("app_installed", "Okta Verify installed"),
                       ("profile_pending", "profile pending"), ("app_pending", "app pending")):
        if key in status:
            parts.append(f"{label}: {status[key]}")
    known = {"devices", "devices_in_group", "device_count", "profile_installed", "app_installed", "profile_pending",
             "app_pending"}
    parts += [f"{k.replace('_', ' ')}: {v}" for k, v in status.items() if k not in known and isinstance(v, (int, str))]
    return " · ".join(parts)


class DoneScreen(Screen):
    CSS_PATH = str(Path(__file__).parent.parent / "run.tcss")
    HELP = """\
# Done

* **Created** lists each step's result and the ids in Okta and Workspace ONE.
* **Exported files** are standard `.mobileconfig` files for any other MDM (and WS1 Custom Settings fragments).
* **Rollout** refreshes every 15 s from Workspace ONE: devices in the smart group, installs so far.
* Press **e** to export again, **q** to quit. `odatui status` shows the same from a shell."""

    BINDINGS = [Binding("e", "export", "Export again"), Binding("q", "quit_app", "Quit")]

    @property
    def odatui(self) -> OdatuiApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        model = self.odatui.model
        yield Header()
        if self.odatui.demo:
            yield SandboxBanner()
        with VerticalScroll(id="body"):
            ok = model.all_done
            yield Static("Rollout configured" if ok else "Finished, with steps still open", classes="screen-title")
            yield Static("⧗ Writing the .mobileconfig files for other MDMs…", id="exported")
            yield Static("⧗ Asking Workspace ONE how far the Macs got…", id="rollout")
            yield Static("Created or found:", classes="section")
            with Vertical(id="created"):
                for line in created_lines(model):
                    yield Static(line, classes="created-line")
            yield Static(END_USER_STEPS, id="end-users")
        with Horizontal(id="nav"):
            yield Static("", id="nav-reason")
            yield Button("Quit", id="quit", variant="primary", compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#quit").focus()
        self.action_export()
        self.refresh_status()
        if not self.odatui.still:
            self.set_interval(REFRESH_SECONDS, self.refresh_status)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "quit":
            event.stop()
            self.action_quit_app()

    def action_quit_app(self) -> None:
        self.odatui.exit(0)

    def action_export(self) -> None:
        self._export()

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def _export(self) -> None:
        try:
            paths = self.odatui.session.export_profiles()
            folder = self.odatui.display_path(paths[0].parent) if paths else ""
            main = next((p.name for p in paths if p.name.endswith(".mobileconfig")), "")
            text = f"Exported: ✓ {len(paths)} files in {folder}" + (f"\n  {main} (the whole profile) and parts" if main else "")
        except Exception as exc:  # shown with its fix; the rest of the screen stays useful
            text = f"Exported: ✗ {exc}"
        self.app.call_from_thread(self.query_one("#exported", Static).update, text)

    @work(exclusive=True, group="rollout-status", exit_on_error=False)
    async def refresh_status(self) -> None:
        target = self.query_one("#rollout", Static)
        try:
            status = await self.odatui.session.rollout_status()
            target.update("Rollout (refreshes every 15 s): " + status_text(status))
        except Exception as exc:
            target.update(f"Rollout: ! could not read the status: {exc}")
