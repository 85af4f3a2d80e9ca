"""The Done screen's device table on its own (Textual Pilot): the whole fleet is kept and scrolls (no cap), a
sort and the failing-only filter order every listed Mac off the event loop, and a Mac's name is never markup."""

from __future__ import annotations

from textual.app import App

from odatui.tui.widgets import devices as dv
from odatui.tui.widgets.fleet_lines import FleetLines
from odatui.mdm.ws1.api.devices import DeviceRow, Summary


class FleetSession:
    def __init__(self, count: int) -> None:
        self.count = count
        self.calls = 0

    async def device_rows(self, on_rows, progress=None):
        self.calls += 1
        rows = [DeviceRow(20_000 - i, f"C02{i:09d}", f"mac-{(i * 7919) % self.count:05d}",
                          "13.6.9" if i % 4 == 0 else "15.1", f"u{i}", True, "installed", "installed", "installed",
                          None, ["macOS 13.6.9 is below the floor 14"] if i % 4 == 0 else [])
                for i in range(self.count)]
        summary = Summary([42], devices=0, failing=0)
        for start in range(0, len(rows), 500):  # as WS1's pages would arrive
            on_rows(rows[start:start + 500], [])
            summary.devices += len(rows[start:start + 500])
            if progress:
                progress(summary)
        return Summary([42], devices=self.count, failing=sum(1 for r in rows if r.reasons))


class TableApp(App):
    def __init__(self, session) -> None:
        super().__init__()
        self.session = session

    def compose(self):
        yield dv.DeviceTable(self.session, id="device-table")


async def _wait(pilot, what: str) -> str:
    status = pilot.app.query_one("#devices-status")
    for _ in range(300):
        if str(status.render()).startswith("Macs:") and what in str(status.render()):
            return str(status.render())
        await pilot.pause(0.02)
    raise AssertionError(f"no {what!r} on the status line: {status.render()}")


async def test_every_mac_is_kept_and_the_end_of_the_fleet_scrolls_into_view():
    session = FleetSession(5_000)  # five times the old 1,000-row cap
    app = TableApp(session)
    async with app.run_test(size=(120, 30)) as pilot:
        label = await _wait(pilot, "Macs in the smart group")
        table = app.query_one(FleetLines)
        assert table.row_count == 5_000 and "5,000 Macs in the smart group, 1,250 with a reason" in label
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == 4_999 and table.scroll_offset.y > 4_900  # scrolled to the last Mac
        assert "mac-" in "".join(s.text for s in table.render_line(table.size.height - 1))
        await pilot.press("home", "pagedown")
        await pilot.pause()
        assert table.cursor_row == table.size.height - 1 and table.scroll_offset.y <= 1  # one page down


async def test_sort_and_failing_only_order_the_whole_fleet():
    session = FleetSession(3_000)
    app = TableApp(session)
    async with app.run_test(size=(120, 30)) as pilot:
        await _wait(pilot, "Macs in the smart group")
        table = app.query_one(FleetLines)
        table.focus()
        await pilot.press("s")  # by Name
        await _wait(pilot, "sorted by Name")
        names = [table.get_row_at(i)[1] for i in range(table.row_count)]
        assert len(names) == 3_000 and names == sorted(names, key=str.casefold)
        await pilot.press("f")
        await _wait(pilot, "showing failing only")
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert len(rows) == 750 and all(r[dv.REASONS] for r in rows)  # every failing Mac, still sorted
        assert [r[1] for r in rows] == sorted((r[1] for r in rows), key=str.casefold)
        assert session.calls == 1  # filtered what was listed: no second listing
        await pilot.press("f")
        await _wait(pilot, "showing all")
        assert table.row_count == 3_000


async def test_a_mac_named_like_markup_shows_as_typed():
    class Odd(FleetSession):
        async def device_rows(self, on_rows, progress=None):
            on_rows([DeviceRow(1, "S", "[b]mac[/b]", "15.1", "u", True, "installed", "installed", "installed")], [])
            return Summary([42], devices=1, failing=0)

    app = TableApp(Odd(1))
    async with app.run_test(size=(120, 30)) as pilot:
        await _wait(pilot, "1 Macs in the smart group")
        line = "".join(s.text for s in app.query_one(FleetLines).render_line(1))
        assert "[b]mac[/b]" in line
