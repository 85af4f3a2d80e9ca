"""After a resume the screens tell the truth: the last run's outcome is labelled as the last run's, a pane shows
only its current attempt's summary, the details follow the running step until the admin picks one, and HTTP-level
retries reach the step's pane."""

from __future__ import annotations

from support.static_session import TITLE, TITLES
from test_tui_snapshots import make_app

from odatui.core import events as ev
from odatui.core.state import StepRecord
from odatui.tui.progress import RunModel
from odatui.tui.screens.modals import _last_run


def _text(widget) -> str:
    return str(widget.render())


def test_seeded_state_is_labelled_last_run_and_keeps_no_stale_summary():
    model = RunModel(TITLES, clock=lambda: 1000.0)
    model.seed({
        "preflight.okta": StepRecord(status="succeeded", summary="acme.okta.com: Identity Engine"),
        "okta.app": StepRecord(status="needs-action", summary="found; client ID 0oa1", last_error="add the app"),
        "ws1.upload": StepRecord(status="failed", summary="up to date", last_error="HTTP 500 from WS1"),
    })
    okta, app, upload = (model.steps[s] for s in ("preflight.okta", "okta.app", "ws1.upload"))
    assert okta.line() == "last run: acme.okta.com: Identity Engine"
    assert upload.line() == "last run: HTTP 500 from WS1" and upload.summary == ""  # never "up to date"
    assert app.summary == "" and app.line().startswith("last run: waiting for you")
    assert model.steps["verify"].line() == "waiting"  # never run: nothing to label

    # This run's first event replaces the label, and the new attempt starts with no old summary.
    model.apply(ev.StepStarted("ws1.upload", TITLE["ws1.upload"], attempt=1))
    assert upload.line() == "running" and not upload.last_run
    model.apply(ev.StepProgress("okta.app", None, "found; client ID 0oa1"))
    model.apply(ev.StepNeedsAction("okta.app", "Add the app in the Admin Console"))
    assert app.summary == "" and not app.last_run


def test_http_retry_shows_in_the_pane_while_the_attempt_runs():
    model = RunModel(TITLES, clock=lambda: 1000.0)
    model.apply(ev.StepStarted("ws1.assign", TITLE["ws1.assign"]))
    model.apply(ev.StepLog("ws1.assign", "PUT /api/mam/apps/7/assignment-rules: HTTP 503; retry 1/4 in 0.5s", "retry"))
    view = model.steps["ws1.assign"]
    assert view.line() == "↻ PUT /api/mam/apps/7/assignment-rules: HTTP 503; retry 1/4 in 0.5s"
    assert "↻ PUT /api/mam/apps/7/assignment-rules: HTTP 503; retry 1/4 in 0.5s" in view.log
    model.apply(ev.StepSucceeded("ws1.assign", {}, "assigned"))
    assert view.line() == "assigned"


def test_resume_dialog_words_are_the_past():
    assert _last_run("failed") == "last run: failed"
    assert _last_run("succeeded") == "last run: done"
    assert _last_run(None) == "never run" and _last_run("pending") == "never run"


async def test_details_follow_the_running_step_until_the_admin_picks_one():
    from odatui.tui.screens.run import RunScreen

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if app.loaded is not None:
                break
            await pilot.pause(0.02)
        app.model = RunModel(TITLES, clock=app.clock)
        await app.push_screen(RunScreen())
        await pilot.pause()
        screen = app.screen

        def started(sid: str) -> None:
            view = app.model.apply(ev.StepStarted(sid, dict(TITLES)[sid]))
            screen.refresh_step(view)

        for sid in ("preflight.okta", "preflight.ws1"):
            app.model.apply(ev.StepSucceeded(sid, {}, "ok"))
        started("preflight.package")
        await pilot.pause()
        assert screen.selected().step_id == "preflight.package"
        app.model.apply(ev.StepSucceeded("preflight.package", {}, "ok"))
        started("okta.app")
        await pilot.pause()
        assert screen.selected().step_id == "okta.app"  # followed

        screen.query_one("#steps").focus()
        await pilot.pause()
        await pilot.press("up")  # the admin picks a step
        await pilot.pause()
        assert screen.selected().step_id == "preflight.package"
        started("ws1.upload")
        await pilot.pause()
        assert screen.selected().step_id == "preflight.package"  # stays where the admin put it
