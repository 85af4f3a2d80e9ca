"""The plain CLI faces through the real entry point (`python -m odatui …` in a child process) against a sandbox
running in this test process: apply, re-apply, --only, plan, retry, status, demo --unattended, and every exit
code (0 done, 1 failed, 2 usage/config, 3 needs action, 4 secrets unavailable)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rollout import demo_factory, duplicates, odatui_cli, tenant, writes  # noqa: F401 - demo_factory is a fixture

from odatui.core.config import load_config, parse_config, save_config


def config_file(session, tmp_path: Path, **changes: dict) -> Path:
    data = session.config.to_toml_dict()
    for table, values in changes.items():
        data[table].update(values)
    return save_config(parse_config(data), tmp_path / "odatui.toml")


def test_apply_from_empty_then_again_changes_nothing(demo_factory, sandbox_env, isolated_home):
    session = demo_factory()
    first = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Result: done (exit 0)" in first.stdout
    assert re.search(r"^\[\d\d:\d\d:\d\d\] ws1\.upload \d+%", first.stdout, re.M)  # plain progress lines
    state = session.sandbox.state()
    assert duplicates(state) == []
    assert tenant(state)["ws1_apps"] == [("Okta Verify", "9.52.0")]
    assert tenant(state)["okta_assignments"] == [("Mac Pilot",)]
    assert [p[0] for p in tenant(state)["profiles"]] == ["Okta Platform SSO"]

    before = len(session.sandbox.world.requests)
    second = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert second.returncode == 0, second.stdout + second.stderr
    assert writes(session.sandbox.world.requests[before:]) == []
    assert second.stdout.count(" unchanged: ") == 9 and " done: " not in second.stdout
    assert session.sandbox.state()["ws1"]["profiles"] == state["ws1"]["profiles"]

    # The config given is the one answers file: apply writes no second copy anywhere.
    assert not (isolated_home / "xdg_config_home" / "odatui" / "answers").exists()
    assert load_config(session.config_path) == session.config


def test_apply_without_yes_and_no_terminal_refuses_and_changes_nothing(demo_factory, sandbox_env):
    session = demo_factory()
    before = session.config_path.read_bytes()
    run = odatui_cli("apply", "--config", str(session.config_path))  # stdin is /dev/null
    assert run.returncode == 2, run.stdout + run.stderr
    assert "add --yes" in run.stderr and "Traceback" not in run.stderr
    assert session.sandbox.world.requests == []  # not even a read: refused before the engine starts
    assert session.config_path.read_bytes() == before


def test_only_ws1_profile_reruns_just_that_step(demo_factory, sandbox_env, tmp_path):
    session = demo_factory()
    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    version = session.sandbox.state()["ws1"]["profiles"][0]["version"]
    macos13 = config_file(session, tmp_path, rollout={"macos_min": 13})  # Platform SSO 1.0 shape: the profile changes

    before = len(session.sandbox.world.requests)
    run = odatui_cli("apply", "--yes", "--only", "ws1.profile", "--config", str(macos13))
    assert run.returncode == 0, run.stdout + run.stderr
    sent = session.sandbox.world.requests[before:]
    assert writes(sent) == ["POST /api/mdm/profiles/platforms/appleosx/update"]
    # What ws1.profile consumes (client ID, organization and smart group) is re-read from the live tenants, not
    # taken from the last run's state: those steps run again, read-only, and only the profile step writes.
    # ws1.profile needs ws1.assign (Okta Verify on the Mac before the profile), so the app's chain is re-read too.
    assert sorted(re.findall(r"\] (\S+) started", run.stdout)) == [
        "okta.app", "preflight.okta", "preflight.package", "preflight.ws1", "ws1.assign", "ws1.profile", "ws1.upload"]
    assert sorted(re.findall(r"\] (\S+) unchanged", run.stdout)) == [
        "okta.app", "preflight.okta", "preflight.package", "preflight.ws1", "ws1.assign", "ws1.upload"]
    profiles = session.sandbox.state()["ws1"]["profiles"]
    assert len(profiles) == 1 and profiles[0]["version"] == version + 1


def test_plan_shows_changes_and_writes_nothing(demo_factory, sandbox_env, isolated_home):
    session = demo_factory()
    run = odatui_cli("plan", "--config", str(session.config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    rows = {line.split()[0]: line.split()[1] for line in run.stdout.splitlines()[1:] if line[:1].isalpha()}
    assert rows["ws1.upload"] == "create" and rows["ws1.profile"] == "create" and rows["okta.assign"] == "create"
    assert rows["preflight.okta"] == "none" and rows["okta.app"] == "none"
    assert writes(session.sandbox.world.requests) == []
    assert not list((isolated_home / "xdg_state_home").rglob("*.json"))  # no run state either


def test_exit_2_for_bad_usage_and_missing_config(demo_factory, sandbox_env, tmp_path):
    session = demo_factory()
    unknown = odatui_cli("apply", "--yes", "--only", "ws1.nope", "--config", str(session.config_path))
    assert unknown.returncode == 2 and "unknown step id 'ws1.nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    incomplete = config_file(session, tmp_path, ws1={"smart_group": ""})
    missing = odatui_cli("apply", "--yes", "--config", str(incomplete))
    assert missing.returncode == 2 and "ws1.smart_group" in missing.stderr and "ODATUI_WS1__SMART_GROUP" in missing.stderr

    absent = odatui_cli("apply", "--yes", "--config", str(tmp_path / "nope.toml"))
    assert absent.returncode == 2 and "no config file" in absent.stderr
    assert writes(session.sandbox.world.requests) == []


def test_exit_3_when_the_psso_app_is_missing_the_other_branch_finishes(demo_factory, sandbox_env):
    session = demo_factory(psso_app="absent")
    run = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert run.returncode == 3, run.stdout + run.stderr
    assert "okta.app NEEDS YOUR ACTION" in run.stdout
    summary = dict(re.findall(r"^  (\S+)\s+(\S+)", run.stdout.split("Summary:")[1], re.M))
    assert summary["okta.app"] == "needs-action" and summary["ws1.assign"] == "succeeded"
    assert summary["ws1.profile"] == "skipped" and summary["verify"] == "skipped"

    session.add_psso_app()  # the admin adds it in the Admin Console
    again = odatui_cli("retry", "--yes", "--config", str(session.config_path))
    assert again.returncode == 0, again.stdout + again.stderr
    started = re.findall(r"\] (\S+) started", again.stdout)
    retried = ["okta.app", "okta.assign", "ws1.profile", "verify"]
    assert [s for s in started if s in retried] == retried
    # The prerequisites that succeeded last time are re-read from the live tenant (unchanged), not trusted.
    assert set(started) - set(retried) <= set(re.findall(r"\] (\S+) unchanged", again.stdout))


def test_a_missing_okta_group_fails_its_step_with_exit_2_then_retry_reruns_it(demo_factory, sandbox_env, tmp_path):
    session = demo_factory()
    typo = config_file(session, tmp_path, okta={"groups": ["Mac Pilots"]})
    run = odatui_cli("apply", "--yes", "--config", str(typo))
    # A group that does not exist is bad input (issue 21): exit 2, naming the field and the fix.
    assert run.returncode == 2, run.stdout + run.stderr
    assert 'okta.assign FAILED: okta.groups: the Okta group "Mac Pilots" does not exist' in run.stdout
    assert "Traceback" not in run.stdout + run.stderr

    fixed = config_file(session, tmp_path, okta={"groups": ["Mac Pilot"]})
    retry = odatui_cli("retry", "--yes", "--config", str(fixed))
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert "Retrying: okta.assign, verify" in retry.stdout
    assert tenant(session.sandbox.state())["okta_assignments"] == [("Mac Pilot",)]


def test_exit_4_when_no_secret_is_available(demo_factory, tmp_path):
    session = demo_factory()  # no sandbox_env: no ODATUI_* secrets, and keyring's fail backend
    run = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert run.returncode == 4, run.stdout + run.stderr
    assert "ODATUI_OKTA__API_TOKEN" in run.stdout + run.stderr and "secrets set" in run.stdout + run.stderr
    assert writes(session.sandbox.world.requests) == []


def test_status_json_reports_steps_and_rollout(demo_factory, sandbox_env):
    session = demo_factory()
    assert odatui_cli("status", "--config", str(session.config_path)).stdout.startswith("No run yet")
    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    run = odatui_cli("status", "--json", "--config", str(session.config_path))
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    statuses = {s: v["status"] for s, v in report["steps"].items()}
    assert statuses.pop("ws1.certificate") == "skipped"  # the sandbox's config: rollout.scep = "static"
    assert statuses == {s: "succeeded" for s in statuses}
    assert len(report["steps"]) == 10 and report["steps"]["okta.app"]["outputs"]["client_id"].startswith("0oa")
    devices = report["steps"]["preflight.ws1"]["outputs"]["smart_group_devices"]
    assert report["rollout_error"] is None and report["rollout"]["devices"] == devices
    assert 0 <= report["rollout"]["profile_installed"] <= devices

    text = odatui_cli("status", "--config", str(session.config_path)).stdout
    assert "verify" in text and f"Rollout to smart group 'Okta PSSO Macs': {devices} devices" in text


def test_demo_unattended_runs_the_whole_plan():
    run = odatui_cli("demo", "--unattended")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Result: done (exit 0)" in run.stdout and run.stdout.count(" succeeded ") == 9


def _apply_on_a_terminal(config_path: Path, answer: str) -> tuple[int, str]:
    """`odatui apply` with a pseudo-terminal as stdin/stdout, answering the confirmation with `answer`."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    from rollout import REPO

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "odatui", "apply", "--config", str(config_path)], cwd=REPO,
                            stdin=slave, stdout=slave, stderr=slave, env=dict(os.environ), close_fds=True)
    os.close(slave)
    seen, answered = b"", False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        if not answered and b"[y/N]" in seen:
            os.write(master, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    os.close(master)
    return proc.wait(timeout=30), seen.decode(errors="replace")


def test_apply_on_a_terminal_shows_the_plan_and_asks_first(demo_factory, sandbox_env):
    session = demo_factory()
    code, screen = _apply_on_a_terminal(session.config_path, "n")
    assert code == 0 and "ws1.upload" in screen and "create" in screen and "Nothing was changed." in screen
    assert writes(session.sandbox.world.requests) == []

    code, screen = _apply_on_a_terminal(session.config_path, "y")
    assert code == 0 and "Result: done (exit 0)" in screen
    assert tenant(session.sandbox.state())["ws1_apps"] == [("Okta Verify", "9.52.0")]


def test_plain_progress_line_format():
    import io

    from odatui.core.events import StepProgress
    from odatui.cli.runner import PlainPrinter
    from odatui.service.words import progress_text

    event = StepProgress("ws1.upload", 0.42, "Uploading", bytes_done=420_000_000, bytes_total=1_000_000_000,
                         rate=85_000_000)
    assert progress_text(event) == "42% 420 MB/1.0 GB 85 MB/s"
    assert progress_text(StepProgress("okta.assign", None, 'assigning "Mac Pilot"')) == 'assigning "Mac Pilot"'

    out, now = io.StringIO(), [1_700_000_000.0]
    printer = PlainPrinter(out, clock=lambda: now[0])
    for i in range(50):  # 50 events within 0.5 s: one line, then the last (100 %) one
        now[0] += 0.01
        printer(StepProgress("ws1.upload", (i + 1) / 50, bytes_done=i, bytes_total=50))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[-1].endswith("ws1.upload 100% 49 B/50 B")
    assert re.fullmatch(r"\[\d\d:\d\d:\d\d\] ws1\.upload 2% 0 B/50 B", lines[0])


def test_http_level_retries_reach_the_steps_events(demo_factory, sandbox_env):
    """A 503 absorbed by the HTTP retry policy is an event of the step that made the call (the TUI's pane shows it;
    the plain CLI prints it), not only a line in the log file."""
    session = demo_factory(fault_rules=[{"method": "GET", "path": "/api/mdm/smartgroups.*", "fault": "503",
                                         "times": 1}])
    run = odatui_cli("apply", "--yes", "--only", "preflight.ws1", "--config", str(session.config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"preflight\.ws1 retry: GET /api/mdm/smartgroups\S*: HTTP 503; retry 1/\d in [\d.]+s",
                     run.stdout), run.stdout
