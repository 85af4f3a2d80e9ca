"""Kill-and-resume: `odatui apply` is SIGKILLed at seeded points during a real run (a child process against a
sandbox in this test process), then run again. The tenant must end exactly as after an uninterrupted run, with
no second app, rule, assignment or profile."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from rollout import REPO, demo_factory, duplicates, odatui_cli, tenant  # noqa: F401 - demo_factory is a fixture

LATENCY_MS = 20  # so that a kill lands while requests are in flight, not between runs
KILL_SEED = 20241126
KILL_RUNS = 5


@pytest.fixture
def reference(demo_factory, sandbox_env):
    """The tenant after one uninterrupted apply, and how many requests that took."""
    session = demo_factory(latency_ms=LATENCY_MS)
    run = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    return tenant(session.sandbox.state()), session.sandbox.world.requests_total


def kill_points(total_requests: int) -> list[tuple[int, float]]:
    """(kill after this many requests were answered, extra delay) — seeded, spread over the whole run."""
    rng = random.Random(KILL_SEED)
    points = sorted(rng.sample(range(1, total_requests - 1), KILL_RUNS))
    return [(n, rng.uniform(0, LATENCY_MS / 1000)) for n in points]


def test_sigkill_at_seeded_points_then_resume_matches_an_uninterrupted_run(demo_factory, sandbox_env, reference):
    expected, total = reference
    assert total >= 20  # the full run is long enough for the kill points to fall inside it
    for after_requests, delay in kill_points(total):
        session = demo_factory(latency_ms=LATENCY_MS)
        world = session.sandbox.world
        proc = subprocess.Popen([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(session.config_path)],
                                cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while world.requests_total < after_requests and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        output = proc.communicate(timeout=30)[0].decode()
        assert proc.returncode == -signal.SIGKILL, f"finished before the kill at request {after_requests}:\n{output}"
        killed_at = world.requests_total

        resumed = odatui_cli("apply", "--yes", "--config", str(session.config_path))
        where = f"killed after request {killed_at} (point {after_requests})"
        assert resumed.returncode == 0, f"{where}\n{resumed.stdout}{resumed.stderr}"
        state = session.sandbox.state()
        assert duplicates(state) == [], where
        assert tenant(state) == expected, where


def test_ctrl_c_records_cancelled_and_the_next_apply_resumes(demo_factory, sandbox_env, reference, isolated_home):
    import json

    expected, _ = reference
    session = demo_factory(latency_ms=LATENCY_MS)
    world = session.sandbox.world
    proc = subprocess.Popen([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(session.config_path)],
                            cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    while world.requests_total < 8 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert "interrupted; the run state is kept" in err and "Traceback" not in err
    state_file = next((isolated_home / "xdg_state_home").rglob(f"{session.config.target_key()}.json"))
    statuses = {sid: rec["status"] for sid, rec in json.loads(state_file.read_text())["steps"].items()}
    assert "cancelled" in statuses.values() and "running" not in statuses.values(), statuses

    resumed = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert duplicates(session.sandbox.state()) == [] and tenant(session.sandbox.state()) == expected


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_end_like_ctrl_c_and_retry_reruns_the_interrupted_steps(
        demo_factory, sandbox_env, reference, isolated_home, sig, code):
    """A supervisor's SIGTERM or a closing SSH session's SIGHUP: running steps recorded as cancelled, exit 128+N
    (README: exit codes), and `odatui retry` re-runs exactly those (and what they blocked) to the same tenant."""
    import json

    expected, _ = reference
    session = demo_factory(latency_ms=LATENCY_MS)
    world = session.sandbox.world
    proc = subprocess.Popen([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(session.config_path)],
                            cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    while world.requests_total < 8 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    started = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 5
    assert proc.returncode == code, out + err
    assert f"exit {code}" in err and "Traceback" not in err
    state_file = next((isolated_home / "xdg_state_home").rglob(f"{session.config.target_key()}.json"))
    statuses = {sid: rec["status"] for sid, rec in json.loads(state_file.read_text())["steps"].items()}
    cancelled = sorted(sid for sid, status in statuses.items() if status == "cancelled")
    assert cancelled and "running" not in statuses.values(), statuses

    retried = odatui_cli("retry", "--yes", "--config", str(session.config_path))
    assert retried.returncode == 0, retried.stdout + retried.stderr
    line = next(x for x in retried.stdout.splitlines() if x.startswith("Retrying: "))
    assert set(cancelled) <= set(line.removeprefix("Retrying: ").split(", ")), (cancelled, line)
    assert duplicates(session.sandbox.state()) == [] and tenant(session.sandbox.state()) == expected


def test_step_left_running_by_kill_9_is_retried(demo_factory, sandbox_env, reference, isolated_home):
    import json

    expected, _ = reference
    session = demo_factory(latency_ms=LATENCY_MS)
    world = session.sandbox.world
    proc = subprocess.Popen([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(session.config_path)],
                            cwd=REPO, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    state_file = None
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:  # kill once the saved state shows a running step
        found = list((isolated_home / "xdg_state_home").rglob(f"{session.config.target_key()}.json"))
        if found:
            try:
                steps = json.loads(found[0].read_text())["steps"]
            except ValueError:
                steps = {}
            if any(rec["status"] == "running" for rec in steps.values()) and world.requests_total >= 8:
                proc.send_signal(signal.SIGKILL)
                state_file = found[0]
                break
        time.sleep(0.002)
    proc.wait(10)
    assert state_file is not None, "the run finished before a step was seen running"
    running = sorted(sid for sid, rec in json.loads(state_file.read_text())["steps"].items()
                     if rec["status"] == "running")
    assert running

    retried = odatui_cli("retry", "--yes", "--config", str(session.config_path))
    assert retried.returncode == 0, retried.stdout + retried.stderr
    line = next(x for x in retried.stdout.splitlines() if x.startswith("Retrying: "))
    assert set(running) <= set(line.removeprefix("Retrying: ").split(", ")), (running, line)
    assert duplicates(session.sandbox.state()) == [] and tenant(session.sandbox.state()) == expected
