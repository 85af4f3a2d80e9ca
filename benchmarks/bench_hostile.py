"""Hostile answers: the peak memory of `odatui status --devices --json` when the WS1 device listing answers with an
endless chunked body, a gzip bomb (~1 MB that inflates to 1 GiB), a 400 MB JSON, or one page of 10⁶ devices
(the sandbox's hostile fault kinds, over real HTTPS). Every body goes through odatui.core.http_body's capped reader, so
each run must stop with one line naming the limit, under 300 MB peak RSS (issue 27's bound)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

REPO = Path(__file__).resolve().parents[1]
KINDS = ("endless", "gzip-bomb", "huge-json", "million-devices")
PEAK_MB = 300
# odatui in a grandchild, its peak RSS (KiB on Linux) printed last on stderr: the figure is that process's alone.
MEASURE = ("import resource, subprocess, sys\n"
           "run = subprocess.run([sys.executable, '-m', 'odatui', *sys.argv[1:]], stdin=subprocess.DEVNULL)\n"
           "print(f'PEAK_KB {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr)\n")


def run(quick: bool = False) -> list[dict[str, Any]]:
    import tempfile

    import httpx

    from odatui.cli.demo import start_demo
    from odatui.core.http import ssl_context
    from odatui.sandbox.server import Sandbox

    home = tempfile.mkdtemp(prefix="odatui-bench-hostile-")
    env = {**os.environ, **Sandbox.secret_env(), "XDG_STATE_HOME": home, "XDG_CACHE_HOME": home,
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    session = start_demo(psso_app="present", devices=20, seed=3)
    rows: list[dict[str, Any]] = []
    try:
        config = str(session.config_path)
        subprocess.run([sys.executable, "-m", "odatui", "apply", "--yes", "--config", config], env=env, cwd=REPO,
                       capture_output=True, check=True, timeout=300)
        for kind in KINDS[:2] if quick else KINDS:
            with httpx.Client(verify=ssl_context(str(session.sandbox.ca_path)), timeout=10) as c:
                c.post(f"{session.sandbox.url}/_sandbox/faults", json={"method": "GET", "times": 1, "fault": kind,
                                                                       "path": "/api/mdm/devices/search"})
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", MEASURE, "status", "--devices", "--json", "--config",
                                   config], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
            took = time.perf_counter() - started
            peak = int(done.stderr.strip().splitlines()[-1].split()[1]) / 1024
            named = "limit for one answer" in done.stderr
            rows.append({"name": f"hostile {kind}: peak RSS of status --devices", "value": round(peak, 1),
                         "unit": "MB", "target": PEAK_MB, "better": "lower",
                         "note": f"{took:.1f} s; {'the limit named' if named else 'NO LIMIT NAMED'}"})
    finally:
        session.close()
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['name']}: {row['value']} {row['unit']} (target ≤ {row['target']}) — {row['note']}")
