"""Run state: round trip, atomic writes under SIGKILL, the per-target lock across processes, private modes,
damaged and newer files kept aside, and a full disk (a real 64 KiB tmpfs when we may mount one)."""

from __future__ import annotations

import json
import os
import socket
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from odatui.core.errors import StateError
from odatui.core.state import FAILED, SCHEMA_VERSION, SUCCEEDED, RunState, StateStore

REPO = Path(__file__).resolve().parents[1]
TARGET = "acme.okta.com__ACME"


def run_python(code: str, *args: str, **kw) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=REPO, text=True, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, **kw)


def sample(target: str = TARGET) -> RunState:
    state = RunState(target)
    rec = state.step("okta.app")
    rec.status, rec.attempts, rec.started, rec.finished = SUCCEEDED, 1, 1.0, 2.0
    rec.outputs = {"app_id": "0oa1", "client_id": "0oaABCDEFGHIJ1234567"}
    failed = state.step("ws1.upload")
    failed.status, failed.attempts, failed.last_error, failed.retryable = FAILED, 3, "HTTP 503", True
    return state


def test_save_and_load_round_trip():
    store = StateStore(TARGET)
    store.save(sample())
    loaded = StateStore(TARGET).load()
    assert loaded.steps == sample().steps
    assert loaded.outputs() == {"okta.app": {"app_id": "0oa1", "client_id": "0oaABCDEFGHIJ1234567"}}
    assert loaded.failed() == ["ws1.upload"]
    assert json.loads(store.path.read_text())["schema"] == SCHEMA_VERSION


def test_files_are_0600_and_dirs_0700():
    with StateStore(TARGET) as store:
        store.save(sample())
    state_root = Path(os.environ["XDG_STATE_HOME"]) / "odatui"
    for directory in (state_root, state_root / "runs"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    for file in (store.path, store.lock_path):
        assert stat.S_IMODE(file.stat().st_mode) == 0o600, file


# --- atomicity -----------------------------------------------------------------------------------------------------

WRITER = """
import sys
from pathlib import Path
from odatui.core.state import RunState, StateStore
store = StateStore(sys.argv[1], Path(sys.argv[2]))
n = 0
while True:
    n += 1
    state = RunState(sys.argv[1])
    # ~4 MB per save so that the kill lands inside a write most of the time
    for i in range(40):
        state.step(f"step.{i}").outputs = {"generation": n, "blob": str(n % 10) * 100_000}
    store.save(state)
    if n == 1:
        print("first", flush=True)
"""


def check_whole(store: StateStore) -> int:
    """The file is complete and consistent: every step carries the same generation. Returns that generation."""
    state = store.load()
    assert not state.notes, state.notes  # nothing had to be put aside
    generations = {rec.outputs["generation"] for rec in state.steps.values()}
    assert len(state.steps) == 40 and len(generations) == 1
    (gen,) = generations
    assert all(rec.outputs["blob"] == str(gen % 10) * 100_000 for rec in state.steps.values())
    return gen


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.35, 0.6, 1.0])
def test_a_writer_killed_mid_write_leaves_a_whole_file(tmp_path, delay):
    writer = run_python(WRITER, TARGET, str(tmp_path))
    try:
        assert writer.stdout.readline().strip() == "first"
        time.sleep(delay)
        # Kill while a temp file is being written, when we can see one; else at the delay.
        deadline = time.monotonic() + 2
        while not (mid_write := bool(list(tmp_path.glob(".*.tmp")))) and time.monotonic() < deadline:
            time.sleep(0.001)
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(10)
    assert writer.returncode == -signal.SIGKILL
    assert mid_write, "the writer was never seen inside a write; the kill proved nothing"
    store = StateStore(TARGET, tmp_path)
    assert check_whole(store) >= 1
    # The next run writes over the killed run's leftovers without trouble.
    store.save(sample())
    assert store.load().steps == sample().steps


# --- the lock ------------------------------------------------------------------------------------------------------

HOLDER = """
import sys, time
from pathlib import Path
from odatui.core.state import StateStore
store = StateStore(sys.argv[1], Path(sys.argv[2]))
store.acquire()
print("held", flush=True)
time.sleep(600)
"""


def test_a_second_process_on_the_same_target_is_refused(tmp_path):
    holder = run_python(HOLDER, TARGET, str(tmp_path))
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StateError) as err:
            StateStore(TARGET, tmp_path).acquire()
        assert f"another odatui (pid {holder.pid} on {socket.gethostname()}) is working on this target ({TARGET})" in err.value.message
        assert "duplicates" in err.value.hint and err.value.exit_code == 2
        # Another target is independent.
        with StateStore("other.okta.com__X", tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait(10)
    # A killed holder leaves no stale lock: the kernel dropped the flock with the process.
    with StateStore(TARGET, tmp_path) as store:
        assert store.lock_path.read_text() == f"{os.getpid()} {socket.gethostname()}\n"


def test_the_lock_is_released_on_exit_within_one_process(tmp_path):
    with StateStore(TARGET, tmp_path):
        with pytest.raises(StateError):
            StateStore(TARGET, tmp_path).acquire()  # flock is per open file: a second store in-process refuses too
    with StateStore(TARGET, tmp_path):
        pass


# --- damaged and newer files -------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, why", [
    ('{"schema": 1, "target": "x", "steps": {"a": {"stat', "damaged"),
    ("\x00\x01garbage", "damaged"),
    ('["a list"]', "not an odatui state file"),
    ('{"schema": 1, "target": "x", "steps": {"a": {"colour": "red"}}}', "damaged"),
    (json.dumps({"schema": SCHEMA_VERSION + 1, "target": TARGET, "steps": {}}), f"newer odatui (schema {SCHEMA_VERSION + 1})"),
])
def test_unusable_file_is_kept_aside_not_overwritten(tmp_path, content, why):
    store = StateStore(TARGET, tmp_path)
    store.path.write_text(content)
    state = store.load()
    assert state.steps == {}
    (note,) = state.notes
    assert why in note
    aside = [p for p in tmp_path.iterdir() if "unreadable" in p.name]
    assert len(aside) == 1 and str(aside[0]) in note
    assert aside[0].read_text() == content
    store.save(state)
    assert aside[0].read_text() == content  # saving the fresh state did not touch the kept copy


def test_two_damaged_files_in_one_second_are_both_kept(tmp_path):
    store = StateStore(TARGET, tmp_path)
    for content in ("first damaged", "second damaged"):
        store.path.write_text(content)
        store.load()
    kept = sorted(p.read_text() for p in tmp_path.iterdir() if "unreadable" in p.name)
    assert kept == ["first damaged", "second damaged"]


# --- a full disk ---------------------------------------------------------------------------------------------------

@pytest.fixture
def tiny_disk(tmp_path):
    """A real 64 KiB tmpfs (needs root and mount); skipped where we may not mount."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a real full disk needs root to mount a 64 KiB tmpfs")
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mountpoint)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield mountpoint
    subprocess.run(["umount", str(mountpoint)], check=True)


def test_disk_full_raises_state_error_and_keeps_the_old_state(tiny_disk):
    store = StateStore(TARGET, tiny_disk)
    store.save(sample())
    big = sample()
    big.step("ws1.upload").outputs = {"blob": "x" * 200_000}
    with pytest.raises(StateError) as err:
        store.save(big)
    assert "No space left on device" in err.value.message and "previous state is intact" in err.value.message
    assert err.value.hint == "free some disk space"
    assert StateStore(TARGET, tiny_disk).load().steps == sample().steps
    assert not list(tiny_disk.glob(".*.tmp"))  # the half-written temp file was removed


def test_rebind_moves_a_spelling_keyed_state_to_the_canonical_name_and_links_the_spelling(tmp_path):
    # An older odatui kept the state under the config's spelling: the first run that knows the tenant's identity
    # resumes it under the canonical name, and the spelling keeps pointing there (export, bundle, the wizard).
    old = StateStore("127.0.0.1_8443__ACME", tmp_path)
    state = old.load()
    state.step("okta.app").status = "succeeded"
    old.save(state)
    canonical = old.rebind("okta-00o1__ws1-og570-x")
    assert canonical.path.name == "okta-00o1__ws1-og570-x.json" and not canonical.path.is_symlink()
    assert canonical.load().steps["okta.app"].status == "succeeded"
    assert old.path.is_symlink() and old.load().steps["okta.app"].status == "succeeded"
    # A second spelling of the same tenant with its own history: the canonical one wins, the other is kept aside.
    other = StateStore("localhost_8443__acme", tmp_path)
    other.save(other.load())
    assert other.rebind("okta-00o1__ws1-og570-x").path == canonical.path
    assert other.path.is_symlink() and list(tmp_path.glob("localhost_8443__acme.superseded-*.json"))
    # The tenant at that spelling became another org: the link follows the identity.
    moved = old.rebind("okta-00o2__ws1-og570-y")
    assert os.readlink(old.path) == moved.path.name


def test_tenant_locks_refuse_a_second_holder_with_its_pid(tmp_path):
    from odatui.core.locks import TenantLocks

    first = TenantLocks(("okta-00o1", "ws1-og570-x"), tmp_path)
    first.acquire()
    try:
        with pytest.raises(StateError, match=rf"another odatui \(pid {os.getpid()} on {socket.gethostname()}\) is working on this tenant"):
            TenantLocks(("ws1-og570-x",), tmp_path).acquire()
    finally:
        first.release()
    TenantLocks(("ws1-og570-x",), tmp_path).acquire()  # free again once released


def test_rebind_adopts_the_state_of_a_run_that_could_not_confirm_the_tenants(tmp_path):
    spelled = StateStore("127.0.0.1_8443__ACME", tmp_path)
    offline = spelled.rebind("unconfirmed.okta-127.0.0.1-8443_unconfirmed.ws1-127.0.0.1-8443-acme")
    state = offline.load()
    state.step("ws1.upload").status = "succeeded"
    offline.save(state)
    canonical = StateStore("127.0.0.1_8443__ACME", tmp_path).rebind("okta-00o1_ws1-og570-x")
    assert canonical.load().steps["ws1.upload"].status == "succeeded" and not offline.path.exists()
