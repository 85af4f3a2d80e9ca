"""The answers file is the admin's: the wizard writes only the fields changed in it, into that one file, after
asking (an existing file) — comments and every other byte kept; values from ODATUI_* variables never written."""

from __future__ import annotations

import time

from odatui.core.answers import render
from odatui.core.config import load_config
from odatui.tui.app import OdatuiApp
from odatui.tui.screens.modals import ChoiceScreen
from odatui.tui.screens.okta import OktaScreen
from odatui.tui.session import Session
from odatui.tui.widgets.field import FieldInput

COMMENTED = """\
# Pilot rollout for the Berlin office — owner: it-mac@example.com
# (keep this file in git; secrets live in the keychain)

[okta]
org_url = "https://acme.okta.com"   # production org, not -admin
auth = "api_token"
groups = ["Mac Pilot"]  # widen after the pilot

[ws1]
api_url = "https://as1506.awmdm.com"
group_id = "acme"
smart_group = "Okta PSSO Macs"

# macOS 14 is the floor for the new profile shape
[rollout]
macos_min = 14
"""


def test_render_changes_one_value_and_keeps_every_other_byte():
    new = render(COMMENTED, {("okta", "org_url"): "https://acme.oktapreview.com"})
    assert new == COMMENTED.replace('"https://acme.okta.com"', '"https://acme.oktapreview.com"')


def test_render_of_a_new_file_holds_only_the_given_fields():
    new = render(None, {("okta", "org_url"): "https://acme.okta.com", ("okta", "groups"): ["A", "B"]})
    assert new.startswith("# odatui answers file")
    assert '[okta]\norg_url = "https://acme.okta.com"\ngroups = ["A", "B"]\n' in new
    assert "[ws1]" not in new


async def _wait(pilot, predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


async def _add_it_group(pilot) -> None:
    """Start-up, Next to the Okta screen, and ", IT" typed after the groups."""
    app = pilot.app
    await _wait(pilot, lambda: app.loaded is not None, "start-up")
    await pilot.press("ctrl+n")
    await _wait(pilot, lambda: isinstance(app.screen, OktaScreen), "the Okta screen")
    app.screen.query_one("#groups", FieldInput).focus()
    await pilot.press("end", *", IT")


async def test_wizard_run_keeps_comments_asks_first_and_never_writes_env_values(monkeypatch, tmp_path,
                                                                               isolated_home):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("ODATUI_WS1__USERNAME", "only-in-the-environment")
    monkeypatch.setenv("ODATUI_OKTA__API_TOKEN", "00token-from-the-environment")
    config = tmp_path / "pilot.toml"
    config.write_text(COMMENTED)
    session = Session(str(config))
    app = OdatuiApp(session, still=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await _add_it_group(pilot)
        await pilot.press("ctrl+q")
        await _wait(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the save/discard/cancel question")
        assert "okta.groups" in str(app.screen.query_one("#question").render())
        await pilot.press("escape")  # cancel: back on the form, nothing written
        await _wait(pilot, lambda: isinstance(app.screen, OktaScreen), "the form again")
        assert config.read_text() == COMMENTED
        await pilot.press("ctrl+q")
        await _wait(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the question again")
        app.screen.query_one("#choice-save").press()
        await _wait(pilot, lambda: not app.is_running, "the app to quit after saving")
    written = config.read_text()
    assert written == COMMENTED.replace('groups = ["Mac Pilot"]', 'groups = ["Mac Pilot", "IT"]')
    assert "only-in-the-environment" not in written and "00token" not in written
    assert load_config(config).okta.groups == ["Mac Pilot", "IT"]
    assert not (isolated_home / "xdg_config_home" / "odatui" / "answers").exists()  # one answers file


async def test_review_never_writes_an_existing_file_and_start_asks_first():
    from support.static_session import StaticSession

    from odatui.tui.screens.review import ReviewScreen

    saved: list[str] = []

    class Existing(StaticSession):
        file_existed = True

        def unsaved(self):
            return {("okta", "groups"): ["Mac Pilot", "IT"]}

        def must_ask_to_save(self):
            return True

        def save(self):
            saved.append("save")
            return self.config_path

    app = OdatuiApp(Existing(), still=True)
    started: list[bool] = []
    app.ask_resume_then_run = lambda: started.append(True)
    async with app.run_test(size=(80, 24)) as pilot:
        await _wait(pilot, lambda: app.loaded is not None, "start-up")
        for _ in range(4):
            await pilot.press("ctrl+n")
            await pilot.pause()
        await _wait(pilot, lambda: isinstance(app.screen, ReviewScreen), "Review")
        status = app.screen.query_one("#plan-status")
        await _wait(pilot, lambda: "⧗" not in str(status.render()), "the plan")
        assert "1 changed answer(s) not written yet" in str(status.render())
        assert saved == []  # reaching Review wrote nothing
        await pilot.press("ctrl+n")  # Start
        await _wait(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the save question")
        app.screen.query_one("#choice-discard").press()
        await _wait(pilot, lambda: started == [True], "the run to start")
        assert saved == []
        await pilot.press("ctrl+q")  # the declined changes are not asked about again
        await _wait(pilot, lambda: not app.is_running, "quit")


async def test_ctrl_q_save_writes_only_values_that_pass_and_names_the_dropped_ones(monkeypatch, tmp_path,
                                                                                 isolated_home):
    """A stray "Q" in the org URL (Ctrl+Q typed as text) was saved as https://q: it fails its rule, so the file keeps
    the org URL it had, the question names it, and the valid change beside it is saved."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    config = tmp_path / "pilot.toml"
    config.write_text(COMMENTED)
    app = OdatuiApp(Session(str(config)), still=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await _add_it_group(pilot)
        org = app.screen.query_one("#org_url", FieldInput)
        org.focus()
        await pilot.press("end", "ctrl+u", "Q")
        await pilot.press("ctrl+q")
        await _wait(pilot, lambda: isinstance(app.screen, ChoiceScreen), "the save question")
        question = " ".join(str(app.screen.query_one("#question").render()).split())
        assert "okta.groups" in question and "okta.org_url" not in question.split("Not saved")[0]
        assert "Not saved, they do not pass their rule: Okta org URL" in question and "'Q'" in question
        app.screen.query_one("#choice-save").press()
        await _wait(pilot, lambda: not app.is_running, "the app to quit after saving")
    written = config.read_text()
    assert written == COMMENTED.replace('groups = ["Mac Pilot"]', 'groups = ["Mac Pilot", "IT"]')
    assert "https://q" not in written
