"""The Done screen's device table on its own (Textual Pilot): a screenful while loading, more as the cursor nears
the end, a sort that orders every listed Mac, failing-only, and the cap on what it holds."""

from __future__ import annotations

from textual.app import App
from textual.widgets import DataTable

from odatui.tui.widgets import devices as dv
from odatui.ws1.devices import DeviceRow, Summary


class FleetSession:
    def __init__(self, count: int) -> None:
        self.count = count
        self.calls = 0

    async def device_rows(self, on_rows):
        self.calls += 1
        rows = [DeviceRow(20_000 - i, f"C02{i:09d}", f"mac-{i:05d}", "13.6.9" if i % 4 == 0 else "15.1", f"u{i}", True,
                          "installed", "installed", "installed", None,
                          ["macOS 13.6.9 is below the floor 14"] if i % 4 == 0 else [])
                for i in range(self.count)]
        for start in range(0, len(rows), 500):  # as WS1's pages would arrive
            on_rows(rows[start:start + 500], [])
        return Summary([42], devices=self.count, failing=sum(1 for r in rows if r.reasons))


class TableApp(App):
    def __init__(self, session) -> None:
        super().__init__()
        self.session = session

    def compose(self):
        yield dv.DeviceTable(self.session, id="device-table")


async def _loaded(pilot) -> str:
    status = pilot.app.query_one("#devices-status")
    for _ in range(200):
        if str(status.render()).startswith("Macs:"):
            return str(status.render())
        await pilot.pause(0.02)
    raise AssertionError(f"the table did not finish loading: {status.render()}")


async def test_screenful_first_more_near_the_end_and_sort_orders_all():
    session = FleetSession(1_500)
    app = TableApp(session)
    async with app.run_test(size=(120, 30)) as pilot:
        label = await _loaded(pilot)
        table = app.query_one(DataTable)
        assert table.row_count == dv.FIRST
        assert "1500 Macs in the smart group, 375 with a reason" in label
        assert f"the table keeps the first {dv.MAX_ROWS:,}" in label  # 1,500 listed, at most MAX_ROWS kept
        table.focus()
        table.move_cursor(row=table.row_count - 1)
        await pilot.pause()
        assert table.row_count == dv.FIRST + dv.CHUNK  # the cursor near the end brought the next rows
        await pilot.press("s")  # sort by Name: every kept row first
        await pilot.pause()
        assert table.row_count == dv.MAX_ROWS
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert names == sorted(names)


async def test_failing_only_reloads_with_the_failing_macs():
    session = FleetSession(200)
    app = TableApp(session)
    async with app.run_test(size=(120, 30)) as pilot:
        await _loaded(pilot)
        app.query_one(DataTable).focus()
        await pilot.press("f")
        await pilot.pause(0.1)
        label = await _loaded(pilot)
        table = app.query_one(DataTable)
        assert session.calls == 2 and "showing failing only" in label
        assert table.row_count == 40 and all(str(table.get_row_at(i)[6]) for i in range(table.row_count))
