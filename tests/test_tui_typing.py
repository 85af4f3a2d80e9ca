"""Keys typed in a burst (password-manager auto-type, a keyboard macro, a slow SSH link delivering keys in lumps)
arrive exactly, in order, in every wizard field: under Pilot with every key queued before any is handled, and in a
real terminal (tmux) with a long string sent in one `send-keys`."""

from __future__ import annotations

import shutil
import sys
import time

import pytest
from textual import events

from odatui.config import Config
from odatui.tui.app import OdatuiApp
from odatui.tui.screens.okta import OktaScreen
from odatui.tui.session import Session
from odatui.tui.widgets.field import Field, FieldInput

URL = "https://burst-typing-check-0123456789.okta.com/abcdefghijklmnopqrstuvwxyz"  # 71 characters
TOKEN = "00aBcDeFgHiJkLmNoPqRsTuVwXyZ-0123456789_abcdefghijklmnopqrstuvwxyz"  # 67 characters


def burst(app, *keys: str) -> None:
    """Queue every key at once, as a terminal delivering one read of many bytes does (no pause, no idle wait)."""
    for key in keys:
        if len(key) == 1:
            app.post_message(events.Key(key, key))
        else:
            app.post_message(events.Key(key, None))


async def test_burst_of_keys_reaches_url_and_token_exactly(monkeypatch, tmp_path):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    session = Session(str(tmp_path / "odatui.toml"))
    session.config = Config()
    app = OdatuiApp(session, still=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(OktaScreen())
        await pilot.pause()
        url = app.screen.query_one("#org_url", FieldInput)
        token = app.screen.query_one("#api_token", FieldInput)
        url.value = "https://old.okta.com"
        url.focus()
        await pilot.pause()
        # Clear, type the URL, Tab over the access choice to the token, clear it, type the token: one burst.
        burst(app, "end", "ctrl+u", *URL, "tab", "tab", "ctrl+u", *TOKEN)
        deadline = time.monotonic() + 10
        while (url.value, token.value) != (URL, TOKEN) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(0.2)  # nothing still queued may change them afterwards
        assert url.value == URL
        assert token.value == TOKEN
        assert app.focused is token


def test_every_field_uses_the_burst_safe_input():
    from textual.widgets import Input

    with pytest.raises(TypeError, match="FieldInput"):
        Field("Okta org URL", Input())


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_long_string_in_one_send_keys_in_a_real_terminal():
    from test_tui_terminal import Tmux

    term = Tmux(120, 30, [sys.executable, "-m", "odatui", "demo"])
    try:
        term.wait_for("Sandbox answers pre-filled", timeout=40)
        term.keys("C-n")
        term.wait_for("Okta org URL")
        for attempt in range(3):
            # Clear and type the whole URL, Tab twice, clear and type the token: every key in one send-keys call.
            # Each attempt types other text (another URL, a longer token), so the last one's cannot pass for it.
            url, token = URL.replace("check-", f"check{attempt}-"), TOKEN + "Z" * attempt
            term.run("send-keys", "-t", "t", "End", "C-u", url, "Tab", "Tab", "End", "C-u", token)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                screen = term.screen()
                token_line = next((line for line in screen.splitlines() if line.lstrip().startswith("API token")), "")
                if url in screen and token_line.count("•") >= len(token):
                    break
                time.sleep(0.2)
            time.sleep(0.5)  # anything still queued would show now
            screen = term.screen()
            token_line = next(line for line in screen.splitlines() if line.lstrip().startswith("API token"))
            assert f"Okta org URL      {url}" in screen, screen
            assert token_line.count("•") == len(token), token_line
            term.keys("BTab", "BTab")  # back to the URL for the next attempt
    finally:
        term.close()
