"""Layout at 80×24: the Review table's step names are whole, the WS1 Test-connection answer is on screen without
scrolling, the package picker goes up a folder, and the theme chosen with Textual's own command is kept."""

from __future__ import annotations

import time

from support.static_session import StaticSession
from test_tui_snapshots import make_app

from odatui.tui.app import OdatuiApp


async def _loaded(pilot):
    deadline = time.monotonic() + 20
    while pilot.app.loaded is None:
        assert time.monotonic() < deadline, "start-up did not finish"
        await pilot.pause(0.02)
    await pilot.pause()


async def test_review_step_column_is_as_wide_as_the_longest_title():
    app = make_app()
    plan = app.session.plan
    long_title = "Assign app to smart group (Auto)"

    async def longer():
        import dataclasses

        rows = await plan()
        return [dataclasses.replace(rows[0], title=long_title), *rows[1:]]

    app.session.plan = longer
    async with app.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        for _ in range(4):
            await pilot.press("ctrl+n")
            await pilot.pause()
        table = app.screen.query_one("#plan")
        deadline = time.monotonic() + 10
        while table.row_count == 0:
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        await pilot.pause()
        assert long_title in app.export_screenshot().replace("\xa0", " ").replace("&#160;", " ")


async def test_ws1_test_connection_answer_is_visible_at_80x24():
    answer = ("HTTP 401 from https://as1234.awmdm.com/api/system/info: the tenant code (REST API key) was refused;"
              " check it under Groups & Settings › All Settings › System › Advanced › API › REST API")

    class Session(StaticSession):
        async def test_connection(self, step_id):
            return False, answer

    app = OdatuiApp(Session(), still=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        for _ in range(2):
            await pilot.press("ctrl+n")
            await pilot.pause()
        screen = app.screen
        screen.query_one("#body").scroll_home(animate=False)
        await pilot.pause()
        screen.query_one("#test").press()  # by mouse or Enter: the body was scrolled to the top
        result = screen.query_one("#test-result")
        deadline = time.monotonic() + 10
        while "✗" not in str(result.render()):
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        await pilot.pause()
        await pilot.pause()
        body = screen.query_one("#body")
        assert body.region.contains_region(result.region), (body.region, result.region)
        assert "REST API key" in app.export_screenshot().replace("\xa0", " ").replace("&#160;", " ")


async def test_package_picker_goes_up_a_folder(tmp_path):
    from odatui.tui.screens.pick_file import PickFileScreen

    start = tmp_path / "Downloads" / "okta"
    start.mkdir(parents=True)
    (tmp_path / "OktaVerify-9.52.0.pkg").write_bytes(b"xar!")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        chosen = []
        await app.push_screen(PickFileScreen(start), chosen.append)
        await pilot.pause()
        await pilot.press("backspace", "backspace")
        await pilot.pause()
        tree = app.screen.query_one("#tree")
        assert str(tree.path) == str(tmp_path)
        assert str(tmp_path) in str(app.screen.query_one("#folder").render())


async def test_theme_chosen_with_textuals_command_is_kept(isolated_home):
    from odatui.tui.theme_pref import load_theme

    first = OdatuiApp(StaticSession())
    async with first.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        titles = [c.title for c in first.get_system_commands(first.screen)]
        assert titles.count("Theme") == 1 and not [t for t in titles if "theme" in t.lower() and t != "Theme"]
        first.theme = "nord"  # what Textual's "Theme" command does
        deadline = time.monotonic() + 10
        while load_theme() != "nord":
            assert time.monotonic() < deadline, "the theme was not written"
            await pilot.pause(0.05)
    second = OdatuiApp(StaticSession())
    async with second.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        deadline = time.monotonic() + 10
        while second.theme != "nord":
            assert time.monotonic() < deadline, "the theme was not restored"
            await pilot.pause(0.05)
