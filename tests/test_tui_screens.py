"""Pilot checks of single screens with the fixed session of the snapshot tests (no tenant): what the Done screen
names and that all of it is reachable by keyboard at 80×24, cancelled steps on the run screen, the Review plan's
full text, and the wizard under TERM=linux and NO_COLOR."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.static_session import TITLE, TITLES
from test_tui_snapshots import CANCELLED, _run_screen, make_app, show_done

from odatui.core import events as ev
from odatui.tui.progress import RunModel
from odatui.tui.results import combined_profile, exported_text


def text(widget) -> str:
    return str(widget.render())


def visible(screen, selector: str) -> bool:
    """The widget's whole box lies inside the scrolling body's viewport."""
    body = screen.query_one("#body")
    region = screen.query_one(selector).region
    return region.height > 0 and body.content_region.contains_region(region)


@pytest.fixture(autouse=True)
def _fixed_home(monkeypatch):
    monkeypatch.setenv("HOME", "/home/admin")


# ------------------------------------------------------------------------------------------------ Done


async def test_done_names_what_exists_now_not_the_plan():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await show_done(pilot)
        created = "\n".join(text(w) for w in app.screen.query(".created-line"))
        for fact in ("Platform Single Sign-On for macOS", "client ID 0oa1b2c3d4e5f6g7h8i9", "app id 0oa9app",
                     "“Mac Pilot” (00g1pilot)", "Okta Verify 9.52.0", "app id 1201", "uuid 8ff9d350",
                     "Smart group “Okta PSSO Macs” (id 42", "profile “Okta Platform SSO” (created): id 88",
                     "Export folder: ~/odatui-export"):
            assert fact in created, (fact, created)
        # The plan's future tense ("create the macOS profile …", "upload Okta Verify …") is gone.
        for plan in ("create the macOS profile", "upload Okta Verify", "assign Okta Verify to", "assign Mac Pilot"):
            assert plan not in created


async def test_done_exported_names_the_combined_profile():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await show_done(pilot)
        exported = text(app.screen.query_one("#exported"))
        assert "okta-dps-macos14.mobileconfig — the whole profile" in exported
        assert "associated-domains" not in exported and "per-payload parts" in exported
        assert "Custom Settings fragments (.ws1.xml)" in exported


async def test_done_body_scrolls_by_keyboard_at_80x24_in_reading_order():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await show_done(pilot)
        screen = app.screen
        body = screen.query_one("#body")
        assert app.focused is body
        ys = [screen.query_one(s).region.y for s in ("#created", "#rollout", "#device-table", "#end-users", "#exported")]
        assert ys == sorted(ys), ys  # created/found → rollout → Macs → end users → exported
        assert not visible(screen, "#end-users") and not visible(screen, "#exported")
        await pilot.press("down")
        await pilot.pause()
        assert body.scroll_y == 1
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown")  # past the Macs table
        await pilot.pause()
        assert visible(screen, "#end-users") and visible(screen, "#exported")
        assert "Enter the Mac's login password" in text(screen.query_one("#end-users"))
        await pilot.press("pageup", "pageup", "pageup", "pageup")
        await pilot.pause()
        assert body.scroll_y == 0
        await pilot.press("tab")
        assert app.focused is screen.query_one("#devices")  # the device table takes keys (f, s, r, p) …
        await pilot.press("tab")
        assert app.focused is screen.query_one("#quit")  # … and Tab goes on to Quit


def test_combined_profile_is_the_file_the_others_extend():
    out = Path("/x")
    names = ["README.txt", "okta-dps-macos14-associated-domains.mobileconfig",
             "okta-dps-macos14-associated-domains.ws1.xml", "okta-dps-macos14-sso.mobileconfig",
             "okta-dps-macos14.mobileconfig", "okta-dps-macos14.signed.mobileconfig"]
    paths = [out / n for n in names]
    assert combined_profile(paths) == out / "okta-dps-macos14.mobileconfig"
    summary = exported_text(paths, "~/x")
    assert "okta-dps-macos14.mobileconfig — the whole profile" in summary
    assert "2 per-payload parts" in summary and "1 signed copies" in summary


# ------------------------------------------------------------------------------------------------ cancelled


def test_cancelled_step_is_shown_and_retryable():
    model = RunModel(TITLES, clock=lambda: 1000.0)
    for event, _ in CANCELLED:
        model.apply(event)
    view = model.steps["ws1.upload"]
    assert (view.status, view.glyph, view.word) == ("cancelled", "○", "cancelled")
    assert view.retryable and "ws1.upload" in model.failed()
    assert "1 cancelled" in model.headline() and "r retries" in view.line()
    model.apply(ev.StepCancelled("okta.assign", "Ctrl-C"))
    assert model.steps["okta.assign"].error == "Ctrl-C"


async def test_run_screen_retries_a_cancelled_step_with_r():
    app = make_app()
    asked: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await _run_screen(CANCELLED, "ws1.upload")(pilot)
        app.retry_step = asked.append  # the engine is not under test here: only that r asks for this step
        assert app.screen.query_one("#retry").display
        assert "Press r to retry" in text(app.screen.query_one("#detail-error"))
        await pilot.press("r")
        await pilot.pause()
    assert asked == ["ws1.upload"]


# ------------------------------------------------------------------------------------------------ Review


async def test_review_shows_the_highlighted_rows_full_text():
    long = "127.0.0.1:40355: Identity Engine, credentials valid, Okta Verify active — and more words past 80 columns"
    app = make_app()
    plan = app.session.plan

    async def longer_plan():
        import dataclasses

        from odatui.steps.base import Change, ChangeKind

        rows = await plan()
        return [dataclasses.replace(rows[0], change=Change(ChangeKind.NONE, long)), *rows[1:]]

    app.session.plan = longer_plan
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if app.loaded is not None:
                break
            await pilot.pause(0.02)
        for _ in range(4):
            await pilot.press("ctrl+n")
            await pilot.pause()
        table = app.screen.query_one("#plan")
        for _ in range(100):
            if "⧗" not in text(app.screen.query_one("#plan-status")):
                break
            await pilot.pause(0.02)
        await pilot.pause()
        detail = app.screen.query_one("#plan-detail")
        assert long in text(detail).replace("\n", " "), text(app.screen.query_one("#plan-status"))
        assert detail.region.height > 0 and detail.region.bottom <= 22  # on screen, above Back/Start
        table.focus()
        await pilot.press(*["down"] * [sid for sid, _ in TITLES].index("ws1.profile"))
        await pilot.pause()
        assert "the client ID is not known yet → add the app first" in text(detail)


# ------------------------------------------------------------------------------------------------ plain terminals


def _screen_text(app) -> str:
    import html
    import re

    svg = app.export_screenshot()
    return html.unescape(" ".join(re.findall(r"<text[^>]*>(.*?)</text>", svg))).replace("\xa0", " ")


def _fills(app) -> set[tuple[int, int, int]]:
    import re

    return {tuple(int(h[i:i + 2], 16) for i in (0, 2, 4))
            for h in re.findall(r"fill: #([0-9a-f]{6})", app.export_screenshot())}


@pytest.mark.parametrize("env", [{"TERM": "linux"}, {"NO_COLOR": "1"}, {"TERM": "linux", "NO_COLOR": "1"}],
                         ids=lambda e: "+".join(f"{k}={v}" for k, v in e.items()))
async def test_usable_on_plain_terminals(monkeypatch, env):
    """The Linux console (8 colours) and NO_COLOR: screens render their text, Tab moves the focus, and every state
    is told by glyph and word, never by colour alone."""
    for var in ("COLORTERM", "NO_COLOR", "TEXTUAL_COLOR_SYSTEM"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    app = make_app()  # Textual reads the environment when the app is made
    assert app.no_color == ("NO_COLOR" in env)
    if env.get("TERM") == "linux":
        assert app.console.color_system == "standard"
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if app.loaded is not None:
                break
            await pilot.pause(0.02)
        await pilot.pause()
        assert "Welcome to odatui" in _screen_text(app)
        before = app.focused
        await pilot.press("tab")
        assert app.focused is not None and app.focused is not before

        await pilot.press("ctrl+n")
        await pilot.pause()
        shown = _screen_text(app)
        assert "Okta org URL" in shown and "Next" in shown
        first = app.focused
        await pilot.press("tab")
        assert app.focused is not first and app.focused is not None
        await pilot.press("shift+tab")
        assert app.focused is first

        greys = all(max(c) - min(c) <= 4 for c in _fills(app))
        assert greys == ("NO_COLOR" in env)  # colour only where it is allowed

        await _run_screen(CANCELLED, "ws1.upload")(pilot)
        shown = _screen_text(app)
        for words in (f"✓ {TITLE['preflight.okta']}", f"○ {TITLE['ws1.upload']}", "cancelled",
                      f"– {TITLE['ws1.assign'].split(' (')[0]}", "Press r to retry"):  # the list wraps a long title
            assert words in shown, words
