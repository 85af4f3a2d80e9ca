"""Child process of bench_devices: the wizard's device table (the Done screen's widget, a real Session) loading
every Mac of a rolled-out sandbox, with a probe on the app's event loop. Prints one JSON line of figures.
Not a benchmark itself."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_loop_lag import lag_probe  # noqa: E402  (the same probe as the full-run lag benchmark)


async def main(config_path: str) -> dict:
    from textual.app import App

    from odatui.tui.session import Session
    from odatui.tui.widgets.devices import DeviceTable

    session = Session(config_path)
    await asyncio.to_thread(session.load)

    class TableApp(App):
        CSS_PATH = str(Path(__file__).resolve().parents[1] / "odatui" / "tui" / "run.tcss")  # the Done screen's

        def compose(self):
            yield DeviceTable(session, id="device-table")

    lags: list[float] = []
    app = TableApp()
    async with app.run_test(size=(120, 40)) as pilot:
        async with lag_probe(lags):
            started = time.perf_counter()
            status = app.query_one("#devices-status")
            while not str(status.render()).startswith(("Macs:", "Macs: !")):
                await pilot.pause(0.05)
                if time.perf_counter() - started > 600:
                    raise TimeoutError("the table did not finish loading in 10 minutes")
            loaded = time.perf_counter() - started
        rows = app.query_one("#devices").row_count
    lags.sort()
    return {"rows": rows, "seconds": loaded, "p99_ms": lags[int(len(lags) * 0.99) - 1] * 1000,
            "max_ms": lags[-1] * 1000, "samples": len(lags), "status": str(status.render())[:200]}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
