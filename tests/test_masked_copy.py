"""A masked field's value never leaves the wizard: select-all + copy or cut on it puts nothing in the app's clipboard
and no OSC 52 sequence (the terminal's — in `odatui serve`, the websocket's — clipboard channel) carries it. A plain
field copies normally (the control that shows the recorder works)."""

from __future__ import annotations

import base64

from test_tui_snapshots import make_app

from odatui.tui.screens.okta import OktaScreen
from odatui.tui.screens.mdm import MdmScreen

SECRET = "00Zx-masked-token-do-not-leak-7f3a"


async def _to(pilot, screen_type, nexts):
    for _ in range(100):
        if pilot.app.loaded is not None:
            break
        await pilot.pause(0.02)
    for _ in range(nexts):
        await pilot.press("ctrl+n")
        await pilot.pause()
    assert isinstance(pilot.app.screen, screen_type)


def _record_driver(app) -> list[str]:
    written: list[str] = []
    original = app._driver.write

    def write(data: str) -> None:
        written.append(data)
        original(data)

    app._driver.write = write
    return written


def _leaked(app, written: list[str], value: str) -> bool:
    encoded = base64.b64encode(value.encode()).decode()
    stream = "".join(written)
    return value in (app.clipboard or "") or encoded in stream or value in stream


async def _select_all_copy_cut(pilot, selector: str) -> None:
    pilot.app.screen.query_one(selector).focus()
    await pilot.pause()
    for keys in (("ctrl+shift+a", "ctrl+c"), ("ctrl+shift+a", "super+c"), ("ctrl+shift+a", "ctrl+x")):
        await pilot.press(*keys)
        await pilot.pause()


async def test_masked_okta_token_cannot_be_copied_or_cut_out():
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await _to(pilot, OktaScreen, 1)
        written = _record_driver(app)
        field = app.screen.query_one("#api_token")
        field.value = SECRET
        await _select_all_copy_cut(pilot, "#api_token")
        assert not _leaked(app, written, SECRET)
        # Even a direct call with the focus on the masked field (another key binding, a selection) sends nothing.
        app.copy_to_clipboard(SECRET[2:20])
        assert not _leaked(app, written, SECRET[2:20])
        # The control: a plain field's selection does reach the clipboard and the OSC 52 stream.
        app.screen.query_one("#org_url").value = "https://acme.okta.com"
        await _select_all_copy_cut(pilot, "#org_url")
        assert app.clipboard == "https://acme.okta.com"
        assert any("\x1b]52;c;" in chunk for chunk in written)


async def test_masked_ws1_fields_cannot_be_copied_out():
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await _to(pilot, MdmScreen, 2)
        written = _record_driver(app)
        for selector, value in (("#password", "Pa55-word-masked-ws1"), ("#tenant_code", "TeNaNtCoDe-masked-1234")):
            field = app.screen.query_one(selector)
            field.value = value
            await _select_all_copy_cut(pilot, selector)
            assert not _leaked(app, written, value), selector
            assert field.get_selection(None) is None  # a mouse selection over it yields no text


async def test_known_secret_is_never_copied_from_anywhere():
    """The app's clipboard path itself refuses text holding a secret odatui has read (env, keychain, typed)."""
    from odatui.core.log import register_secret

    register_secret("ws1-secret-registered-4242")
    app = make_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await _to(pilot, OktaScreen, 1)
        written = _record_driver(app)
        app.screen.query_one("#org_url").focus()
        await pilot.pause()
        app.copy_to_clipboard("prefix ws1-secret-registered-4242 suffix")
        await pilot.pause()
        assert not _leaked(app, written, "ws1-secret-registered-4242")
        app.copy_to_clipboard("https://acme.okta.com")
        assert app.clipboard == "https://acme.okta.com"
