"""One validation for both faces (issue 26): the Review screen runs the checks `odatui plan` / `apply` run, so at
floor 14 without the Device Access SCEP values Start is refused with the CLI's own message, and no request reaches
the sandbox (before, the wizard uploaded and assigned Okta Verify, then failed at the profile)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from keyring_session import keyring_session, real_keyring  # noqa: F401 - fixtures

from odatui.core.config import save_config
from odatui.cli.demo import start_demo
from odatui.tui.app import OdatuiApp
from odatui.tui.screens.okta import OktaScreen
from odatui.tui.screens.review import ReviewScreen
from odatui.tui.session import Session


async def wait_for(pilot, predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}; screen is {type(pilot.app.screen).__name__}"
        await pilot.pause(0.05)


@pytest.mark.keychain
async def test_review_refuses_start_without_the_scep_values_at_floor_14(tmp_path, isolated_home, real_keyring):
    from textual.widgets import Input

    demo = start_demo(psso_app="present")
    demo.secrets.remember("okta.scep_challenge", "")  # the secret key was never given
    try:
        app = OdatuiApp(Session(demo_session=demo), demo=True, still=True)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.loaded is not None, "start-up")
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: isinstance(app.screen, OktaScreen), "Okta screen")
            app.screen.query_one("#scep_url", Input).value = ""  # the SCEP URL cleared
            app.screen.query_one("#scep_challenge", Input).value = ""
            for _ in range(3):
                await pilot.press("ctrl+n")
                await pilot.pause()
            await wait_for(pilot, lambda: isinstance(app.screen, ReviewScreen), "Review")
            status = app.screen.query_one("#plan-status")
            await wait_for(pilot, lambda: "⧗" not in str(status.render()), "the plan (or its refusal)")
            assert app.session.config.rollout.macos_min == 14 and app.session.config.okta.scep_url == ""
            requests_before = len(demo.sandbox.world.requests)
            await pilot.press("ctrl+n")  # Start
            await pilot.pause(0.5)
            assert isinstance(app.screen, ReviewScreen), "Start began a run the CLI refuses"
            shown = " ".join(str(status.render()).split())
            config = app.session.config
        assert len(demo.sandbox.world.requests) == requests_before  # Start sent nothing
        assert not [r for r in demo.sandbox.world.requests if r["method"] in ("POST", "PUT", "PATCH", "DELETE")
                    and not r["path"].endswith(("/token", "/oauth2/v1/token"))]
        # The CLI with the same answers: `odatui apply --yes` refuses with the same words (exit 2).
        answers = save_config(config, tmp_path / "answers.toml")
        # A real keychain (gnome-keyring) that works and holds no secret key, as the admin's.
        env = {k: v for k, v in os.environ.items() if k != "ODATUI_OKTA__SCEP_CHALLENGE"}
        cli = subprocess.run([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(answers)],
                             capture_output=True, text=True, env=env, timeout=60, stdin=subprocess.DEVNULL)
        assert cli.returncode == 2, cli.stdout + cli.stderr
        first = cli.stderr.splitlines()[0].removeprefix("odatui: ")
        assert first == "the config is missing okta.scep_url, okta.scep_challenge", first
        assert f"Start refused, as `odatui apply` refuses it: {first}" in shown, shown
    finally:
        demo.close()
