"""Snapshots of every wizard screen at 80×24 and 120×40, and of the run screen failed and waiting for the admin.

Snapshots must not change from run to run, so these use a fixed session (tests/support/static_session.py): fixed
answers (acme.okta.com, no sandbox ports or temp paths), a fixed plan over the product's own steps and titles, and
run screens fed a scripted sequence of the engine's own events under a fixed clock. The real engine against the real sandbox is exercised by test_tui_pilot.py.
Update after reviewing the report: `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from odatui.core import events as ev
from support.static_session import TITLE, TITLES, StaticSession

SIZES = [(80, 24), (120, 40)]


class FixedClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_app():
    from odatui.tui.app import OdatuiApp

    return OdatuiApp(StaticSession(), still=True, clock=FixedClock())


async def _loaded(pilot):
    for _ in range(100):
        if pilot.app.loaded is not None:
            break
        await pilot.pause(0.02)
    await pilot.pause()


def _walk(nexts: int):
    async def run_before(pilot):
        await _loaded(pilot)
        for _ in range(nexts):
            await pilot.press("ctrl+n")
            await pilot.pause()
        await pilot.pause(0.2)
        await pilot.wait_for_scheduled_animations()

    return run_before


def _run_screen(events, select: str):
    async def run_before(pilot):
        from odatui.tui.progress import RunModel
        from odatui.tui.screens.run import RunScreen

        await _loaded(pilot)
        app = pilot.app
        app.model = RunModel(TITLES, clock=app.clock)
        for event, at in events:
            app.clock.now = at
            app.model.apply(event)
        app.clock.now = 1042.0
        await app.push_screen(RunScreen())
        await pilot.pause()
        steps = app.screen.query_one("#steps")
        steps.index = [sid for sid, _ in TITLES].index(select)
        await pilot.pause()

    return run_before


SUCCESS = [(ev.StepStarted("preflight.okta", TITLE["preflight.okta"]), 1000.0),
           (ev.StepSucceeded("preflight.okta", {}, "Identity Engine org; Okta Verify active", False), 1001.0),
           (ev.StepStarted("preflight.ws1", TITLE["preflight.ws1"]), 1000.0),
           (ev.StepSucceeded("preflight.ws1", {"og_id": 7}, "ACME (id 7); smart group 42", False), 1002.0),
           (ev.StepStarted("preflight.package", TITLE["preflight.package"]), 1000.0),
           (ev.StepSucceeded("preflight.package", {}, "com.okta.mobile 9.52.0", False), 1003.0)]

FAILED = SUCCESS + [
    (ev.StepStarted("okta.app", TITLE["okta.app"]), 1003.0),
    (ev.StepSucceeded("okta.app", {"client_id": "0oa1b2c3d4e5f6g7h8i9"}, "found; client ID 0oa1b2c3d4e5f6g7h8i9"), 1004.0),
    (ev.StepStarted("okta.assign", TITLE["okta.assign"]), 1004.0),
    (ev.StepSucceeded("okta.assign", {}, "assigned Mac Pilot"), 1005.0),
    (ev.StepStarted("ws1.upload", TITLE["ws1.upload"]), 1003.0),
    (ev.StepProgress("ws1.upload", 0.5, "uploading", 50_000_000, 100_000_000, 5_000_000), 1010.0),
    (ev.StepSucceeded("ws1.upload", {"app_id": 1201}, "Okta Verify 9.52.0 uploaded (app id 1201)"), 1020.0),
    (ev.StepStarted("ws1.assign", TITLE["ws1.assign"]), 1020.0),
    (ev.StepLog("ws1.assign", "PUT /api/mam/apps/internal/1201/assignment-rules"), 1021.0),
    (ev.StepFailed("ws1.assign", "Workspace ONE answered 500 to the assignment rules", True,
                   "a server error on the tenant; wait a minute and retry", 1, will_retry_in=2.0), 1021.0),
    (ev.StepStarted("ws1.assign", TITLE["ws1.assign"], 2), 1023.0),
    (ev.StepFailed("ws1.assign", "Workspace ONE answered 500 to the assignment rules", True,
                   "a server error on the tenant; wait a minute and retry", 4), 1030.0),
    (ev.StepStarted("ws1.certificate", TITLE["ws1.certificate"]), 1003.0),
    (ev.StepSucceeded("ws1.certificate", {"certificate_profile_id": 87}, "created certificate profile 87"), 1004.0),
    (ev.StepStarted("ws1.profile", TITLE["ws1.profile"]), 1005.0),
    (ev.StepSucceeded("ws1.profile", {"profile_id": 88}, "created profile 88 “Okta Platform SSO”"), 1008.0),
    (ev.StepSkipped("verify", "needs ws1.assign, which failed"), 1030.0),
]

NEEDS_ACTION = SUCCESS + [
    (ev.StepStarted("okta.app", TITLE["okta.app"]), 1003.0),
    (ev.StepNeedsAction("okta.app", "In the Okta Admin Console: Applications › Browse App Catalog › search "
                        "“Platform Single Sign-On for macOS” › Add integration › Done.", True, 8.0), 1004.0),
    (ev.StepStarted("ws1.upload", TITLE["ws1.upload"]), 1003.0),
    (ev.StepProgress("ws1.upload", 0.42, "uploading", 42_000_000, 100_000_000, 5_250_000), 1011.0),
]


CANCELLED = SUCCESS + [
    (ev.StepStarted("okta.app", TITLE["okta.app"]), 1003.0),
    (ev.StepSucceeded("okta.app", {"client_id": "0oa1b2c3d4e5f6g7h8i9"}, "found; client ID 0oa1b2c3d4e5f6g7h8i9"), 1004.0),
    (ev.StepStarted("ws1.upload", TITLE["ws1.upload"]), 1003.0),
    (ev.StepProgress("ws1.upload", 0.42, "uploading", 42_000_000, 100_000_000, 5_250_000), 1011.0),
    (ev.StepCancelled("ws1.upload"), 1012.0),
    (ev.StepSkipped("ws1.assign", "needs ws1.upload, which was cancelled"), 1012.0),
    (ev.RunFinished({}, 130), 1012.0),
]


@pytest.fixture(autouse=True)
def _fixed_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", "/home/admin")  # shown as ~ on the Done screen


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen,nexts", [("welcome", 0), ("okta", 1), ("ws1", 2), ("rollout", 3), ("review", 4)])
def test_wizard_screen(snap_compare, screen, nexts, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=_walk(nexts))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_failed(snap_compare, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=_run_screen(FAILED, "ws1.assign"))


def test_run_cancelled(snap_compare):
    """A step stopped mid-upload: its own glyph and word, the reason, and r to retry it."""
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_run_screen(CANCELLED, "ws1.upload"))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_needs_action(snap_compare, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=_run_screen(NEEDS_ACTION, "okta.app"))


def _succeeded(sid: str, outputs: dict, summary: str, changed: bool = True, at: float = 1000.0):
    title = TITLE[sid]
    return [(ev.StepStarted(sid, title), at), (ev.StepSucceeded(sid, outputs, summary, changed), at + 1)]


# The outputs the real steps record (shapes as in odatui/steps): the Done screen names things from these. The
# summaries are the plan's future-tense wording on purpose: the Done screen must not show them.
DONE_RUN = [
    *_succeeded("preflight.okta", {"org_host": "acme.okta.com"}, "acme.okta.com: Identity Engine", False),
    *_succeeded("preflight.ws1", {"og_id": 7, "og_name": "ACME", "smart_group_id": 42, "smart_group_devices": 36,
                                  "smart_group_name": "Okta PSSO Macs", "smart_group_uuid": "5c1e0f2a"}, "", False),
    *_succeeded("preflight.package", {"version": "9.52.0"}, "com.okta.mobile 9.52.0", False),
    *_succeeded("okta.app", {"app_id": "0oa9app", "client_id": "0oa1b2c3d4e5f6g7h8i9", "org_host": "acme.okta.com",
                             "label": "Platform Single Sign-On for macOS"}, "add the Platform SSO app", False),
    *_succeeded("okta.assign", {"group_ids": {"Mac Pilot": "00g1pilot"}, "groups": ["Mac Pilot"]},
                "assign Mac Pilot to the app"),
    *_succeeded("ws1.upload", {"app_id": 1201, "app_uuid": "8ff9d350", "version": "9.52.0"},
                "upload Okta Verify 9.52.0 (27.0 MB) and create the macOS app"),
    *_succeeded("ws1.assign", {"app_uuid": "8ff9d350", "smart_group_uuid": "5c1e0f2a"},
                "assign Okta Verify to 'Okta PSSO Macs' with Auto delivery and publish"),
    *_succeeded("ws1.certificate", {"certificate_profile_id": 87, "certificate_profile_uuid": "3c9a1f07",
                                     "certificate_authority_id": 5, "certificate_authority": "Okta CA",
                                     "certificate_template_id": 9, "certificate_template": "Okta Device Access"},
                "create the certificate profile (Device, Auto)"),
    *_succeeded("ws1.profile", {"profile_id": 88, "profile_uuid": "1078e316"},
                "create the macOS profile 'Okta Platform SSO' (Device, Auto)"),
    *_succeeded("verify", {"profile_id": 88}, "read back"),
    (ev.RunFinished({}, 0), 1023.0),
]


async def show_done(pilot):
    from odatui.tui.screens.done import DoneScreen

    await _run_screen(DONE_RUN, "verify")(pilot)
    await pilot.app.push_screen(DoneScreen())
    for _ in range(50):
        if "⧗" not in str(pilot.app.screen.query_one("#rollout").render()) and \
                "⧗" not in str(pilot.app.screen.query_one("#exported").render()) and \
                str(pilot.app.screen.query_one("#devices-status").render()).startswith("Macs: 3 Macs"):
            break
        await pilot.pause(0.05)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_done(snap_compare, size):
    assert snap_compare(make_app(), terminal_size=size, run_before=show_done)


def test_done_scrolled_to_the_end(snap_compare):
    """At 80×24 the rest of the Done screen is a few PgDn away (past the Macs table): the users' steps and the
    exported files."""
    async def run_before(pilot):
        await show_done(pilot)
        await pilot.press("pagedown", "pagedown", "pagedown", "pagedown")
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=run_before)


def test_help(snap_compare):
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=_walk(1), press=["f1"])
