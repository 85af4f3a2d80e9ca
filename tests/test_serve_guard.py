"""`odatui serve` as a real subprocess, probed with real HTTP and websocket requests (aiohttp): without the per-run
token, with a foreign Origin or a rebinding Host, every request gets 403 and the wizard process is never started;
with the printed URL the page loads and its websocket drives the wizard."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "ODATUI_"))}
    env.update(TERM="xterm-256color", PYTHONPATH=str(REPO), HOME=str(home), XDG_STATE_HOME=str(home / "state"),
               XDG_CONFIG_HOME=str(home / "config"), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "odatui", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = proc.stdout.readline()
    match = re.search(rf"http://127\.0\.0\.1:{port}/\?token=([A-Za-z0-9_-]{{40,}})", first)
    assert match, first
    deadline = time.monotonic() + 20
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert time.monotonic() < deadline and proc.poll() is None, "serve did not listen"
        time.sleep(0.05)
    yield port, match.group(1), proc
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_printed_url_has_a_fresh_long_token(served):
    _port, token, _proc = served
    assert len(token) >= 40  # 32 random bytes, urlsafe base64


@pytest.mark.parametrize("path, headers, why", [
    ("/", {}, "no token"),
    ("/?token=wrong", {}, "wrong token"),
    ("/static/js/textual.js", {}, "static file, no token"),
    ("/?token={token}", {"Origin": "http://evil.example"}, "foreign origin"),
    ("/?token={token}", {"Origin": "http://127.0.0.1:1"}, "another port's origin"),
    ("/?token={token}", {"Host": "evil.example:{port}"}, "DNS rebinding host"),
    ("/?token={token}", {"Host": "evil.example@127.0.0.1:{port}"}, "host with userinfo"),
])
async def test_http_without_token_or_with_foreign_origin_gets_403(served, path, headers, why):
    port, token, _proc = served
    headers = {k: v.format(port=port) for k, v in headers.items()}
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}{path.format(token=token)}", headers=headers) as reply:
            assert reply.status == 403, why
            assert "set-cookie" not in reply.headers


@pytest.mark.parametrize("cookie, origin", [
    (None, None),
    ("wrong", "http://127.0.0.1:{port}"),
    ("{token}", "http://evil.example"),
    ("{token}", "null"),
])
async def test_websocket_refused_never_starts_the_wizard(served, cookie, origin):
    port, token, proc = served
    headers = {"Origin": origin.format(port=port)} if origin else {}
    if cookie:
        headers["Cookie"] = f"odatui-token-{port}={cookie.format(token=token)}"
    before = set(_children(proc.pid))
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(f"ws://127.0.0.1:{port}/ws?width=80&height=24", headers=headers)
    assert refused.value.status == 403
    time.sleep(0.3)
    assert set(_children(proc.pid)) - before == set(), "a refused websocket started the wizard"


async def test_tokened_url_sets_cookie_and_websocket_drives_the_wizard(served):
    """The positive control: the same probes succeed with the printed token, so the 403s above are the guard."""
    port, token, proc = served
    origin = f"http://127.0.0.1:{port}"
    # unsafe=True: aiohttp's jar otherwise drops cookies set by an IP-address host (browsers keep them).
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{origin}/?token={token}") as page:
            assert page.status == 200
            assert f"ws://127.0.0.1:{port}/ws" in await page.text()
            assert page.headers["Referrer-Policy"] == "no-referrer"
            set_cookie = page.headers["Set-Cookie"]
            assert f"odatui-token-{port}=" in set_cookie and "HttpOnly" in set_cookie and "Strict" in set_cookie
        async with http.get(f"{origin}/static/js/textual.js") as js:  # the cookie now authorises the page's files
            assert js.status == 200
        received = b""
        async with http.ws_connect(f"ws://127.0.0.1:{port}/ws?width=100&height=30", headers={"Origin": origin},
                                   max_msg_size=0) as ws:
            assert _children(proc.pid), "the wizard process was not started"
            deadline = time.monotonic() + 30
            while b"Welcome to odatui" not in received and time.monotonic() < deadline:
                try:
                    msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    break
                if msg.type == aiohttp.WSMsgType.BINARY:
                    received += msg.data
                elif msg.type == aiohttp.WSMsgType.TEXT:
                    received += msg.data.encode()
                else:
                    break
        assert b"Welcome to odatui" in received
