"""Full apply vs its dependency bound: with the sandbox at 100 ms per request, how long the engine takes for a
whole rollout compared to the sum of latencies along the longest dependency chain (target ≤ 1.2×).

The sandbox runs in its own process (`odatui sandbox`), as a tenant would, so it does not share odatui's
interpreter. Requests per step are counted in a first whole apply at 0 ms, each request for the step whose task
sent it; the longest chain is the path through the `needs` DAG with the most requests. The timed pass is one
ordinary `Engine.run()` on a fresh sandbox at 100 ms.

    /tmp/venv/bin/python benchmarks/bench_apply.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from benchmarks._sandbox import SandboxProcess  # noqa: E402

LATENCY_MS = 100
TARGET = 1.2


def critical_chain(engine: Any, counts: dict[str, int]) -> tuple[int, list[str]]:
    """The chain through `needs` with the most requests: (requests, step ids)."""
    best: dict[str, tuple[int, list[str]]] = {}
    for sid in engine.order:
        before = max((best[n] for n in engine.steps[sid].needs), default=(0, []), key=lambda b: b[0])
        best[sid] = (before[0] + counts[sid], before[1] + [sid])
    return max(best.values(), key=lambda b: b[0])


def count_requests(work: Path) -> tuple[dict[str, int], int, list[str]]:
    """Requests per step in one whole apply at 0 ms, counted where they are sent: each step's task carries its id
    in a context variable, and every HTTP request of the odatui clients is counted for the step that sent it. (Steps
    run one at a time with `only=[step]` re-check what earlier steps created, and counted three times as many.)"""
    import contextvars

    import httpx

    from odatui.engine.step_run import StepExecution  # one step's run, in its own task

    step: contextvars.ContextVar[str] = contextvars.ContextVar("bench_step", default="(none)")
    counts: dict[str, int] = {}
    execute, send = StepExecution.execute, httpx.AsyncClient.send

    async def counted_step(self: Any) -> None:
        step.set(self.sid)  # the step's own task: its context only
        await execute(self)

    async def counted_send(self: Any, request: Any, **kw: Any) -> Any:
        counts[step.get()] = counts.get(step.get(), 0) + 1
        return await send(self, request, **kw)

    StepExecution.execute, httpx.AsyncClient.send = counted_step, counted_send  # type: ignore[method-assign]
    try:
        with SandboxProcess(work / "count", 0) as sb:
            engine = sb.engine(work / "count" / "runs")
            result = asyncio.run(engine.run())
            if result.exit_code != 0:
                raise RuntimeError(f"the counting apply did not succeed: {result.summary}")
            counts = {sid: counts.get(sid, 0) for sid in engine.order}
            chain_requests, chain = critical_chain(engine, counts)
    finally:
        StepExecution.execute, httpx.AsyncClient.send = execute, send  # type: ignore[method-assign]
    return counts, chain_requests, chain


def timed_apply(work: Path) -> tuple[float, int]:
    with SandboxProcess(work, LATENCY_MS) as sb:
        engine = sb.engine(work / "runs")
        started = time.perf_counter()
        result = asyncio.run(engine.run())
        elapsed = time.perf_counter() - started
        if result.exit_code != 0:
            raise RuntimeError(f"the timed apply did not succeed: {result.summary}")
        return elapsed, sb.requests_total()


def run(quick: bool = False) -> list[dict[str, Any]]:
    quick = quick or os.environ.get("ODATUI_BENCH_QUICK") == "1"
    rounds = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="odatui-bench-apply-") as tmp:
        work = Path(tmp)
        counts, chain_requests, chain = count_requests(work)
        times, totals = [], []
        for i in range(rounds):
            elapsed, total = timed_apply(work / f"timed-{i}")
            times.append(elapsed)
            totals.append(total)
    bound = chain_requests * LATENCY_MS / 1000
    strict = (chain_requests - (counts["verify"] - 1 if "verify" in chain and counts["verify"] else 0)) * LATENCY_MS / 1000
    wall = statistics.median(times)
    per_step = ", ".join(f"{sid} {n}" for sid, n in counts.items())
    return [
        {"name": "apply @100 ms: requests per step", "value": sum(counts.values()), "unit": "requests", "target": None,
         "note": per_step},
        {"name": "apply @100 ms: longest chain", "value": chain_requests, "unit": "requests", "target": None,
         "note": " → ".join(f"{sid} ({counts[sid]})" for sid in chain)},
        {"name": "apply @100 ms: chain latency bound", "value": round(bound, 2), "unit": "s", "target": None},
        {"name": "apply @100 ms: full apply wall time", "value": round(wall, 2), "unit": "s", "target": None,
         "note": f"median of {rounds}: " + ", ".join(f"{t:.2f}" for t in times) + f"; {totals[0]} requests in all"},
        {"name": "apply @100 ms: wall ÷ chain bound", "value": round(wall / bound, 3), "unit": "×",
         "target": TARGET, "better": "lower"},
        # verify sends its four independent reads together: counted as one round trip, the bound is tighter.
        {"name": "apply @100 ms: wall ÷ chain bound (verify's parallel reads as one round)",
         "value": round(wall / strict, 3), "unit": "×", "target": TARGET, "better": "lower",
         "note": f"bound {strict:.2f} s"},
        {"name": "apply @100 ms: sum of all latencies ÷ wall", "value": round(totals[0] * LATENCY_MS / 1000 / wall, 2),
         "unit": "×", "target": None, "note": "how much the concurrent branches save over one request at a time"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
