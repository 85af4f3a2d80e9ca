"""Keys typed in a burst (password-manager auto-type, a keyboard macro, a slow SSH link delivering keys in lumps)
arrive exactly, in order, in every wizard field: under Pilot with every key queued before any is handled, and in a
real terminal (tmux) with a long string sent in one `send-keys`."""

from __future__ import annotations

import shutil
import sys
import time

import pytest
from textual import events

from odatui.core.config import Config
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


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)")
def test_keys_typed_right_after_next_reach_the_next_screens_first_field():
    """Ctrl+N, then 44 characters 0.1 s later (a password manager, a fast typist): all of them, in order, in the next
    screen's first field, 5 tries of 5 (issue 26: 0 of 44 before). Back (Esc) keeps what was typed there."""
    from test_tui_terminal import Tmux

    term = Tmux(120, 30, [sys.executable, "-m", "odatui", "demo"])
    try:
        term.wait_for("Sandbox answers pre-filled", timeout=40)
        for attempt in range(5):
            typed = f"https://ahead{attempt}.okta.com/" + "abcdefghijklmnopqrstuvwxyz"[:44 - 24]
            assert len(typed) == 44
            term.run("send-keys", "-t", "t", "C-n")
            time.sleep(0.1)
            term.run("send-keys", "-t", "t", "-l", typed)
            deadline = time.monotonic() + 15
            while typed not in term.screen() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(0.5)  # anything still queued would show now
            line = next((x for x in term.screen().splitlines() if x.lstrip().startswith("Okta org URL")), "")
            value = line.split("Okta org URL", 1)[1].strip() if line else ""
            # Exactly the 44 characters: the first time they replace the demo's URL (a field selects its value when
            # focused, as Textual's Input does), later the field was cleared before Back, and Back kept that.
            assert value == typed, (attempt, line)
            term.keys("End", "C-u", "Escape")  # clear it, back to the Welcome screen
            term.wait_for("Welcome to odatui")
    finally:
        term.close()


async def test_back_keeps_the_screens_edits_and_its_focus(monkeypatch, tmp_path):
    """Esc (Back) from a screen, then Next to it again: what was typed there is still there, and the focus is on the
    field it was on (before: the edits were gone and nothing had the focus, so typing went nowhere)."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    from odatui.tui.screens.welcome import WelcomeScreen

    session = Session(str(tmp_path / "odatui.toml"))
    app = OdatuiApp(session, still=True)
    async with app.run_test(size=(80, 24)) as pilot:
        deadline = time.monotonic() + 20
        while app.loaded is None and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.press("ctrl+n")
        while not isinstance(app.screen, OktaScreen) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.press(*"https://kept.okta.com")
        await pilot.press("tab", "tab", "tab")
        focused_before = app.focused.id
        await pilot.press(*"abc")
        typed_there = app.focused.value
        await pilot.press("escape")
        while not isinstance(app.screen, WelcomeScreen) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert app.focused is not None  # Back leaves something focused: typing goes somewhere
        await pilot.press("ctrl+n")
        while not isinstance(app.screen, OktaScreen) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert app.screen.query_one("#org_url", FieldInput).value == "https://kept.okta.com"
        assert app.focused is not None and app.focused.id == focused_before
        assert app.focused.value == typed_there
