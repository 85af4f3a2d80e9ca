"""A virtual table of the whole fleet: every listed Mac is kept (a tuple of short strings, ~0.4 kB), only the
visible lines are rendered, with Textual's line API (`ScrollView.render_line`), as Toolong renders multi-GB logs.
Adding a page of 500 Macs costs a list extend and, when the new rows are on screen, one repaint: no per-row widget
and no re-measuring, so 50,000 Macs load and scroll without holding the event loop. Sorting and filtering copy the
row list and work on the copy in a thread; the result is swapped in on the loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from rich.cells import set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cells = tuple[str, ...]  # one Mac: the cell text of each column, in COLUMNS order
SAME = object()  # reorder(): leave the filter / the order as it is


def sort_key(index: int) -> Callable[[Cells], tuple[int, Any]]:
    """Numbers (ids) sort as numbers, the rest as text without case."""
    def key(row: Cells) -> tuple[int, Any]:
        text = row[index]
        return (0, int(text), "") if text.isdigit() else (1, 0, text.casefold())
    return key


class FleetLines(ScrollView, can_focus=True):
    """The rows of the device table. `columns` are (label, width) pairs; `view` is what is shown, in order."""

    DEFAULT_CSS = """
    FleetLines { background: $surface; }
    FleetLines > .fleet-lines--cursor { background: $accent 40%; text-style: bold; }
    FleetLines:focus > .fleet-lines--cursor { background: $accent; color: $text; }
    FleetLines > .fleet-lines--zebra { background: $surface-lighten-1; }
    FleetLines > .fleet-lines--header { text-style: bold; color: $text-muted; }
    """
    COMPONENT_CLASSES = {"fleet-lines--cursor", "fleet-lines--zebra", "fleet-lines--header"}
    BINDINGS = [Binding("up", "cursor(-1)", show=False), Binding("down", "cursor(1)", show=False),
                Binding("pageup", "page(-1)", show=False), Binding("pagedown", "page(1)", show=False),
                Binding("home", "jump(0)", show=False), Binding("end", "jump(-1)", show=False)]

    def __init__(self, columns: Sequence[tuple[str, int]], **kw: Any) -> None:
        super().__init__(**kw)
        self.columns = list(columns)
        self.line_width = sum(w + 2 for _, w in self.columns)
        self.rows: list[Cells] = []  # every listed Mac, in arrival order
        self.view: list[Cells] = []  # what is shown: all rows or a filtered copy, maybe sorted
        self.keep: Callable[[Cells], bool] | None = None  # the filter, applied to rows as they arrive too
        self.order: tuple[int, bool] | None = None  # (column index, reverse)
        self.cursor_row = 0
        self._busy = 0  # sorts/filters running in a thread

    # ------------------------------------------------------------------ data
    @property
    def row_count(self) -> int:
        return len(self.view)

    def get_row_at(self, index: int) -> Cells:
        return self.view[index]

    def clear(self) -> None:
        self.rows = []
        self.view = self.rows if self.keep is None else []
        self.cursor_row = 0
        self._resized()

    def append(self, batch: list[Cells]) -> None:
        """A page of rows from the listing: kept, and shown when the filter keeps them (at the end: a sort is
        re-applied over the whole fleet when the listing ends, `reorder`)."""
        was = len(self.view)
        self.rows.extend(batch)
        if self.view is not self.rows:
            self.view.extend(batch if self.keep is None else [r for r in batch if self.keep(r)])
        self._resized()
        if was < self.scroll_offset.y + self.size.height:  # new rows are on screen
            self.refresh()

    async def reorder(self, keep: Any = SAME, order: Any = SAME) -> None:
        """Filter (`keep(row)`, None: all) and/or sort (`(column, reverse)`, None: arrival order) the whole fleet
        off the event loop, then show the result; SAME leaves that one as it is."""
        if keep is not SAME:
            self.keep = keep
        if order is not SAME:
            self.order = order
        rows, keep_now, order_now = list(self.rows), self.keep, self.order
        self._busy += 1
        try:
            view = await asyncio.to_thread(_arrange, rows, keep_now, order_now)
        finally:
            self._busy -= 1
        late = self.rows[len(rows):]  # rows that arrived while the thread worked
        view.extend(late if keep_now is None else [r for r in late if keep_now(r)])
        self.view = self.rows if keep_now is None and order_now is None else view
        self.cursor_row = min(self.cursor_row, max(0, len(self.view) - 1))
        self._resized()
        self.refresh()

    def _resized(self) -> None:
        self.virtual_size = Size(self.line_width, len(self.view) + 1)  # + the header line

    # ------------------------------------------------------------------ rendering (the line API)
    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y == 0:  # the header stays put; rows scroll under it
            style = self.get_component_rich_style("fleet-lines--header")
            text = "".join(set_cell_size(label, w) + "  " for label, w in self.columns)
            return Strip([Segment(text, style)], self.line_width).crop_extend(scroll_x, scroll_x + width, style)
        index = scroll_y + y - 1
        base = self.rich_style
        if index >= len(self.view):
            return Strip.blank(width, base)
        row = self.view[index]
        text = "".join(set_cell_size(cell, w) + "  " for cell, (_, w) in zip(row, self.columns))
        if index == self.cursor_row:
            style = base + self.get_component_rich_style("fleet-lines--cursor")
        elif index % 2:
            style = base + self.get_component_rich_style("fleet-lines--zebra")
        else:
            style = base
        return Strip([Segment(text, style)], self.line_width).crop_extend(scroll_x, scroll_x + width, style)

    # ------------------------------------------------------------------ cursor
    def move_cursor(self, row: int) -> None:
        if not self.view:
            return
        old, self.cursor_row = self.cursor_row, max(0, min(row, len(self.view) - 1))
        page = max(1, self.size.height - 1)
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False)
        elif self.cursor_row >= top + page:
            self.scroll_to(y=self.cursor_row - page + 1, animate=False)
        self.refresh_lines(old - self.scroll_offset.y + 1)
        self.refresh_lines(self.cursor_row - self.scroll_offset.y + 1)
        self.post_message(CursorMoved(self.cursor_row))

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self.move_cursor(self.cursor_row + step * max(1, self.size.height - 1))

    def action_jump(self, where: int) -> None:
        self.move_cursor(len(self.view) - 1 if where < 0 else where)

    def on_click(self, event: events.Click) -> None:
        if event.y == 0:  # a header click sorts by that column (again: reversed)
            self.post_message(HeaderClicked(self._column_at(event.x + self.scroll_offset.x)))
        else:
            self.move_cursor(self.scroll_offset.y + event.y - 1)

    def _column_at(self, x: int) -> int:
        for index, (_, w) in enumerate(self.columns):
            if x < w + 2:
                return index
            x -= w + 2
        return len(self.columns) - 1


def _arrange(rows: list[Cells], keep: Callable[[Cells], bool] | None,
             order: tuple[int, bool] | None) -> list[Cells]:
    view = rows if keep is None else [r for r in rows if keep(r)]
    if order is not None:
        view = sorted(view, key=sort_key(order[0]), reverse=order[1])
    return view



class CursorMoved(Message):
    def __init__(self, row: int) -> None:
        super().__init__()
        self.row = row


class HeaderClicked(Message):
    def __init__(self, column: int) -> None:
        super().__init__()
        self.column = column
