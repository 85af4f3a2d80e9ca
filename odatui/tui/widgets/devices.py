"""The Done screen's device table: the Macs of the smart group with their state and reasons, as `odatui status
--devices`. It loads in a thread worker with its own event loop (WS1's pages and their JSON never run on the
wizard's loop). Textual's DataTable re-renders its visible lines after every addition (tens of ms on a busy
machine, and each addition costs more the more rows it holds), so while the listing runs the table gets only a
first screenful and the status line counts; the next CHUNK rows go in when the cursor nears the end (or all of
them before a sort). It keeps at most MAX_ROWS: the rest are counted, and `f` narrows the table to the failing
ones.

Keys: s sort by the highlighted column (again: reverse) · f failing only · r reload · p re-push the profile to
the highlighted Mac.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

FIRST = 40  # rows shown as soon as they arrive: a screenful
PACE = 0.5  # seconds between status-line updates while loading
MAX_ROWS = 1_000  # rows the table holds; more are counted, not shown
CHUNK = 100  # rows added when the cursor comes within NEAR_END rows of the end
NEAR_END = 10
COLUMNS = (("id", "Id", 7), ("name", "Name", 22), ("macos", "macOS", 7), ("profile", "Profile", 9),
           ("okta_verify", "Okta Verify", 11), ("certificate", "SCEP cert", 9), ("reasons", "Reasons", 48),
           ("serial", "Serial", 13), ("user", "User", 16))  # fixed widths: no re-measuring


def cells(row: Any) -> tuple[Any, ...]:
    """Rich Text, not str: a str cell is parsed as markup on every render (slower, and a Mac named "[b]x" would
    change the table's styling)."""
    from rich.text import Text

    d = row.as_dict() if hasattr(row, "as_dict") else dict(row)
    return tuple(Text("; ".join(d["reasons"]) if key == "reasons" else ("?" if d.get(key) is None else str(d[key])),
                      no_wrap=True) for key, _, _ in COLUMNS)


def sort_key(value: Any) -> tuple[int, Any]:
    """Cells are Text: ids and other numbers sort as numbers, the rest as text."""
    text = str(value)
    return (0, int(text)) if text.isdigit() else (1, text.casefold())


class DeviceTable(Vertical):
    BINDINGS = [Binding("f", "toggle_failing", "Failing only"), Binding("r", "reload", "Reload Macs"),
                Binding("p", "repush", "Re-push"), Binding("s", "sort", "Sort")]

    def __init__(self, session: Any, **kw: Any) -> None:
        super().__init__(**kw)
        self.session = session
        self.failing_only = False
        self._rows: list[Any] = []  # what the table shows (all, or the failing ones when filtered)
        self._pending: list[Any] = []  # listed, not added yet (added as the cursor nears the end)
        self._sorted: tuple[str, bool] | None = None
        self._summary = ""

    def compose(self) -> ComposeResult:
        yield Static("⧗ Listing the Macs of the smart group…", id="devices-status")
        yield DataTable(id="devices", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        self.load()

    # ------------------------------------------------------------------ loading
    @work(thread=True, exclusive=True, group="devices", exit_on_error=False)
    def load(self) -> None:
        app = self.app
        app.call_from_thread(self._reset)
        counts = {"n": 0, "failing": 0, "shown": 0, "last": 0.0}
        failing_only = self.failing_only
        pending: list[Any] = []  # rows for the table's one later addition (at most MAX_ROWS in all)

        def on_rows(rows: list[Any], problems: list[str]) -> None:
            counts["n"] += len(rows)
            counts["failing"] += sum(1 for r in rows if r.reasons)
            wanted = [r for r in rows if r.reasons] if failing_only else rows
            wanted = wanted[:max(0, MAX_ROWS - counts["shown"])]
            counts["shown"] += len(wanted)
            if counts["shown"] - len(wanted) < FIRST:  # the first screenful goes in at once
                first = FIRST - (counts["shown"] - len(wanted))
                app.call_from_thread(self._add, wanted[:first])
                wanted = wanted[first:]
            pending.extend(wanted)
            if time.monotonic() - counts["last"] >= PACE:
                app.call_from_thread(self._status, f"⧗ {counts['n']:,} Macs so far, {counts['failing']:,} with a "
                                     "reason…")
                counts["last"] = time.monotonic()

        try:
            summary = asyncio.run(self.session.device_rows(on_rows))
        except Exception as exc:  # noqa: BLE001 - one line; the rest of the Done screen stays useful
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            from textual.markup import escape
            app.call_from_thread(self._status, f"Macs: ! could not list them: {escape(readable(exc, 'device list'))}")
            return
        failing = getattr(summary, "failing", counts["failing"])
        devices = getattr(summary, "devices", counts["n"])
        app.call_from_thread(self._keep, pending)
        app.call_from_thread(self._done, devices, failing, getattr(summary, "per_device", True), counts["shown"])

    def _keep(self, pending: list[Any]) -> None:
        self._pending = pending

    def _more(self, count: int | None = None) -> None:
        """The next rows from the pending ones (all of them when count is None)."""
        batch = self._pending if count is None else self._pending[:count]
        self._pending = [] if count is None else self._pending[count:]
        self._add(batch)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self._pending and event.cursor_row >= event.data_table.row_count - NEAR_END:
            self._more(CHUNK)

    def _reset(self) -> None:
        self._pending = []
        self._rows.clear()
        self.query_one(DataTable).clear()

    def _add(self, batch: list[Any]) -> None:
        if batch:
            self._rows.extend(batch)
            self.query_one(DataTable).add_rows([cells(r) for r in batch])

    def _done(self, devices: int, failing: int, per_device: bool = True, shown: int = 0) -> None:
        pool = failing if self.failing_only else devices
        self._summary = f"{devices} Macs in the smart group, {failing} with a reason" + (
            "" if per_device else " (bulk states: `odatui status --devices` also checks certificates per Mac)") + (
            f"; the table keeps the first {shown:,}, `odatui status --devices` lists all" if shown < pool else "")
        self._status(self._label())
        if self._sorted:
            self._more()  # a sort orders every listed row, not only the ones added so far
            key, reverse = self._sorted
            self.query_one(DataTable).sort(key, key=sort_key, reverse=reverse)

    def _label(self) -> str:
        shown = "failing only" if self.failing_only else "all"
        return f"Macs: {self._summary} · showing {shown} · f filter · s sort · r reload · p re-push"

    def _status(self, text: str) -> None:
        self.query_one("#devices-status", Static).update(text)

    # ------------------------------------------------------------------ actions
    def action_toggle_failing(self) -> None:
        self.failing_only = not self.failing_only
        self.load()  # the filter applies as rows arrive; reloading keeps memory at what is shown

    def action_reload(self) -> None:
        self.load()

    def action_sort(self) -> None:
        """Sort by the next column (the rows arrive by Id: Name → macOS → … → User → Id); a header click sorts by
        that one."""
        keys = [key for key, _, _ in COLUMNS]
        current = self._sorted[0] if self._sorted else keys[0]
        key = keys[(keys.index(current) + 1) % len(keys)] if current in keys else keys[0]
        self._sorted = (key, False)
        self._more()
        self.query_one(DataTable).sort(key, key=sort_key)
        label = next(label for k, label, _ in COLUMNS if k == key)
        self._status(f"sorted by {label} · {self._label()}")

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = str(event.column_key.value)
        reverse = bool(self._sorted and self._sorted[0] == key and not self._sorted[1])
        self._sorted = (key, reverse)
        self._more()
        event.data_table.sort(event.column_key, key=sort_key, reverse=reverse)

    def action_repush(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return
        device_id = table.get_row_at(table.cursor_row)[0]
        self._repush(int(str(device_id)))

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
