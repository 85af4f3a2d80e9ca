"""`odatui sandbox` in the foreground, as an admin starts it: the tests that drive the command read its banner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def start_sandbox_cli(*args: str, timeout: float = 30) -> tuple[subprocess.Popen, str]:
    """Start `odatui sandbox --port 0 ARGS…`; (the process, its banner up to "Press Ctrl-C")."""
    proc = subprocess.Popen([sys.executable, "-m", "odatui", "sandbox", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy())
    banner = ""
    deadline = time.monotonic() + timeout
    while "Press Ctrl-C" not in banner:
        line = proc.stdout.readline()
        assert line or proc.poll() is None, f"sandbox exited early:\n{banner}"
        banner += line
        assert time.monotonic() < deadline, f"no banner in time:\n{banner}"
    return proc, banner


def stop_sandbox_cli(proc: subprocess.Popen) -> None:
    """Ctrl-C, as the admin stops it; killed if it does not end within 15 s."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
