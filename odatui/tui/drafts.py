"""What was typed on a wizard screen the admin left with Back: kept per screen and put back when Next shows that
screen again, with the focus where it was (subiquity keeps a screen's edits the same way). Only field values, in
memory, for this session: never written anywhere, so a typed secret stays as private as in its field."""

from __future__ import annotations

from typing import Any

from textual.widgets import Select


class Drafts:
    def __init__(self) -> None:
        self._by_screen: dict[type, tuple[dict[str, Any], str | None]] = {}

    def keep(self, screen: Any) -> None:
        values: dict[str, Any] = {}
        for widget in screen.query("Input, Select"):
            if widget.id:
                values[widget.id] = widget.value
        focused = screen.app.focused
        self._by_screen[type(screen)] = (values, focused.id if focused is not None and focused.screen is screen
                                         else None)

    def restore(self, screen: Any) -> None:
        kept = self._by_screen.pop(type(screen), None)
        if kept is None:
            return
        values, focus_id = kept
        for widget in screen.query("Input, Select"):
            if widget.id in values and widget.value != values[widget.id]:
                if isinstance(widget, Select) and values[widget.id] is Select.BLANK:
                    continue
                widget.value = values[widget.id]
        if focus_id:
            for widget in screen.query(f"#{focus_id}"):
                screen.call_after_refresh(widget.focus)
