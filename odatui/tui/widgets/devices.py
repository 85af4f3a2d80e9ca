"""The Done screen's device table: every Mac of the smart group(s) with its state and reasons, as `odatui status
--devices`. It loads in a thread worker with its own event loop (WS1's pages and their JSON never run on the
wizard's loop); each page's rows become tuples of cell text there and are handed to a virtual table
(widgets.fleet_lines: only the visible lines are rendered), so the whole fleet is kept and scrolls, 50,000 Macs
included. Sort and filter order the whole fleet in a thread, never on the loop.

Keys: s sort by the next column (a header click: by that one; again: reverse) · f failing only · r reload · p
re-push the profile to the highlighted Mac.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Static

from odatui.tui.widgets.fleet_lines import Cells, FleetLines, HeaderClicked

PACE = 0.5  # seconds between status-line updates while loading
COLUMNS = (("id", "Id", 7), ("name", "Name", 22), ("macos", "macOS", 7), ("profile", "Profile", 9),
           ("okta_verify", "Okta Verify", 11), ("certificate", "SCEP cert", 9), ("reasons", "Reasons", 48),
           ("serial", "Serial", 13), ("user", "User", 16))  # fixed widths: no re-measuring
REASONS = 6  # the Reasons column: a row with text there is failing


def cells(row: Any) -> Cells:
    """One Mac as the table's cell text (plain strings: the table never parses markup, so a Mac named "[b]x"
    shows as typed)."""
    d = row.as_dict() if hasattr(row, "as_dict") else dict(row)
    return tuple("; ".join(d["reasons"]) if key == "reasons" else ("?" if d.get(key) is None else str(d[key]))
                 for key, _, _ in COLUMNS)


def failing(row: Cells) -> bool:
    return bool(row[REASONS])


class DeviceTable(Vertical):
    BINDINGS = [Binding("f", "toggle_failing", "Failing only"), Binding("r", "reload", "Reload Macs"),
                Binding("p", "repush", "Re-push"), Binding("s", "sort", "Sort")]

    def __init__(self, session: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.session = session
        self.failing_only = False
        self._sorted: tuple[str, bool] | None = None
        self._summary = ""

    def compose(self) -> ComposeResult:
        yield Static("⧗ Listing the Macs of the smart group…", id="devices-status")
        yield FleetLines([(label, width) for _, label, width in COLUMNS], id="devices")

    def on_mount(self) -> None:
        self.load()

    @property
    def table(self) -> FleetLines:
        return self.query_one(FleetLines)

    # ------------------------------------------------------------------ loading
    @work(thread=True, exclusive=True, group="devices", exit_on_error=False)
    def load(self) -> None:
        app = self.app
        app.call_from_thread(self.table.clear)
        counts = {"last": 0.0}

        def on_rows(rows: list[Any], problems: list[str]) -> None:
            batch = [cells(r) for r in rows]  # here, in the loader thread: the loop only extends a list
            app.call_from_thread(self.table.append, batch)

        def progress(summary: Any) -> None:
            if time.monotonic() - counts["last"] >= PACE:
                app.call_from_thread(self._status, f"⧗ {summary.devices:,} Macs judged (device page "
                                     f"{summary.pages_done} of {summary.pages_total}), {summary.failing:,} with "
                                     "a reason…")
                counts["last"] = time.monotonic()

        try:
            summary = asyncio.run(self.session.device_rows(on_rows, progress=progress))
        except Exception as exc:  # noqa: BLE001 - one line; the rest of the Done screen stays useful
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            from textual.markup import escape
            app.call_from_thread(self._status, f"Macs: ! could not list them: {escape(readable(exc, 'device list'))}")
            return
        app.call_from_thread(self._done, summary)

    def _done(self, summary: Any) -> None:
        undecided = sum(getattr(summary, "undecided", {}).values())
        self._summary = f"{summary.devices:,} Macs in the smart group, {summary.failing:,} with a reason" + (
            f"; {undecided:,} left undecided (bulk states: `odatui status --devices --detail` looks them up)"
            if undecided else "")
        self._status(self._label())
        if self._sorted or self.failing_only:
            self._arrange()  # the rows that came in after the sort or filter was chosen are ordered too

    def _label(self) -> str:
        shown = "failing only" if self.failing_only else "all"
        order = ""
        if self._sorted:
            order = f" · sorted by {next(label for k, label, _ in COLUMNS if k == self._sorted[0])}" + (
                " (reversed)" if self._sorted[1] else "")
        return f"Macs: {self._summary} · showing {shown}{order} · f filter · s sort · r reload · p re-push"

    def _status(self, text: str) -> None:
        self.query_one("#devices-status", Static).update(text)

    @work(exclusive=True, group="arrange", exit_on_error=False)
    async def _arrange(self) -> None:
        keys = [key for key, _, _ in COLUMNS]
        order = (keys.index(self._sorted[0]), self._sorted[1]) if self._sorted else None
        await self.table.reorder(keep=failing if self.failing_only else None, order=order)
        if self._summary:
            self._status(self._label())

    # ------------------------------------------------------------------ actions
    def action_toggle_failing(self) -> None:
        self.failing_only = not self.failing_only
        self._arrange()  # over the whole fleet already listed: no second listing

    def action_reload(self) -> None:
        self.load()

    def action_sort(self) -> None:
        """Sort by the next column (the rows arrive by page: Id → Name → macOS → … → User → Id)."""
        keys = [key for key, _, _ in COLUMNS]
        current = self._sorted[0] if self._sorted else keys[0]
        self._sorted = (keys[(keys.index(current) + 1) % len(keys)], False)
        self._arrange()

    def on_header_clicked(self, event: HeaderClicked) -> None:
        key = COLUMNS[event.column][0]
        self._sorted = (key, bool(self._sorted and self._sorted[0] == key and not self._sorted[1]))
        self._arrange()

    def action_repush(self) -> None:
        table = self.table
        if not table.row_count:
            return
        self._repush(int(table.get_row_at(table.cursor_row)[0]))

    @work(exclusive=True, group="repush", exit_on_error=False)
    async def _repush(self, device_id: int) -> None:
        self._status(f"⧗ Re-pushing the profile to Mac {device_id}…")
        try:
            text = await self.session.repush([device_id])
        except Exception as exc:  # noqa: BLE001 - shown on the status line, never a traceback
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            from textual.markup import escape
            text = f"could not re-push: {escape(readable(exc, 're-push'))}"
        self._status(f"Mac {device_id}: {text} · {self._label()}")
