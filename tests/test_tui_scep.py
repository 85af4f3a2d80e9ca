"""The wizard asks for Okta's Device Access SCEP URL and secret key on the Okta screen: the URL goes to the answers,
the secret key to the keychain (the session's secret store), a non-https URL is refused on the field, and Help
names the exact Admin Console clicks."""

from __future__ import annotations

try:
    from test_tui_snapshots import _loaded, make_app
except ImportError:  # tests/ imported as a package
    from tests.test_tui_snapshots import _loaded, make_app


async def _to_okta(pilot):
    from odatui.tui.screens.okta import OktaScreen

    await _loaded(pilot)
    await pilot.press("ctrl+n")
    for _ in range(50):
        if isinstance(pilot.app.screen, OktaScreen):
            break
        await pilot.pause(0.02)
    assert isinstance(pilot.app.screen, OktaScreen)


async def test_okta_screen_takes_the_scep_url_and_secret_key():
    from textual.widgets import Input

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _to_okta(pilot)
        screen = app.screen
        screen.query_one("#scep_url", Input).value = "https://acme.okta.com/pki/scep/abc"
        screen.query_one("#scep_challenge", Input).value = "typed-scep-secret"
        await pilot.press("ctrl+n")
        for _ in range(50):
            if app.screen is not screen:
                break
            await pilot.pause(0.02)
        assert app.screen is not screen, "Next did not leave the Okta screen"
    session = app.session
    assert session.config.okta.scep_url == "https://acme.okta.com/pki/scep/abc"
    assert session.typed["okta.scep_challenge"] == "typed-scep-secret"
    assert "typed-scep-secret" not in str(session.config.to_toml_dict())  # never in the answers file


async def test_okta_screen_refuses_a_plain_http_scep_url_and_help_has_the_clicks():
    from textual.widgets import Input

    from odatui.tui.screens.okta import OktaScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _to_okta(pilot)
        screen = app.screen
        screen.query_one("#scep_url", Input).value = "http://acme.okta.com/pki/scep"
        await pilot.press("ctrl+n")
        await pilot.pause(0.2)
        assert app.screen is screen  # stays: the field is wrong
        result = screen.query_one("#scep_url", Input).validate(screen.query_one("#scep_url", Input).value)
        assert result is not None and not result.is_valid
        assert any("https" in d for d in result.failure_descriptions)
    assert "Add SCEP configuration" in OktaScreen.HELP and "Static SCEP URL" in OktaScreen.HELP
