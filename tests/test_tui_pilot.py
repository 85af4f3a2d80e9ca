"""The real wizard under Textual's Pilot, keys only, against the real engine and the in-process sandbox (real
HTTPS on loopback): a validation error fixed in place, a step failing on an injected fault and retried from its
pane, the needs-action flow with the demo's "add the app" action, and resume after quitting mid-run."""

from __future__ import annotations

import time

import pytest

from odatui.cli.demo import start_demo
from odatui.core.state import StateStore
from odatui.tui.app import OdatuiApp
from odatui.tui.screens.done import DoneScreen
from odatui.tui.screens.modals import ConfirmScreen, ResumeScreen
from odatui.tui.screens.okta import OktaScreen
from odatui.tui.screens.review import ReviewScreen
from odatui.tui.screens.run import RunScreen
from odatui.tui.screens.mdm import MdmScreen
from odatui.tui.session import Session

ASSIGN_FAULT = {"method": "PUT", "path": "/api/mam/apps/.*/assignment-rules", "fault": "500", "times": 4}


def fast_clients(kind, ctx):
    """The real clients with a short, known HTTP retry policy (2 tries, ~10 ms back-off)."""
    from odatui.core.http import RetryPolicy

    policy = RetryPolicy(attempts=2, base=0.01, cap=0.05)
    if kind == "okta":
        from odatui.okta.client import OktaClient

        return OktaClient.from_config(ctx.config.okta, ctx.secrets)
    from odatui.mdm.ws1.api.client import Ws1Client

    return Ws1Client.from_config(ctx.config.ws1, ctx.secrets, policy=policy)


# Faster back-off and polling than production so the test spends its time on behaviour, not on sleeping:
# one engine retry × two HTTP tries = 4 PUTs per run, so the 4 injected 500s fail the first run exactly.
FAST = {"retry_backoff": (0.05, 0.2), "poll_interval": (0.3, 0.6), "retry_limit": 1, "client_factory": fast_clients}


async def wait_for(pilot, predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}; screen is {type(pilot.app.screen).__name__}")


async def type_text(pilot, text: str) -> None:
    await pilot.press(*list(text))


def status(app, step_id: str) -> str:
    return app.model.steps[step_id].status


async def select_step(pilot, step_id: str) -> None:
    app = pilot.app
    order = list(app.model.steps)
    steps = app.screen.query_one("#steps")
    steps.focus()
    here = order.index(app.screen.selected().step_id)
    target = order.index(step_id)
    for _ in range(abs(target - here)):
        await pilot.press("down" if target > here else "up")
    await pilot.pause()
    assert app.screen.selected().step_id == step_id


async def to_review(pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.loaded is not None, what="start-up (sandbox)")
    for _ in range(4):
        await pilot.press("ctrl+n")
        await pilot.pause()
    await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), what="review screen")
    await wait_for(pilot, lambda: "⧗" not in str(app.screen.query_one("#plan-status").render()), what="plan")


@pytest.fixture
def demo():
    session = start_demo(psso_app="absent", fault_rules=[dict(ASSIGN_FAULT)])
    yield session
    session.close()


async def test_demo_walkthrough_keys_only(demo):
    app = OdatuiApp(Session(demo_session=demo, engine_options=FAST), demo=True, still=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.loaded is not None, what="start-up")
        assert "SANDBOX" in str(app.screen.query_one("#sandbox-banner").render())
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, OktaScreen), what="Okta screen")

        # A validation error, shown under the field as it is typed, refuses Next, then is fixed in place.
        org = app.screen.query_one("#org_url")
        assert app.focused is org
        await pilot.press("home", "ctrl+k")
        await type_text(pilot, "https://acme-admin.okta.com")
        await pilot.pause()
        error = str(app.screen.query_one("#org_url").parent.parent.query_one(".field-error").render())
        assert "Admin Console host" in error and "https://acme.okta.com" in error
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert isinstance(app.screen, OktaScreen)
        assert "Okta org URL" in str(app.screen.query_one("#nav-reason").render())
        await pilot.press("home", "ctrl+k")
        await type_text(pilot, demo.url)
        await pilot.pause()
        assert not app.screen.query_one("#org_url").parent.parent.has_class("-invalid")
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, MdmScreen), what="WS1 screen")
        assert app.session.config.okta.org_url == demo.url

        for _ in range(2):
            await pilot.press("ctrl+n")
            await pilot.pause()
        await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), what="review")
        await wait_for(pilot, lambda: "⧗" not in str(app.screen.query_one("#plan-status").render()), what="plan")
        plan = app.screen.query_one("#plan")
        assert plan.row_count == 10  # one row per step
        warnings = app.screen.query_one("#plan-warnings")  # the demo group has a user without an Okta password
        assert warnings.display and "have no Okta password" in str(warnings.render())
        await pilot.press("ctrl+n")  # Start
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen), what="run screen")

        # The PSSO app is absent: okta.app waits for the admin; the demo action adds it.
        await wait_for(pilot, lambda: status(app, "okta.app") == "needs-action", what="okta.app needs action")
        await select_step(pilot, "okta.app")
        assert "Browse App Catalog" in str(app.screen.query_one("#detail-action").render())
        await pilot.press("c")  # check now: still absent, still waiting
        await pilot.pause(0.2)
        assert status(app, "okta.app") == "needs-action"
        await pilot.press("a")
        await wait_for(pilot, lambda: status(app, "okta.app") in ("succeeded", "unchanged"), what="okta.app found")

        # ws1.assign hits the injected 500s until its retries run out, then is retried from its pane.
        await wait_for(pilot, lambda: app.model.finished is not None and not app.running, timeout=60, what="run end")
        assert status(app, "ws1.assign") == "failed"
        await select_step(pilot, "ws1.assign")
        assert "500" in str(app.screen.query_one("#detail-error").render()) or "server" in \
            str(app.screen.query_one("#detail-error").render()).lower()
        for _ in range(4):  # the fault rule is used up by now; more tries only if the HTTP policy changed
            await pilot.press("r")
            await wait_for(pilot, lambda: app.running or status(app, "ws1.assign") != "failed", what="retry start")
            await wait_for(pilot, lambda: not app.running, timeout=60, what="retry end")
            if status(app, "ws1.assign") in ("succeeded", "unchanged"):
                break
        assert status(app, "ws1.assign") in ("succeeded", "unchanged")
        assert app.model.all_done, {sid: v.status for sid, v in app.model.steps.items()}

        demo.sandbox.world.emulators["ws1"].fleet.advance(3600)  # the Macs check in: some succeed, some fail
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, DoneScreen), what="done screen")
        await wait_for(pilot, lambda: "⧗" not in str(app.screen.query_one("#exported").render()), what="export")
        exported = str(app.screen.query_one("#exported").render())
        assert f"okta-dps-macos{demo.config.rollout.macos_min}.mobileconfig — the whole profile" in exported
        created = "\n".join(str(w.render()) for w in app.screen.query(".created-line"))
        outputs = app.runs.outputs()
        assert f"client ID {outputs['okta.app']['client_id']}" in created
        assert f"app id {outputs['ws1.upload']['app_id']}" in created
        assert f"id {outputs['ws1.profile']['profile_id']}" in created
        await wait_for(pilot, lambda: "⧗" not in str(app.screen.query_one("#rollout").render()), what="status")
        assert "Devices in the smart group" in str(app.screen.query_one("#rollout").render())
        assert "below the floor" in str(app.screen.query_one("#warnings").render())

        # The device table: every Mac of the smart group, then failing only, then a re-push of one of them.
        members = demo.sandbox.world.emulators["ws1"].fleet.members()
        table = app.screen.query_one("#devices")
        status_line = app.screen.query_one("#devices-status")
        await wait_for(pilot, lambda: str(status_line.render()).startswith("Macs:"), what="device table")
        assert table.row_count == len(members)
        table.focus()
        await pilot.press("f")
        await wait_for(pilot, lambda: "failing only" in str(status_line.render()), what="failing filter")
        failing = [table.get_row_at(i) for i in range(table.row_count)]
        reasons = [str(row[6]) for row in failing]  # the Reasons column
        assert failing and len(failing) < len(members) and all(reasons)
        await pilot.press("s")  # sort by the next column (Name): the highlighted row changes with the order
        await wait_for(pilot, lambda: "sorted by Name" in str(status_line.render()), what="sort")
        names = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert names == sorted(names, key=str.casefold)
        await pilot.press("p")
        first = int(str(table.get_row_at(table.cursor_row)[0]))
        await wait_for(pilot, lambda: "re-pushed to 1 Mac" in str(status_line.render()), what="re-push")
        assert demo.sandbox.state()["ws1"]["profile_installs"] == [
            {"profile_id": outputs["ws1.profile"]["profile_id"], "device_id": first}]
        state = demo.sandbox.state()
        assert len(state["ws1"]["profiles"]) == 1 and len(state["ws1"]["apps"]) == 1
        await pilot.press("q")
    assert app.return_code == 0


async def test_quit_mid_run_then_resume(tmp_path):
    demo = start_demo(psso_app="absent")
    try:
        first = OdatuiApp(Session(demo_session=demo, engine_options=FAST), demo=True, still=True)
        async with first.run_test(size=(80, 24)) as pilot:
            await to_review(pilot)
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: status(first, "okta.app") == "needs-action", what="needs action")
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(first.screen, ConfirmScreen), what="quit question")
            await pilot.press("y")
            await wait_for(pilot, lambda: not first.is_running, what="exit", timeout=15)
        assert first.return_code == 130
        store = StateStore(demo.config.target_key(), demo.sandbox.data_dir / "runs")
        saved = store.load().steps
        assert saved["okta.app"].status in ("cancelled", "needs-action")
        assert saved["preflight.okta"].status == "succeeded"
        store.acquire()  # the lock was released by the cancelled run
        store.release()

        demo.add_psso_app()
        second = OdatuiApp(Session(demo_session=demo, engine_options=FAST), demo=True, still=True)
        async with second.run_test(size=(80, 24)) as pilot:
            await to_review(pilot)
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: isinstance(second.screen, ResumeScreen), what="resume offer")
            await pilot.press("enter")  # Resume: only what is not done
            await wait_for(pilot, lambda: isinstance(second.screen, RunScreen), what="run screen")
            await wait_for(pilot, lambda: second.model.finished is not None and not second.running, timeout=60,
                           what="resumed run")
            assert second.model.all_done, {sid: v.status for sid, v in second.model.steps.items()}
            # Done steps are re-checked against the live tenant (read-only), never redone: one app, one profile.
            assert second.model.steps["preflight.okta"].status == "unchanged"
        assert len(demo.sandbox.state()["ws1"]["apps"]) == 1 and len(demo.sandbox.state()["ws1"]["profiles"]) == 1
    finally:
        demo.close()


async def test_serve_refuses_other_hosts():
    import argparse

    from odatui.core.errors import UsageError
    from odatui.tui.launch import run_serve

    with pytest.raises(UsageError) as info:
        run_serve(argparse.Namespace(host="0.0.0.0", port=8000, config=None))
    assert info.value.exit_code == 2 and "127.0.0.1" in str(info.value)


def test_no_heavy_imports_before_first_paint():
    """The app module and its first screen load without pydantic, httpx, keyring or the sandbox."""
    import subprocess
    import sys

    code = ("import sys, odatui.tui.app, odatui.tui.launch; "
            "print(sorted(m for m in ('pydantic','httpx','keyring','odatui.sandbox','odatui.core.config') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"





async def test_test_connection_answers_inline():
    demo = start_demo(psso_app="present")
    try:
        app = OdatuiApp(Session(demo_session=demo, engine_options=FAST), demo=True, still=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.loaded is not None, what="start-up")
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: isinstance(app.screen, OktaScreen), what="Okta screen")
            app.screen.query_one("#test").focus()
            await pilot.press("enter")
            result = app.screen.query_one("#test-result")
            await wait_for(pilot, lambda: str(result.render()).startswith(("✓", "✗")), what="test answer")
            assert str(result.render()).startswith("✓"), str(result.render())
            assert "Identity Engine" in str(result.render())
    finally:
        demo.close()


async def test_palette_remove_shows_the_plan_then_removes(tmp_path):
    """The command palette's "Remove what odatui created": the same plan text as `odatui remove`, a confirmation,
    then the tenant holds no odatui profile or app."""
    import asyncio

    from odatui.service.setup import make_engine

    demo = start_demo(psso_app="present")
    try:
        engine = make_engine(demo.config, demo.secrets, directory=demo.sandbox.data_dir / "runs")
        assert (await engine.run()).exit_code == 0
        assert len(demo.sandbox.state()["ws1"]["profiles"]) == 1
        app = OdatuiApp(Session(demo_session=demo, engine_options=FAST), demo=True, still=True)
        async with app.run_test(size=(100, 40)) as pilot:
            await wait_for(pilot, lambda: app.loaded is not None, what="start-up")
            await pilot.press("ctrl+p")
            await type_text(pilot, "Remove what odatui")
            await pilot.pause(0.3)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the removal plan")
            question = str(app.screen.query_one("#question").render())
            assert "odatui would remove what it created" in question and "profile 'Okta Platform SSO'" in question
            assert len(demo.sandbox.state()["ws1"]["profiles"]) == 1  # nothing removed before the answer
            await pilot.press("y")
            await wait_for(pilot, lambda: not demo.sandbox.state()["ws1"]["profiles"], what="removal")
            await wait_for(pilot, lambda: not demo.sandbox.state()["ws1"]["apps"], what="app removal")
            await asyncio.sleep(0)
    finally:
        demo.close()


async def to_ws1_screen(app, pilot) -> None:
    """From start-up to the Workspace ONE screen (Welcome → Okta → WS1)."""
    await wait_for(pilot, lambda: app.loaded is not None, what="start-up")
    for _ in range(2):
        await pilot.press("ctrl+n")
        await pilot.pause()
    await wait_for(pilot, lambda: isinstance(app.screen, MdmScreen), what="WS1 screen")


async def test_missing_smart_group_offered_for_creation_with_a_confirmation():
    demo = start_demo(psso_app="present")
    try:
        app = OdatuiApp(Session(demo_session=demo, engine_options=FAST), demo=True, still=True)
        async with app.run_test(size=(100, 40)) as pilot:
            await to_ws1_screen(app, pilot)
            field = app.screen.query_one("#smart_group")
            field.value = "Okta PSSO Wave 3"
            app.screen.query_one("#test").focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), what="the offer to create it")
            question = str(app.screen.query_one("#question").render())
            assert "'Okta PSSO Wave 3'" in question and "macOS 14 or later" in question
            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, MdmScreen), what="back on the WS1 screen")
            result = app.screen.query_one("#test-result")
            await wait_for(pilot, lambda: str(result.render()).startswith(("✓", "✗")), what="test answer")
            assert str(result.render()).startswith("✓ create smart group 'Okta PSSO Wave 3'"), str(result.render())
            assert app.session.config.ws1.create_smart_groups is True
            assert not any(g["name"] == "Okta PSSO Wave 3" for g in demo.sandbox.state()["ws1"]["smart_groups"])
    finally:
        demo.close()


async def test_ws1_screen_takes_waves_separated_by_semicolons():
    demo = start_demo(psso_app="present")
    try:
        app = OdatuiApp(Session(demo_session=demo, engine_options=FAST), demo=True, still=True)
        async with app.run_test(size=(100, 40)) as pilot:
            await to_ws1_screen(app, pilot)
            app.screen.query_one("#smart_group").value = "Okta PSSO Pilot; Okta PSSO Macs"
            app.screen.query_one("#test").focus()
            await pilot.press("enter")
            result = app.screen.query_one("#test-result")
            await wait_for(pilot, lambda: str(result.render()).startswith(("✓", "✗")), what="test answer")
            assert "'Okta PSSO Pilot' (id" in str(result.render()) and "'Okta PSSO Macs' (id" in str(result.render())
            # Written in the new form: [[rollout.waves]] (with gates), not [ws1] smart_groups.
            config = app.session.config
            assert [(w.smart_group, w.gated) for w in config.waves()] == [("Okta PSSO Pilot", True),
                                                                          ("Okta PSSO Macs", True)]
            assert config.ws1.smart_groups == [] and [w.name for w in config.rollout.waves] == ["Okta PSSO Pilot",
                                                                                               "Okta PSSO Macs"]
    finally:
        demo.close()
