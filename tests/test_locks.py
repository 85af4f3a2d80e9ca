"""One lock per tenant for every process on the machine: two login sessions (two XDG_RUNTIME_DIRs), two state
folders, two users (root and nobody), cron or sudo beside a shell all meet on one lock file in one shared folder
(odatui.core.locks.lock_dir), and a link planted there is never followed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from rollout import REPO, demo_factory, duplicates, writes  # noqa: F401 - demo_factory is a fixture

from odatui.core.errors import StateError
from odatui.core.locks import SHARED_LOCK_DIR, TenantLocks, lock_dir

NOBODY = 65534


def spawn(config: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(config)], cwd=REPO,
                            env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)


def test_two_applies_from_two_login_sessions_and_state_folders_end_with_one_profile(demo_factory, sandbox_env,
                                                                                     tmp_path):
    session = demo_factory(latency_ms=30)  # long enough for the two runs to overlap
    procs = []
    for n in range(2):
        runtime = tmp_path / f"runtime-{n}"  # what cron and a login shell (or two users) have: two of these
        runtime.mkdir(mode=0o700)
        procs.append(spawn(session.config_path, {"XDG_RUNTIME_DIR": str(runtime),
                                                 "XDG_STATE_HOME": str(tmp_path / f"state-{n}")}))
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0 or (code == 2 and "another odatui" in err), out + err
    state = session.sandbox.state()
    assert len(state["ws1"]["profiles"]) == 1 and len(state["ws1"]["apps"]) == 1, state["ws1"]
    assert duplicates(state) == []
    # and a later run from either session still succeeds (no "two profiles" failure on every run after)
    again = subprocess.run([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(session.config_path)],
                           cwd=REPO, env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state-1")},
                           capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert again.returncode == 0, again.stdout + again.stderr


def test_the_lock_folder_is_one_for_the_machine_whatever_the_session(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert lock_dir() == Path(SHARED_LOCK_DIR)
    assert os.stat(SHARED_LOCK_DIR).st_mode & 0o1777 == 0o1777  # every user adds locks; the sticky bit guards them


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a second user (nobody)")
def test_two_users_on_one_tenant_exclude_each_other():
    name = f"okta-test{uuid.uuid4().hex[:12]}"
    hold = ("import sys, time\nfrom odatui.core.locks import TenantLocks\n"
            f"TenantLocks(({name!r},)).acquire()\nprint('held', flush=True)\nsys.stdin.read()\n")
    # nobody holds it: root is refused, told which pid holds it
    other = subprocess.Popen(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                              sys.executable, "-c", hold], cwd=REPO, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "HOME": "/"})
    try:
        assert other.stdout.readline().strip() == "held", other.stderr.read()
        with pytest.raises(StateError) as err:
            TenantLocks((name,)).acquire()
        assert f"another odatui (pid {other.pid} on {socket.gethostname()})" in err.value.message
    finally:
        other.communicate("", timeout=30)
    # root holds it: nobody is refused (the file root made is open to every user, without O_CREAT)
    mine = TenantLocks((name,))
    mine.acquire()
    try:
        probe = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                                sys.executable, "-c", f"from odatui.core.locks import TenantLocks\n"
                                f"TenantLocks(({name!r},)).acquire()"], cwd=REPO, capture_output=True, text=True,
                               timeout=60, env={**os.environ, "HOME": "/"})
        assert probe.returncode != 0 and f"another odatui (pid {os.getpid()} on" in probe.stderr, probe.stderr
    finally:
        mine.release()
        os.unlink(Path(SHARED_LOCK_DIR) / f"{name}.lock")


def test_a_link_planted_at_a_lock_file_is_not_followed(monkeypatch, tmp_path):
    shared = tmp_path / "locks"
    shared.mkdir(mode=0o1777)
    os.chmod(shared, 0o1777)
    monkeypatch.setenv("ODATUI_LOCK_DIR", str(shared))
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    (shared / "okta-x.lock").symlink_to(victim)
    with pytest.raises(StateError) as err:
        TenantLocks(("okta-x",)).acquire()
    assert "okta-x.lock" in err.value.message and "remove" in (err.value.hint or "")
    assert victim.read_text() == "root's file\n"


def test_a_shared_lock_folder_without_the_sticky_bit_or_a_link_in_its_place_is_refused(monkeypatch, tmp_path):
    loose = tmp_path / "loose"
    loose.mkdir()
    os.chmod(loose, 0o777)
    monkeypatch.setenv("ODATUI_LOCK_DIR", str(loose))
    with pytest.raises(StateError, match="not sticky"):
        lock_dir()
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    monkeypatch.setenv("ODATUI_LOCK_DIR", str(link))
    with pytest.raises(StateError, match="not a folder"):
        lock_dir()
