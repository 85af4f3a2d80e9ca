"""The real `python -m odatui demo` in a real terminal (tmux: send-keys, capture-pane) walked to the Done screen,
and `odatui serve` opened in headless Chromium, which must receive the Welcome screen over its websocket."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "ODATUI_"))}
    env.update(TERM="xterm-256color", PYTHONPATH=str(REPO), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    return env


class Tmux:
    def __init__(self, cols: int, rows: int, command: list[str]) -> None:
        self.socket = f"odatui-test-{os.getpid()}-{time.monotonic_ns()}"
        self.run("new-session", "-d", "-s", "t", "-x", str(cols), "-y", str(rows),
                 " ".join(subprocess.list2cmdline([c]) for c in command) + "; echo EXIT=$?; sleep 30")

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True,
                              env=_env(), cwd=REPO).stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", "t", key)
            time.sleep(0.15)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.2)
        raise AssertionError(f"{text!r} did not appear within {timeout}s; the terminal shows:\n{self.screen()}")

    def scroll_to(self, text: str, pages: int = 6) -> str:
        """PgDn until `text` is on the screen (each page given time to load), or fail showing the screen."""
        for _ in range(pages):
            try:
                return self.wait_for(text, timeout=10)
            except AssertionError:
                self.keys("NPage")
        return self.wait_for(text, timeout=20)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_demo_in_tmux_to_done():
    term = Tmux(80, 24, [sys.executable, "-m", "odatui", "demo"])
    try:
        term.wait_for("Welcome to odatui")
        term.wait_for("Sandbox answers pre-filled", timeout=30)
        term.keys("C-n")
        term.wait_for("Okta org URL")
        term.keys("C-n")
        term.wait_for("Smart group")
        term.keys("C-n")
        term.wait_for("Okta Verify .pkg")
        term.keys("C-n")
        term.wait_for("Press Start", timeout=60)
        term.keys("C-n")
        # okta.app: the PSSO app starts absent in the demo; the run screen selects the step that needs the admin.
        term.wait_for("What to do", timeout=60)
        term.keys("a")  # the demo's "simulate the admin adding the app"
        term.wait_for("run finished", timeout=90)
        term.keys("n")
        screen = term.wait_for("Rollout configured", timeout=30)
        assert "SANDBOX" in screen
        assert "client ID" in screen  # what exists now, with ids, at the top
        # The body has the focus: PgDn reaches the rollout line, the users' registration steps and the exported
        # files at 80×24 (what is created, readiness warnings and the export folder come first).
        term.scroll_to("Devices in the smart group")
        screen = term.scroll_to("the whole profile")
        assert "Registration Required" in screen or "sign in with Okta" in screen
        term.keys("q")
        term.wait_for("EXIT=0", timeout=20)
    finally:
        term.close()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_demo_in_tmux_on_the_linux_console_without_colour():
    """TERM=linux (8 colours, as on a server's console) with NO_COLOR=1: it paints, and the keys still work."""
    term = Tmux(80, 24, ["env", "TERM=linux", "NO_COLOR=1", sys.executable, "-m", "odatui", "demo"])
    try:
        term.wait_for("Welcome to odatui")
        term.wait_for("Sandbox answers pre-filled", timeout=30)
        term.keys("C-n")
        term.wait_for("Okta org URL")
        term.keys("Tab", "Escape")
        term.wait_for("Welcome to odatui")
        term.keys("C-q")
        term.wait_for("EXIT=0", timeout=20)
    finally:
        term.close()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
@pytest.mark.parametrize("sig, code", [("TERM", 143), ("HUP", 129)])
def test_wizard_ends_on_sigterm_and_sighup_with_the_terminal_restored(sig, code, tmp_path):
    """A closing SSH session (SIGHUP) or a supervisor (SIGTERM): Textual shuts down as on Ctrl-C, the terminal is
    back in canonical mode (not left raw), and the exit code says which signal (README: exit codes)."""
    import signal as signals

    script = tmp_path / "wizard.sh"
    script.write_text(f"'{sys.executable}' -m odatui demo\necho CODE=$?\nstty -a | grep -o -- '-*icanon' | "
                      "sed 's/^/MODE=/'\n")
    term = Tmux(80, 24, ["sh", str(script)])
    try:
        term.wait_for("Welcome to odatui")
        shell = int(term.run("list-panes", "-t", "t", "-F", "#{pane_pid}").split()[0])
        wizard = next(int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) in
                      {shell, *(int(q) for q in os.listdir("/proc") if q.isdigit() and _parent(int(q)) == shell)}
                      and "odatui" in _cmdline(int(p)))
        os.kill(wizard, getattr(signals, f"SIG{sig}"))
        screen = term.wait_for(f"CODE={code}", timeout=20)
        term.wait_for("MODE=", timeout=5)
        assert "MODE=icanon" in term.screen() and "Traceback" not in screen
    finally:
        term.close()


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "headless_shell"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.slow
@pytest.mark.skipif(_chromium() is None, reason="no Chromium (apt-get install -y chromium)")
async def test_serve_in_headless_chromium(tmp_path):
    """Chromium loads the served page, which opens the websocket and starts the wizard; the frames it receives
    (read through the DevTools protocol) carry the Welcome screen."""
    import base64

    import aiohttp

    port, devtools = _free_port(), _free_port()
    server = subprocess.Popen([sys.executable, "-m", "odatui", "serve", "--port", str(port)], env=_env(), cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    profile = tempfile.mkdtemp(prefix="odatui-chromium-")
    browser = None
    try:
        url = server.stdout.readline().decode().split(" at ", 1)[1].strip()  # the tokened URL, printed once
        assert "?token=" in url, url
        _wait_port(port)
        browser = subprocess.Popen([_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                                    "--disable-background-networking", "--no-first-run", f"--user-data-dir={profile}",
                                    f"--remote-debugging-port={devtools}", "about:blank"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_port(devtools)
        deadline = time.monotonic() + 20
        while True:
            try:
                pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{devtools}/json/list", timeout=2))
                page = next(p for p in pages if p.get("type") == "page")
                break
            except (OSError, StopIteration):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        received = b""
        async with aiohttp.ClientSession() as http, http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as cdp:
            await cdp.send_json({"id": 1, "method": "Network.enable"})
            await cdp.send_json({"id": 2, "method": "Page.navigate", "params": {"url": url}})
            deadline = time.monotonic() + 45
            while b"Welcome to odatui" not in received and time.monotonic() < deadline:
                try:
                    msg = await cdp.receive_json(timeout=max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    break
                if msg.get("method") == "Network.webSocketFrameReceived":
                    frame = msg["params"]["response"]
                    data = frame["payloadData"]
                    received += base64.b64decode(data) if frame.get("opcode") == 2 else data.encode()
        assert b"Welcome to odatui" in received, received[-2000:]
    finally:
        if browser is not None:
            browser.terminate()
            browser.wait(10)
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(profile, ignore_errors=True)
