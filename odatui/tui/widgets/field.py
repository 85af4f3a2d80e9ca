"""A labelled input on one line with its error line underneath: the rule's message shows as the admin types.
Compact (one row per input) so a whole screen fits 80×24."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Static


class SecretInput(Input):
    """A masked input whose value never leaves it: copy and cut copy nothing (Textual would send the selection as an
    OSC 52 sequence to the terminal's clipboard — in `odatui serve`, to whatever holds the websocket), and a
    mouse selection over it yields no text. Typing and pasting in still work."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["password"] = True
        super().__init__(*args, **kwargs)

    def action_copy(self) -> None:
        self.app.bell()

    def action_cut(self) -> None:
        self.app.bell()

    def get_selection(self, selection: Any) -> None:
        return None


class Choice(Horizontal):
    """A label and a compact Select (or any one-line widget) on one row."""

    def __init__(self, label: str, widget: Widget, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="field-row choice")
        self.label = label
        self.widget = widget
        if hasattr(widget, "compact"):
            widget.compact = True

    def compose(self) -> ComposeResult:
        yield Label(self.label, classes="field-label")
        yield self.widget


class Field(Vertical):
    """`Field("Okta org URL", Input(...), hint="…")`; `check()` validates now and returns the message or None."""

    def __init__(self, label: str, input: Input, *, hint: str = "", id: str | None = None) -> None:
        super().__init__(id=id, classes="field")
        self.label = label
        self.input = input
        self.input.compact = True
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-row"):
            yield Label(self.label, classes="field-label")
            yield self.input
        yield Static(self.hint, classes="field-hint")
        yield Static("", classes="field-error")

    def show_error(self, message: str | None) -> None:
        error = self.query_one(".field-error", Static)
        error.update(f"✗ {message}" if message else "")
        error.display = bool(message)
        self.query_one(".field-hint", Static).display = not message and bool(self.hint)
        self.set_class(bool(message), "-invalid")

    def on_mount(self) -> None:
        self.show_error(None)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is self.input and event.validation_result is not None:
            self._show(event.validation_result)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        if event.input is self.input and event.validation_result is not None and self.input.value:
            self._show(event.validation_result)

    def _show(self, result) -> None:
        failures = result.failure_descriptions
        self.show_error(failures[0] if failures else None)

    def check(self) -> str | None:
        if not self.display:
            return None
        result = self.input.validate(self.input.value)
        message = result.failure_descriptions[0] if result and result.failure_descriptions else None
        self.show_error(message)
        return message
