"""Time to the first painted screen: `python -m odatui demo` against a bare Textual app (Header, Input, Footer),
side by side in one run. Each is started in a real pseudo-terminal (80×24) and timed from spawn until its screen
text arrives on the terminal; runs alternate so both see the same machine load. Target: odatui ≤ 1.2× bare.

    /tmp/venv/bin/python benchmarks/bench_startup.py
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import statistics
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = 7
BARE_APP = '''
from textual.app import App
from textual.widgets import Footer, Header, Input


class Bare(App):
    def compose(self):
        yield Header()
        yield Input(placeholder="bare app ready")  # the cursor sits on "b": match "app ready"
        yield Footer()


Bare().run()
'''


def time_to_text(argv: list[str], marker: bytes, env: dict[str, str], timeout: float = 30.0) -> float:
    """Seconds from spawn until `marker` has been written to the pty (i.e. painted)."""
    start = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen = b""
    try:
        while time.perf_counter() - start < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen = (seen + chunk)[-200_000:]
            if marker in seen:
                return time.perf_counter() - start
        raise RuntimeError(f"{argv} did not paint {marker!r} within {timeout}s; last output: {seen[-300:]!r}")
    finally:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
            time.sleep(0.02)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        os.close(fd)


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="odatui-bench-") as tmp:
        bare = Path(tmp) / "bare_app.py"
        bare.write_text(BARE_APP)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ODATUI_")}
        env.update(TERM="xterm-256color", COLUMNS="80", LINES="24", PYTHONPATH=str(REPO),
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
                   XDG_CONFIG_HOME=f"{tmp}/config", XDG_STATE_HOME=f"{tmp}/state", XDG_CACHE_HOME=f"{tmp}/cache")
        # One warm-up each: the first start after an install pays for .pyc compilation.
        time_to_text([sys.executable, str(bare)], b"app ready", env)
        time_to_text([sys.executable, "-m", "odatui", "demo"], b"Welcome to odatui", env)
        bare_times, demo_times = [], []
        for _ in range(RUNS):
            bare_times.append(time_to_text([sys.executable, str(bare)], b"app ready", env))
            demo_times.append(time_to_text([sys.executable, "-m", "odatui", "demo"], b"Welcome to odatui", env))
    bare_ms = statistics.median(bare_times) * 1000
    demo_ms = statistics.median(demo_times) * 1000
    return [
        {"name": "bare Textual app (Header, Input, Footer): first paint, median", "value": round(bare_ms, 1),
         "unit": "ms", "target": None},
        {"name": "odatui demo: first painted screen, median", "value": round(demo_ms, 1), "unit": "ms",
         "target": round(bare_ms * 1.2, 1)},
        {"name": "odatui demo / bare app", "value": round(demo_ms / bare_ms, 3), "unit": "ratio", "target": 1.2},
    ]


if __name__ == "__main__":
    for row in run():
        target = "" if row["target"] is None else f"  (target ≤ {row['target']})"
        print(f"{row['name']:<62} {row['value']:>9} {row['unit']}{target}")
