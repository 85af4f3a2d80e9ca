"""Per-device status at fleet scale: `odatui status --devices --json` for 50,000 Macs with 50 ms latency, in its own
process (peak RSS from wait4), against the bound of its longest request chain; and the per-Mac lookups (profile
failures, certificates: one request per Mac) at 5,000 Macs against their own bound.

The sandbox runs in another process (`odatui sandbox`), so the figures are odatui's, not the emulator's; the
emulator still builds every page in Python on the same 2 shared cores, which is part of the wall time.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

LATENCY_MS = 50
FLEET = 50_000
DETAIL_FLEET = 5_000
RSS_GOAL_MB = 150
RATIO_GOAL = 3.0
LAG_GOAL_MS = 50


def _env(work: Path) -> dict[str, str]:
    from odatui.sandbox.server import Sandbox

    return {**os.environ, **Sandbox.secret_env(), "XDG_STATE_HOME": str(work / "state"),
            "XDG_CONFIG_HOME": str(work / "config"), "XDG_DATA_HOME": str(work / "data"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}


def _child(args: list[str], env: dict[str, str], out: Path) -> tuple[float, float, int]:
    """Run `python -m odatui ARGS` with stdout to a file; (wall s, peak RSS MB, exit code)."""
    repo = Path(__file__).resolve().parents[1]
    with out.open("w") as fh:
        t = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "odatui", *args], cwd=repo, env=env, stdout=fh,
                                stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"odatui {' '.join(args)} exited {proc.returncode}: {proc.stderr.read()[-400:]}")
    return wall, usage.ru_maxrss / 1024, proc.returncode


def _rollout(sb: Any, work: Path) -> tuple[Path, dict[str, str]]:
    """Apply the whole plan against the sandbox (as `odatui apply` would) and let the fleet check in."""
    import httpx

    from odatui.config import save_config
    from odatui.http import ssl_context

    env = _env(work)
    config = save_config(sb.config, work / "odatui.toml")
    subprocess.run([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(config)], env=env,
                   cwd=Path(__file__).resolve().parents[1], check=True, capture_output=True, timeout=900)
    with httpx.Client(verify=ssl_context(sb.config.ws1.ca_bundle), timeout=10) as admin:
        admin.post(f"{sb.config.ws1.api_url}/_sandbox/ws1/clock", json={"advance_s": 3600}).raise_for_status()
    return config, env


def _chain_rounds(summary: dict[str, Any], per_device: bool) -> int:
    """Round trips on the critical path with PAGE_CONCURRENCY pages in flight: smart group members ∥ profile
    lookup ∥ first device page → first page of each listing → the rest of the listings → the rest of the device
    pages (their per-Mac lookups DETAIL_CONCURRENCY at a time)."""
    from odatui.ws1.client import PAGE_CONCURRENCY, PAGE_SIZE
    from odatui.ws1.devices import DETAIL_CONCURRENCY

    p, app = summary["profile"], summary["okta_verify"]
    listings = [p.get("installed", 0), p.get("pending", 0) + p.get("failed", 0), app.get("installed", 0)]
    listing_pages = sum(max(1, math.ceil(n / PAGE_SIZE)) for n in listings)
    device_pages = math.ceil(summary["devices"] / 0.85 / PAGE_SIZE)  # the OG's Macs, members and not
    rounds = 2 + math.ceil((listing_pages - len(listings)) / PAGE_CONCURRENCY) + math.ceil(
        (device_pages - 1) / PAGE_CONCURRENCY)
    if per_device:
        lookups = summary["requests"] - (2 + listing_pages + device_pages)
        rounds += math.ceil(lookups / DETAIL_CONCURRENCY)
    return rounds


def _table_lag(config: Path, env: dict[str, str]) -> dict[str, Any]:
    """The wizard's device table loading the same fleet, event-loop lag probed (benchmarks/_table_lag.py)."""
    script = Path(__file__).resolve().parent / "_table_lag.py"
    run = subprocess.run([sys.executable, str(script), str(config)], env=env, capture_output=True, text=True,
                         timeout=900, cwd=script.parents[1])
    if run.returncode != 0:
        raise RuntimeError(f"the table benchmark failed: {run.stderr[-400:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def _measure(sb_devices: int, per_device: bool, work: Path, table: bool = False) -> dict[str, Any]:
    from benchmarks._sandbox import SandboxProcess

    with SandboxProcess(work / "sb", latency_ms=LATENCY_MS, devices=sb_devices) as sb:
        config, env = _rollout(sb, work)
        args = ["status", "--devices", "--json", "--config", str(config)] + ([] if per_device else ["--bulk-only"])
        cpu = _cpu_seconds(sb.proc.pid)
        wall, rss, _ = _child(args, env, work / "out.json")
        emulator_cpu = _cpu_seconds(sb.proc.pid) - cpu
        lag = _table_lag(config, env) if table else None
    doc = json.loads((work / "out.json").read_text())
    summary = doc["summary"]
    rounds = _chain_rounds(summary, per_device)
    bound = rounds * LATENCY_MS / 1000
    return {"devices": len(doc["devices"]), "summary": summary, "wall": wall, "rss": rss, "rounds": rounds,
            "bound": bound, "listing": summary["seconds"], "emulator_cpu": emulator_cpu, "table": lag}


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (the emulator), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(quick: bool = False) -> list[dict[str, Any]]:
    quick = quick or os.environ.get("ODATUI_BENCH_QUICK") == "1"
    fleet, detail_fleet = (5_000, 1_000) if quick else (FLEET, DETAIL_FLEET)
    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        bulk = _measure(fleet, False, Path(tmp) / "bulk", table=True)
    s = bulk["summary"]
    label = f"{fleet // 1000}k"
    rows += [
        {"name": f"status --devices {label} @{LATENCY_MS} ms: Macs listed", "value": bulk["devices"], "unit": "Macs",
         "target": None, "note": f"{s['failing']} with reasons; {s['requests']} requests; --bulk-only"},
        {"name": f"status --devices {label} @{LATENCY_MS} ms: listing time", "value": round(bulk["listing"], 2),
         "unit": "s", "target": None, "note": "inside the process, first request to last row"},
        {"name": f"status --devices {label} @{LATENCY_MS} ms: chain bound", "value": round(bulk["bound"], 2),
         "unit": "s", "target": None, "note": f"{bulk['rounds']} round trips on the critical path × {LATENCY_MS} ms"},
        {"name": f"status --devices {label} @{LATENCY_MS} ms: listing ÷ chain bound",
         "value": round(bulk["listing"] / bulk["bound"], 2), "unit": "×", "target": RATIO_GOAL, "better": "lower",
         "note": f"the emulator used {bulk['emulator_cpu']:.1f} s of CPU building those answers (one Python "
                 "process, same 2 shared cores)"},
        {"name": f"status --devices {label}: process wall time", "value": round(bulk["wall"], 2), "unit": "s",
         "target": None, "note": "start-up, config, keychain-less secrets, TLS, listing, JSON out"},
        {"name": f"status --devices {label}: peak RSS", "value": round(bulk["rss"], 1), "unit": "MB",
         "target": RSS_GOAL_MB, "better": "lower"},
        {"name": f"wizard device table {label} @{LATENCY_MS} ms: event-loop lag p99", "value":
         round(bulk["table"]["p99_ms"], 1), "unit": "ms", "target": LAG_GOAL_MS, "better": "lower",
         "note": f"{bulk['table']['rows']} rows in {bulk['table']['seconds']:.1f} s; max "
                 f"{bulk['table']['max_ms']:.0f} ms over {bulk['table']['samples']} probes of 10 ms"},
    ]
    with tempfile.TemporaryDirectory() as tmp:
        detail = _measure(detail_fleet, True, Path(tmp) / "detail")
    d = detail["summary"]
    label = f"{detail_fleet // 1000}k"
    rows += [
        {"name": f"status --devices {label} per-Mac lookups @{LATENCY_MS} ms: listing time",
         "value": round(detail["listing"], 2), "unit": "s", "target": None,
         "note": f"{d['requests']} requests (profile status of Macs without it, certificates of Macs with it)"},
        {"name": f"status --devices {label} per-Mac lookups: listing ÷ chain bound",
         "value": round(detail["listing"] / detail["bound"], 2), "unit": "×", "target": RATIO_GOAL,
         "better": "lower", "note": f"bound {detail['bound']:.1f} s = {detail['rounds']} round trips"},
        {"name": f"status --devices {label} per-Mac lookups: peak RSS", "value": round(detail["rss"], 1),
         "unit": "MB", "target": RSS_GOAL_MB, "better": "lower"},
        {"name": "devices: machine load average (1 min) before / after", "value": round(os.getloadavg()[0], 1),
         "unit": "", "target": None, "note": f"{load_before:.1f} before; 2 cores shared with other work"},
    ]
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
