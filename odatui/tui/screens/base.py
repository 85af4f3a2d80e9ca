"""The anatomy every wizard screen shares (subiquity's): title, a line on why, the form, Back/Next at the bottom.

Next runs every visible field's rule; when one fails, Next is refused with the reason next to the button and the
focus moves to the field to fix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Select, Static

from odatui.core.errors import OdatuiError
from odatui.tui.widgets.banner import SandboxBanner
from odatui.tui.widgets.field import Field

if TYPE_CHECKING:
    from odatui.tui.host import Wizard
    from odatui.tui.session import Session


class WizardScreen(Screen):
    TITLE_TEXT = ""
    EXCERPT = ""
    HELP = ""
    NEXT_LABEL = "Next"
    NEXT_IS_A_FORM = True  # Next mounts another form: keys typed ahead are held for its first field
    BINDINGS = [
        Binding("ctrl+n", "next", "Next", priority=True),
        Binding("escape", "back", "Back"),
        # Priority: focus moves in the App's queue, so keys typed right after Tab (auto-type) land in the next
        # field and never overtake the Tab (see FieldInput).
        Binding("tab", "app.focus_next", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", show=False, priority=True),
    ]

    @property
    def odatui(self) -> Wizard:
        return self.app  # type: ignore[return-value]

    @property
    def session(self) -> Session:
        return self.odatui.session

    def compose(self) -> ComposeResult:
        yield Header()
        if self.odatui.demo:
            yield SandboxBanner()
        with VerticalScroll(id="body"):
            yield Static(self.TITLE_TEXT, classes="screen-title")
            if self.EXCERPT:
                yield Static(self.EXCERPT, classes="excerpt")
            yield from self.compose_form()
        with Horizontal(id="nav"):
            yield Static("", id="nav-reason")
            yield Button("Back", id="back", compact=True)
            yield Button(self.NEXT_LABEL, id="next", variant="primary", compact=True)
        yield Footer()

    def compose_form(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        if self.odatui.still:
            for inp in self.query(Input):
                inp.cursor_blink = False
        self.query_one("#back", Button).display = self.odatui.can_go_back(self)
        self.odatui.drafts.restore(self)  # what was typed here before Back
        # After the subclass has focused its first field (its on_mount runs this first, then focuses): the keys
        # typed ahead since Next go there.
        self.call_after_refresh(self.odatui.typeahead.release)

    def on_screen_resume(self) -> None:
        """Back to this screen: the focus where it was, or on the first field (never nowhere)."""
        if self.app.focused is None or self.app.focused.screen is not self:
            first = next((i for i in self.query(Input) if i.display and i.parent.display), None)
            (first or self.query_one("#next", Button)).focus()

    # --- navigation ---
    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "next":
            event.stop()
            self.action_next()
        elif event.button.id == "back":
            event.stop()
            self.action_back()

    def refuse(self, reason: str, focus: Any = None) -> None:
        self.call_after_refresh(self.odatui.typeahead.release)  # staying here: keys typed ahead stay here too
        self.query_one("#nav-reason", Static).update(f"✗ {reason}")
        self.query_one("#nav-reason", Static).add_class("-error")
        if focus is not None:
            focus.focus()

    def clear_reason(self, text: str = "") -> None:
        reason = self.query_one("#nav-reason", Static)
        reason.update(text)
        reason.remove_class("-error")

    def check_fields(self) -> bool:
        """Run every visible field's rule; refuse Next with the first failure's reason."""
        for field in self.query(Field):
            if not field.display or (field.parent is not None and not field.parent.display):
                continue
            message = field.check()
            if message:
                self.refuse(f"{field.label}: {message}", field.input)
                return False
        self.clear_reason()
        return True

    def action_next(self) -> None:
        if not self.check_fields():
            return
        if self.NEXT_IS_A_FORM:  # keys typed from here on belong to the next screen (odatui.tui.typeahead)
            self.odatui.typeahead.hold()
        self.commit()

    def collect(self) -> dict[str, str]:
        """Copy the answers into the session's config; return the secrets typed on this screen."""
        return {}

    def commit(self) -> None:
        secrets = self.collect()
        if secrets:
            self.store_secrets(secrets)
        else:
            self.odatui.advance(self)

    @work(thread=True, exclusive=True, group="secrets", exit_on_error=False)
    def store_secrets(self, secrets: dict[str, str]) -> None:
        """Keychain calls block (D-Bus, a locked keychain): a thread, then back to the loop to move on."""
        try:
            self.session.remember(secrets)
        except OdatuiError as exc:
            self.app.call_from_thread(self.refuse, f"the keychain refused: {exc}")
            return
        self.app.call_from_thread(self.odatui.advance, self)

    def start_test(self, step_id: str, target: Static) -> None:
        """The "Test connection" button: the answers so far, then that preflight step's inspect, in a worker."""
        if not self.check_fields():
            return
        secrets = self.collect()
        for name, value in secrets.items():
            if value:
                self.session.keep(name, value)
        target.update("⧗ Testing the connection…")
        target.set_classes("test-result")
        target.scroll_visible(animate=False)  # the answer shows where the admin is looking, at 80×24 too
        self._test(step_id, target)

    @work(exclusive=True, group="test-connection", exit_on_error=False)
    async def _test(self, step_id: str, target: Static) -> None:
        ok, text = await self.session.test_connection(step_id)
        target.update(("✓ " if ok else "✗ ") + text)
        target.set_class(ok, "-ok")
        target.set_class(not ok, "-error")
        self.call_after_refresh(target.scroll_visible, animate=False)  # its new height is known after a refresh

    def action_back(self) -> None:
        if self.odatui.can_go_back(self):
            self.odatui.drafts.keep(self)  # Back keeps what was typed here, as subiquity does
            self.odatui.go_back()


class ConnectionScreen(WizardScreen):
    """A screen with a choice of sign-in kind (showing only that kind's fields) and a Test connection button
    that runs the side's preflight step. Subclasses name the table, the select, the step and the first field."""

    TABLE = ""  # "okta" or "ws1"
    AUTH_SELECT = ""  # id of the Select that picks the sign-in kind
    PREFLIGHT = ""  # step run by Test connection
    FIRST_FIELD = ""  # focused on mount
    DEFAULT_AUTH = ""  # before a config is loaded
    _auth: str | None = None

    @property
    def auth(self) -> str:
        if self._auth is None:
            config = self.session.config
            self._auth = getattr(config, self.TABLE).auth if config is not None else self.DEFAULT_AUTH
        return self._auth

    def compose_test_row(self) -> ComposeResult:
        with Horizontal(classes="test-row"):
            yield Button("Test connection", id="test", compact=True)
            yield Static("", id="test-result", classes="test-result")

    def on_mount(self) -> None:
        super().on_mount()
        self._show_auth()
        self.query_one(f"#{self.FIRST_FIELD}").focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == self.AUTH_SELECT:
            self._auth = str(event.value)
            self._show_auth()

    def _show_auth(self) -> None:
        for group in self.query(".auth-group"):
            group.display = group.id == f"group-{self.auth}"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "test":
            event.stop()
            self.start_test(self.PREFLIGHT, self.query_one("#test-result", Static))
        else:
            super().on_button_pressed(event)
