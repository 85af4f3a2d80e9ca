"""Child process of bench_devices: the wizard's device table (the Done screen's widget, a real Session) loading
every Mac of a rolled-out sandbox, then scrolling page by page to the last Mac and sorting the whole fleet by name,
with a probe on the app's event loop. Prints one JSON line of figures (peak RSS of this process included).
Not a benchmark itself."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_loop_lag import lag_probe  # noqa: E402  (the same probe as the full-run lag benchmark)


async def main(config_path: str) -> dict:
    from textual.app import App

    from odatui.tui.session import Session
    from odatui.tui.widgets.devices import DeviceTable
    from odatui.tui.widgets.fleet_lines import FleetLines

    session = Session(config_path)
    await asyncio.to_thread(session.load)

    class TableApp(App):
        CSS_PATH = str(Path(__file__).resolve().parents[1] / "odatui" / "tui" / "run.tcss")  # the Done screen's

        def compose(self):
            yield DeviceTable(session, id="device-table")

    lags: list[float] = []
    app = TableApp()
    async with app.run_test(size=(120, 40)) as pilot:
        status = app.query_one("#devices-status")
        table = app.query_one(FleetLines)
        async with lag_probe(lags):
            started = time.perf_counter()
            while not str(status.render()).startswith(("Macs:", "Macs: !")):
                await pilot.pause(0.05)
                if time.perf_counter() - started > 600:
                    raise TimeoutError("the table did not finish loading in 10 minutes")
            loaded = time.perf_counter() - started
            table.focus()
            steps = 0
            while table.cursor_row < table.row_count - 1 and steps < 5_000:  # page by page to the last Mac
                await pilot.press("pagedown")
                steps += 1
            t = time.perf_counter()
            await pilot.press("s")  # sort the whole fleet by name
            while "sorted by Name" not in str(status.render()):
                await pilot.pause(0.01)
            sort_s = time.perf_counter() - t
            await pilot.press("home")
            await pilot.pause(0.1)
        rows = table.row_count
    lags.sort()
    return {"rows": rows, "seconds": loaded, "p99_ms": lags[int(len(lags) * 0.99) - 1] * 1000,
            "max_ms": lags[-1] * 1000, "samples": len(lags), "status": str(status.render())[:200],
            "scroll_steps": steps, "sort_s": sort_s,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
