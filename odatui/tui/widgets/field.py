"""A labelled input on one line with its error line underneath: the rule's message shows as the admin types.
Compact (one row per input) so a whole screen fits 80×24."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Input, Label, Static


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


class FieldInput(Input):
    """An Input that keeps every key of a burst in order (auto-type, macros, slow SSH links).

    Textual handles a printable key in the Input's own queue at once, but resolves a bound key (Backspace, Ctrl+U,
    Home, Enter, Tab) only after the Key event has bubbled back up to the App, one message queue per ancestor. Inside
    a `Field` (Input → row → Field → form → screen → app), whose ancestors are busy re-rendering the rule's message
    on every `Changed`, the characters typed after Ctrl+U or Tab overtook it: the URL lost its start, the token went
    into the wrong field. So the Input's own bindings run here, in order with the characters; Tab / Shift+Tab are
    priority bindings of the wizard screen (run in the App's queue, before the next key is routed)."""

    async def _on_key(self, event: events.Key) -> None:
        # Textual then calls Input._on_key (printable keys) itself, unless a binding ran here.
        if event.is_printable:
            return
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if binding.priority:
                continue  # already handled in the App's queue
            if await self.app.run_action(binding.action, self):
                event.stop()  # and never again at the App, after the keys that followed it
                event.prevent_default()
                return


class SecretInput(FieldInput):
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


class Field(Vertical):
    """`Field("Okta org URL", FieldInput(...), hint="…")`; `check()` validates now and returns the message or None."""

    def __init__(self, label: str, input: FieldInput, *, hint: str = "", id: str | None = None) -> None:
        super().__init__(id=id, classes="field")
        if not isinstance(input, FieldInput):
            raise TypeError(f"Field {label!r} needs a FieldInput (keeps keys typed in a burst in order)")
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
