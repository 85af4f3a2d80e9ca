"""Done: what exists now (names and ids), how far the fleet got (refreshing), what end users will see on their Macs
and the exported .mobileconfig files — in one scrolling body that has the focus, so ↑/↓ and PgUp/PgDn reach all of it
at 80×24."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from odatui.tui.results import created_lines, exported_text
from odatui.tui.widgets.banner import SandboxBanner
from odatui.tui.widgets.devices import DeviceTable

if TYPE_CHECKING:
    from odatui.tui.host import Wizard

END_USER_STEPS = """\
What your Mac users will see (after the profile and Okta Verify arrive):
  1. A “Registration Required” notification — click it (or Set up in System Settings › Users).
  2. Set up → sign in to Okta in the Okta Verify window.
  3. Enter the Mac's login password when macOS asks, to link it with Okta.
  4. From now on, sign in with Okta: the Mac password follows the Okta password."""

REFRESH_SECONDS = 15.0


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


def wave_table(outputs: dict[str, dict[str, Any]]) -> str:
    """The waves as the last run left them (`odatui waves` reads the same live): one aligned line per wave."""
    waves = (outputs.get("ws1.profile") or {}).get("waves") or []
    if not waves:
        return ""
    head = f"{'WAVE':<18} {'MACS':>5} {'ELIGIBLE':>8} {'OKTA VERIFY':>11} {'PROFILE':>7} {'FAILING':>7}  GATE"
    rows = [f"{str(w['wave'])[:18]:<18} {w['devices']:>5} {w['eligible']:>8} {w['okta_verify_installed']:>11} "
            f"{w['profile_installed']:>7} {w['failing']:>7}  {w['gate']}: {w['reason']}" for w in waves]
    return "\n".join([head, *rows])


def readiness_warnings(outputs: dict[str, dict[str, Any]]) -> list[str]:
    """The preflight steps' warnings, as the plan showed them."""
    return [w for sid in ("preflight.okta", "preflight.ws1") for w in (outputs.get(sid) or {}).get("warnings") or []]


class DoneScreen(Screen):
    CSS_PATH = str(Path(__file__).parent.parent / "run.tcss")
    HELP = """\
# Done

* **Created or found** names what exists now in Okta and Workspace ONE, with its ids.
* **Readiness warnings**: users without an Okta password, Macs below the floor… (the run went on).
* **Rollout** refreshes every 15 s from Workspace ONE: devices in the smart group, installs so far.
* **Macs**: every Mac of the smart group with its profile, Okta Verify and SCEP certificate state and the
  reasons it is failing. **f** failing only, **s** sort (or click a header), **r** reload, **p** re-push the
  profile to the highlighted Mac.
* **What your Mac users will see**: the registration steps to tell them about.
* **Exported files**: the combined `.mobileconfig` for any other MDM, its per-payload parts and the WS1 Custom
  Settings fragments.
* **↑/↓ PgUp/PgDn** scroll, **Tab** reaches Quit. Press **e** to export again, **q** to quit.
  `odatui status` shows the same from a shell."""

    BINDINGS = [Binding("e", "export", "Export again"), Binding("q", "quit_app", "Quit")]

    @property
    def odatui(self) -> Wizard:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        model = self.odatui.model
        yield Header()
        if self.odatui.demo:
            yield SandboxBanner()
        with VerticalScroll(id="body"):
            ok = model.all_done
            yield Static("Rollout configured" if ok else "Finished, with steps still open", classes="screen-title")
            yield Static("Created or found:", classes="section")
            with Vertical(id="created"):
                for line in created_lines(model.steps, self._outputs(), self.odatui.session.config):
                    yield Static(line, classes="created-line")
                yield Static("⧗ Export folder: writing the files…", id="export-folder", classes="created-line")
            warnings = readiness_warnings(self._outputs())
            if warnings:
                yield Static("Readiness warnings (the run went on; these need a look):", classes="section")
                yield Static("\n".join(f"! {w}" for w in warnings), id="warnings")
            waves = wave_table(self._outputs())
            if waves:
                yield Static("Waves (the profile goes to a wave once its gate holds; re-run apply to move on):",
                             classes="section")
                yield Static(escape(waves), id="waves")
            yield Static("⧗ Asking Workspace ONE how far the Macs got…", id="rollout")
            if hasattr(self.odatui.session, "device_rows"):
                yield DeviceTable(self.odatui.session, id="device-table")
            yield Static(END_USER_STEPS, id="end-users")
            yield Static("Exported files:", classes="section")
            yield Static("⧗ Writing the .mobileconfig files for other MDMs…", id="exported")
        with Horizontal(id="nav"):
            yield Static("↑/↓ PgUp/PgDn scroll · Tab to Quit", id="nav-reason")
            yield Button("Quit", id="quit", variant="primary", compact=True)
        yield Footer()

    def _outputs(self) -> dict[str, dict[str, Any]]:
        """Step id → outputs: the run state (which also holds steps done in earlier runs), then what this run's
        StepSucceeded events said."""
        outputs: dict[str, dict[str, Any]] = self.odatui.runs.outputs()
        for sid, view in self.odatui.model.steps.items():
            if view.outputs:
                outputs[sid] = dict(view.outputs)
        return outputs

    def on_mount(self) -> None:
        self.query_one("#body").focus()  # the body scrolls with the keyboard; Tab reaches Quit
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
            folder = self.odatui.display_path(paths[0].parent) if paths else "?"
            text, where = exported_text(paths, folder), f"✓ Export folder: {folder} (files below)"
        except Exception as exc:  # shown with its fix; the rest of the screen stays useful
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            from textual.markup import escape
            text, where = f"✗ {escape(readable(exc, 'export'))}", "✗ Export folder: the export failed (see below)"
        self.app.call_from_thread(self._show_export, text, where)

    def _show_export(self, text: str, where: str) -> None:
        self.query_one("#exported", Static).update(text)
        self.query_one("#export-folder", Static).update(where)

    def show_removed(self, failed: int, report: str) -> None:
        """After the palette's removal: the real outcome, in place of what the run had created (never a stale
        "Rollout configured" over a tenant that no longer holds it)."""
        self._removed = True
        self.query_one(".screen-title", Static).update(
            "Removed: what odatui created for this target is gone" if not failed else
            f"Removal incomplete: {failed} item(s) could not be removed (run the removal again: it resumes)")
        created = self.query_one("#created", Vertical)
        created.remove_children()
        created.mount_all([Static(line, classes="created-line") for line in report.strip().splitlines()])
        self.query_one("#rollout", Static).update("Rollout: removed — run odatui again (or `odatui apply`) to roll "
                                                  "out again.")
        for stale in self.query("#waves"):  # the waves as the run left them: no longer so
            stale.update("(removed with the rollout)")

    @work(exclusive=True, group="rollout-status", exit_on_error=False)
    async def refresh_status(self) -> None:
        if getattr(self, "_removed", False):
            return  # nothing of odatui's is left to count
        target = self.query_one("#rollout", Static)
        try:
            status = await self.odatui.session.rollout_status()
            target.update("Rollout (refreshes every 15 s): " + status_text(status))
        except Exception as exc:
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            from textual.markup import escape
            target.update(f"Rollout: ! could not read the status: {escape(readable(exc, 'rollout status'))}")
