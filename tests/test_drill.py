"""The reliability drill: every step's main call fails once (429 with reset, 500, 503, dropped connection, read
timeout, slow answer) and the run still completes with no duplicate in the tenant; two odatui processes on one
target (the second refuses); a locked or absent keychain never hangs past the probe's limit; a full disk while
writing the run state leaves the old state readable.

The real engine runs against the real sandbox over HTTPS (latency 0); faults come from SandboxOptions.fault_rules.
"""

from __future__ import annotations

import asyncio
import collections
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]


def odatui(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odatui", *args], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, env={**os.environ, **(env or {})})


# ------------------------------------------------------------------------------------------ the fault matrix

# Each step's main route: the call that does the step's work (a create/update for changing steps).
MAIN_ROUTE = {
    "preflight.okta": ("GET", r"/\.well-known/okta-organization"),
    "okta.app": ("GET", r"/api/v1/apps"),
    "okta.assign": ("PUT", r"/api/v1/apps/[^/]+/groups/[^/]+"),
    "preflight.ws1": ("GET", r"/api/system/groups/search"),
    "ws1.upload": ("POST", r"/api/mam/blobs/uploadblob"),
    "ws1.upload.create": ("POST", r"/api/mam/groups/[^/]+/macos/apps"),
    "ws1.assign": ("PUT", r"/api/mam/apps/[^/]+/assignment-rules"),
    "ws1.profile": ("POST", r"/api/mdm/profiles/platforms/appleosx/create"),
    "verify": ("GET", r"/api/mdm/profiles/\d+"),
}
# (fault kind, rule extras): "timeout" holds the answer past the client's (shortened) read timeout.
FAULTS = {
    "429": {"fault": "429"},
    "500": {"fault": "500"},
    "503": {"fault": "503"},
    "drop": {"fault": "drop"},
    "timeout": {"fault": "timeout", "seconds": 4.0},
    "slow": {"fault": "slow", "seconds": 1.5},
}
CLIENT_READ_TIMEOUT = 2.0  # seconds; shorter than the "timeout" hold, longer than "slow"


def _short_timeout_clients(kind: str, ctx):
    """The real clients, with a read timeout short enough that a held answer times out within the drill."""
    if kind == "okta":
        from odatui.okta.client import OktaClient

        client = OktaClient.from_config(ctx.config.okta, ctx.secrets)
    else:
        from odatui.mdm.ws1.api.client import Ws1Client

        client = Ws1Client.from_config(ctx.config.ws1, ctx.secrets)
    http = getattr(client, "http", None)
    if isinstance(http, httpx.AsyncClient):
        http.timeout = httpx.Timeout(CLIENT_READ_TIMEOUT, connect=5.0)
    return client


def _identities(state: dict) -> dict[str, list]:
    """What must exist once: apps, profiles, rules, Okta assignments (orphan blobs are not duplicates)."""
    okta, ws1 = state.get("okta", {}), state.get("ws1", {})
    return {
        "okta apps": [a["label"] for a in okta.get("apps", [])],
        "okta group assignments": [(a["app_id"], a["group_id"]) for a in okta.get("group_assignments", [])],
        "ws1 apps": [(a.get("name") or a.get("ApplicationName"), a.get("version") or a.get("ActualFileVersion"))
                     for a in ws1.get("apps", [])],
        "ws1 assignment rules": [r["app_uuid"] for r in ws1.get("assignment_rules", [])],
        "ws1 profiles": [p["name"] for p in ws1.get("profiles", [])],
    }


def _duplicates(state: dict) -> dict[str, list]:
    return {kind: [k for k, n in collections.Counter(map(str, items)).items() if n > 1]
            for kind, items in _identities(state).items()
            if any(n > 1 for n in collections.Counter(map(str, items)).values())}


async def _run_demo(fault_rules: list[dict], **engine_options):
    from odatui.cli.demo import start_demo
    from odatui.engine.scheduler import Engine
    from odatui.mdm import run_order
    from odatui.core.state import StateStore

    session = await asyncio.to_thread(start_demo, psso_app="present", fault_rules=fault_rules)
    try:
        store = StateStore(session.config.target_key())
        engine = Engine(session.config, session.secrets, store, steps=run_order(session.config), retry_backoff=(0.05, 0.2),
                        client_factory=_short_timeout_clients, **engine_options)
        events: list = []
        result = await engine.run(on_event=events.append)
        return result, session.sandbox.state(), session.sandbox.world.faults.injected, events
    finally:
        await asyncio.to_thread(session.close)


MATRIX = [pytest.param(step, fault, id=f"{step}-{fault}") for step in MAIN_ROUTE for fault in FAULTS]


@pytest.mark.parametrize("step,fault", MATRIX)
async def test_fault_once_run_completes_without_duplicates(step, fault):
    method, path = MAIN_ROUTE[step]
    times = 2 if fault in ("500", "503") and method == "GET" else 1  # two in a row exercise the backoff
    rule = {"method": method, "path": path, "times": times, **FAULTS[fault]}
    result, state, injected, events = await _run_demo([rule])
    failed = {k: v for k, v in result.summary.items() if v != "succeeded"}
    assert result.exit_code == 0, f"{failed}; events: {[e for e in events if 'Failed' in type(e).__name__]}"
    assert injected, f"the fault rule {rule} never matched a request: is {path} still the step's route?"
    assert _duplicates(state) == {}
    ids = _identities(state)
    assert len(ids["ws1 apps"]) == 1 and len(ids["ws1 profiles"]) == 1 and len(ids["ws1 assignment rules"]) == 1


async def test_clean_run_is_the_baseline():
    result, state, injected, _ = await _run_demo([])
    assert result.exit_code == 0, result.summary
    assert injected == []
    assert _duplicates(state) == {}


async def test_rerun_after_success_adopts_everything():
    from odatui.cli.demo import start_demo
    from odatui.engine.scheduler import Engine
    from odatui.mdm import run_order
    from odatui.core.state import StateStore

    session = await asyncio.to_thread(start_demo, psso_app="present")
    try:
        for _ in range(2):  # the second run must find and adopt, not create again
            engine = Engine(session.config, session.secrets, StateStore(session.config.target_key()),
                            steps=run_order(session.config))
            assert (await engine.run()).exit_code == 0
        assert _duplicates(session.sandbox.state()) == {}
    finally:
        await asyncio.to_thread(session.close)


# ------------------------------------------------------------------------------------------ two processes, one target


def test_second_odatui_on_the_same_target_refuses(tmp_path, sandbox_factory, sandbox_env):
    import tomli_w

    from odatui.sandbox.samplepkg import make_sample_pkg

    # The first run is held up by a slow answer, so the second starts while it holds the lock (a step's read:
    # the organization group search comes first, to learn the tenant's identity, before the lock is taken).
    sb = sandbox_factory(fault_rules=[{"method": "GET", "path": r"/api/mdm/smartgroups/search", "fault": "slow",
                                       "seconds": 6.0, "times": 1}])
    data = sb.config_dict()
    data["rollout"]["package"] = str(make_sample_pkg(tmp_path / "OktaVerify-9.52.0.pkg"))
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(data))
    first = subprocess.Popen([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(config)], cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        lock_dir = Path(os.environ["XDG_STATE_HOME"]) / "odatui" / "runs"
        deadline = time.monotonic() + 20
        while not (lock_dir.exists() and any(p.read_text().strip() for p in lock_dir.glob("*.lock"))):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.05)
        second = odatui("apply", "--yes", "--config", str(config))
        assert second.returncode == 2, (second.stdout, second.stderr)
        assert "another odatui" in second.stderr and str(first.pid) in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert _duplicates(sb.state()) == {}


def test_state_lock_is_per_target_and_exclusive_across_processes(tmp_path):
    # The lock itself, without the engine: a second process on the same target gets StateError (exit 2).
    from odatui.core.errors import StateError
    from odatui.core.state import StateStore

    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from odatui.core.state import StateStore
        s = StateStore("acme.okta.com__ACME", Path({str(tmp_path)!r}))
        s.acquire(); print("locked", flush=True); sys.stdin.readline()
    """)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StateError) as caught:
            StateStore("acme.okta.com__ACME", tmp_path).acquire()
        assert caught.value.exit_code == 2 and str(holder.pid) in caught.value.message
        other = StateStore("other.okta.com__ACME", tmp_path)
        other.acquire()  # another target is not blocked
        other.release()
    finally:
        holder.communicate("\n", timeout=10)
    again = StateStore("acme.okta.com__ACME", tmp_path)
    again.acquire()  # released when the holder exits
    again.release()


# ------------------------------------------------------------------------------------------ keychain never hangs

HUNG_BACKEND = '''
import threading
from keyring.backend import KeyringBackend

class Keyring(KeyringBackend):
    """A Secret Service that never answers, as a locked collection waiting for an unseen prompt does."""
    priority = 10

    def get_password(self, service, username):
        threading.Event().wait()

    def set_password(self, service, username, password):
        threading.Event().wait()

    def delete_password(self, service, username):
        threading.Event().wait()
'''


def keychain_env(backend: str, tmp_path) -> dict[str, str]:
    """Environment for an odatui subprocess whose keychain is absent (fail backend) or never answers."""
    if backend == "absent":
        return {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    (tmp_path / "hung_keyring.py").write_text(HUNG_BACKEND)
    return {"PYTHON_KEYRING_BACKEND": "hung_keyring.Keyring",
            "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.parametrize("backend", ["absent", "locked"])
def test_keychain_probe_never_hangs_past_its_limit(backend, tmp_path):
    from odatui.core.secrets import PROBE_TIMEOUT

    env = keychain_env(backend, tmp_path)
    started = time.monotonic()
    proc = odatui("secrets", "status", env=env, timeout=PROBE_TIMEOUT * 4)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    assert ("no backend" if backend == "absent" else "locked") in proc.stdout
    assert "ODATUI_WS1__PASSWORD" in proc.stdout  # the fix for unattended runs is named
    # The probe's limit plus interpreter start-up; never the forever a locked keychain can take.
    assert elapsed < PROBE_TIMEOUT + 3.0, f"took {elapsed:.1f} s"


@pytest.mark.parametrize("backend", ["absent", "locked"])
def test_apply_without_secrets_exits_4_within_the_probe_limit(backend, tmp_path, sandbox):
    import tomli_w

    from odatui.core.secrets import PROBE_TIMEOUT

    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(sandbox.config_dict()))
    env = keychain_env(backend, tmp_path)
    started = time.monotonic()
    proc = odatui("apply", "--yes", "--only", "preflight.okta", "--config", str(config), env=env,
                  timeout=PROBE_TIMEOUT * 6)
    elapsed = time.monotonic() - started
    assert proc.returncode == 4, (proc.stdout, proc.stderr)
    assert "ODATUI_OKTA__API_TOKEN" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr
    assert elapsed < 2 * PROBE_TIMEOUT + 5.0, f"took {elapsed:.1f} s"


# ------------------------------------------------------------------------------------------ disk full


def test_full_disk_while_saving_state_keeps_the_old_state_readable(tmp_path):
    # A file-size limit makes the write fail like a full disk would (EFBIG instead of ENOSPC), for real.
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        from odatui.core.errors import StateError
        from odatui.core.state import StateStore
        store = StateStore("acme.okta.com__ACME", Path({str(tmp_path)!r}))
        state = store.load()
        state.step("okta.app").status = "succeeded"
        state.step("okta.app").outputs = {{"client_id": "0oa1234567890abcdefg"}}
        store.save(state)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        state.step("ws1.upload").outputs = {{"filler": "x" * 100000}}
        try:
            store.save(state)
        except StateError as exc:
            print("refused:", exc)
            sys.exit(0)
        sys.exit("the oversized save did not fail")
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "previous state is intact" in proc.stdout
    from odatui.core.state import StateStore

    state = StateStore("acme.okta.com__ACME", tmp_path).load()
    assert state.notes == []
    assert state.steps["okta.app"].outputs == {"client_id": "0oa1234567890abcdefg"}
    assert "ws1.upload" not in state.steps
    assert not list(tmp_path.glob(".*.tmp")), "a half-written temp file was left behind"
