"""Event-loop lag during a full demo run, in-process: a probe task sleeps 10 ms over and over and records how much
later than asked it wakes, while the Engine runs every step against start_demo(psso_app="present") (sandbox in
its own thread, as `odatui demo --unattended` does). p99 oversleep is what a TUI user would feel as a stutter.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

PROBE_S = 0.010


async def _measure(rounds: int) -> tuple[list[float], list[float], dict[str, str]]:
    from odatui.demo import start_demo
    from odatui.engine import Engine
    from odatui.state import StateStore

    lags: list[float] = []
    walls: list[float] = []
    summary: dict[str, str] = {}
    for _ in range(rounds):
        session = await asyncio.to_thread(start_demo, psso_app="present")
        try:
            stop = asyncio.Event()

            async def probe() -> None:
                while not stop.is_set():
                    t = time.perf_counter()
                    await asyncio.sleep(PROBE_S)
                    lags.append(time.perf_counter() - t - PROBE_S)

            task = asyncio.create_task(probe())
            engine = Engine(session.config, session.secrets, StateStore(session.config.target_key()))
            t = time.perf_counter()
            result = await engine.run()
            walls.append(time.perf_counter() - t)
            stop.set()
            await task
            summary = result.summary
            if result.exit_code != 0:
                raise RuntimeError(f"the demo run did not finish cleanly: {result.summary}")
        finally:
            await asyncio.to_thread(session.close)
    return lags, walls, summary


def run(quick: bool = False) -> list[dict[str, Any]]:
    import tempfile

    quick = quick or os.environ.get("ODATUI_BENCH_QUICK") == "1"
    with tempfile.TemporaryDirectory() as home:  # keep the run state and logs out of the user's own dirs
        for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
            os.environ[var] = os.path.join(home, var.lower())
        lags, walls, _ = asyncio.run(_measure(1 if quick else 3))
    ms = sorted(x * 1000 for x in lags)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return [
        {"name": "loop lag: p99 oversleep of a 10 ms probe", "value": round(p99, 2), "unit": "ms", "target": 50,
         "note": f"{len(ms)} samples"},
        {"name": "loop lag: max oversleep", "value": round(ms[-1], 2), "unit": "ms", "target": None},
        {"name": "loop lag: median oversleep", "value": round(statistics.median(ms), 2), "unit": "ms", "target": None},
        {"name": "loop lag: full demo run wall time", "value": round(statistics.median(walls), 2), "unit": "s",
         "target": None},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
