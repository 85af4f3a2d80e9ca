"""One identity per target, and no trust in stale state: real odatui processes against the real sandbox.

- Two spellings of one tenant (`ACME`/`acme`, `127.0.0.1`/`localhost`), even from two state folders, are one
  target: the runs exclude each other and the tenant ends with one app and one profile.
- A sandbox replaced on the same port (a fresh org, or the same org restored without what odatui made) never
  gets the old client ID, `verify` never passes on the old state, and `status`/`retry` call old successes stale.
"""

from __future__ import annotations

import asyncio
import json
import re
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rollout import REPO, demo_factory, duplicates, odatui_cli, writes  # noqa: F401 - demo_factory is a fixture

PSSO_LABEL = "Platform Single Sign-On for macOS"


def write_config(sandbox, package: Path, path: Path, *, group_id: str | None = None, host: str | None = None) -> Path:
    from odatui.core.config import parse_config, save_config

    data = sandbox.config_dict()
    data["rollout"]["package"] = str(package)
    if group_id:
        data["ws1"]["group_id"] = group_id
    if host:
        for table, key in (("okta", "org_url"), ("ws1", "api_url"), ("ws1", "oauth_token_url")):
            data[table][key] = data[table][key].replace("127.0.0.1", host)
    return save_config(parse_config(data, source="test"), path)


def spawn(config: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "odatui", *(args or ("apply", "--yes")), "--config", str(config)],
                            cwd=REPO, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)


@pytest.fixture
def runtime_dir(tmp_path, monkeypatch):
    """A per-login-session folder private to this test (the tenant locks no longer live there: see test_locks)."""
    path = tmp_path / "xdg-runtime"
    path.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(path))
    return path


@pytest.mark.parametrize("spelling", ["group-id-case", "loopback-name"])
def test_two_applies_on_two_spellings_from_two_state_folders_make_one_app_and_one_profile(
        demo_factory, sandbox_env, runtime_dir, tmp_path, spelling):
    session = demo_factory(latency_ms=30)  # a run takes long enough for the two to overlap
    sb = session.sandbox
    if spelling == "group-id-case":
        one = write_config(sb, session.package, tmp_path / "a.toml", group_id="ACME")
        two = write_config(sb, session.package, tmp_path / "b.toml", group_id="acme")
    else:  # the sandbox's certificate names both (odatui/sandbox/server.py issues it for 127.0.0.1 and localhost)
        one = write_config(sb, session.package, tmp_path / "a.toml", host="127.0.0.1")
        two = write_config(sb, session.package, tmp_path / "b.toml", host="localhost")
    procs = [spawn(cfg, {"XDG_STATE_HOME": str(tmp_path / f"state-{n}")}) for n, cfg in enumerate((one, two))]
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for code, out, err in results:
        # Each run either did the rollout (or adopted the other's) or was refused before changing anything.
        assert code == 0 or (code == 2 and "another odatui" in err), out + err
    state = sb.state()
    assert len(state["ws1"]["apps"]) == 1 and len(state["ws1"]["profiles"]) == 1, state["ws1"]
    assert duplicates(state) == []
    # A later run on either spelling finds the one app and profile (it does not fail on a duplicate).
    again = odatui_cli("apply", "--yes", "--config", str(two), env={"XDG_STATE_HOME": str(tmp_path / "state-0")})
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_run_on_another_spelling_is_refused_while_the_tenant_is_locked(demo_factory, sandbox_env, runtime_dir,
                                                                          tmp_path):
    from odatui.core.identity import resolve
    from odatui.core.locks import TenantLocks
    from odatui.steps.base import Context

    session = demo_factory()
    ctx = Context(session.config, session.secrets)

    async def who():
        try:
            return await resolve(ctx)
        finally:
            await ctx.aclose()

    identity = asyncio.run(who())
    assert identity.confirmed == ("okta", "ws1")
    okta_org = session.sandbox.world.emulators["okta"].org_id
    assert identity.okta == f"okta-{okta_org}" and identity.ws1.startswith("ws1-og570-")
    locks = TenantLocks(identity.lock_names)
    locks.acquire()  # as a first odatui on "ACME" would hold them
    try:
        other = write_config(session.sandbox, session.package, tmp_path / "b.toml", group_id="acme", host="localhost")
        run = odatui_cli("apply", "--yes", "--config", str(other), env={"XDG_STATE_HOME": str(tmp_path / "elsewhere")})
    finally:
        locks.release()
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"another odatui (pid {os.getpid()} on " in run.stderr and "Traceback" not in run.stderr
    assert writes(session.sandbox.world.requests) == []


def test_state_found_by_the_spelling_resumes_on_the_canonical_identity(demo_factory, sandbox_env, tmp_path,
                                                                      runtime_dir, isolated_home):
    session = demo_factory()
    first = write_config(session.sandbox, session.package, tmp_path / "a.toml", group_id="ACME")
    assert odatui_cli("apply", "--yes", "--config", str(first)).returncode == 0
    runs = isolated_home / "xdg_state_home" / "odatui" / "runs"
    canonical = [p for p in runs.glob("okta-*.json") if not p.is_symlink()]
    assert len(canonical) == 1
    data = json.loads(canonical[0].read_text())
    assert data["identity"]["okta"] == f"okta-{session.sandbox.world.emulators['okta'].org_id}"
    assert all(p.resolve() == canonical[0].resolve() for p in runs.glob("*.json"))  # the spelling links to it
    # Another spelling of the Group ID shows the same run: status reads the canonical state, confirmed live.
    second = write_config(session.sandbox, session.package, tmp_path / "b.toml", group_id="acme")
    status = odatui_cli("status", "--json", "--config", str(second))
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["checked_live"] is True and report["steps"]["verify"]["status"] == "succeeded", report
    # ws1.certificate does not apply to the sandbox's rollout.scep = "static" (not needed: skipped)
    assert all(s["status"] == "succeeded" for sid, s in report["steps"].items() if sid != "ws1.certificate")
    assert report["steps"]["ws1.certificate"]["status"] == "skipped"
    # Another host name for the same org is the same target too, but it would put another org host into the
    # profile (OrgUrl, SSO URLs): status reports that as stale instead of as the last run's success.
    third = write_config(session.sandbox, session.package, tmp_path / "c.toml", host="localhost")
    report = json.loads(odatui_cli("status", "--json", "--config", str(third)).stdout)
    assert report["target"] == data["target"]
    assert report["steps"]["ws1.profile"]["status"] == "stale" and report["steps"]["preflight.ws1"]["status"] == "succeeded"
    assert len(session.sandbox.state()["ws1"]["profiles"]) == 1


# ----------------------------------------------------------------------------------------- stale state


def _client_ids_in_profiles(sb) -> list[str]:
    okta_app = [a for a in sb.state()["okta"]["apps"] if a["label"] == PSSO_LABEL]
    blob = json.dumps(sb.state()["ws1"]["profiles"])
    return [a["client_id"] for a in okta_app if a["client_id"] in blob]


@pytest.mark.parametrize("replacement", ["fresh-org", "restored-org"])
def test_a_sandbox_replaced_on_the_same_port_never_gets_the_old_client_id(sandbox_env, runtime_dir, tmp_path,
                                                                          replacement):
    from odatui.sandbox.samplepkg import make_sample_pkg
    from odatui.sandbox.server import Sandbox, SandboxOptions

    package = tmp_path / "OktaVerify-9.52.0.pkg"
    make_sample_pkg(package, version="9.52.0")
    first_dir = tmp_path / "sandbox-1"
    old = Sandbox(SandboxOptions(psso_app="absent", data_dir=first_dir)).start()
    try:
        port = int(old.url.rsplit(":", 1)[1])
        old_client = old.world.emulators["okta"].seeding.add_app(PSSO_LABEL)["id"]  # the admin adds it in the console
        config = write_config(old, package, tmp_path / "odatui.toml")
        run = odatui_cli("apply", "--yes", "--config", str(config))
        assert run.returncode == 0, run.stdout + run.stderr
        assert old_client in json.dumps(old.state()["ws1"]["profiles"])
    finally:
        old.stop()

    # Same URL, same Group ID. A fresh org has another org id; a restored one keeps it (same data dir) but lost
    # what odatui made. Either way its PSSO app has another client ID.
    new_dir = tmp_path / "sandbox-2" if replacement == "fresh-org" else first_dir
    new = Sandbox(SandboxOptions(port=port, psso_app="present", data_dir=new_dir)).start()
    try:
        new_client = next(a["id"] for a in new.world.emulators["okta"].apps.values() if a["label"] == PSSO_LABEL)
        assert new_client != old_client
        same_org = new.world.emulators["okta"].org_id == json.loads(
            next(p for p in (Path(os.environ["XDG_STATE_HOME"]) / "odatui" / "runs").glob("okta-*.json")
                 ).read_text())["identity"]["okta"].removeprefix("okta-")
        assert same_org == (replacement == "restored-org")
        config = write_config(new, package, tmp_path / "odatui.toml")  # the new CA, as `sandbox --write-config`

        # status before anything: the old successes are not reported as current.
        status = json.loads(odatui_cli("status", "--json", "--config", str(config)).stdout)
        assert status["checked_live"] is True
        assert not any(s["status"] == "succeeded" for sid, s in status["steps"].items()
                       if sid in ("ws1.upload", "ws1.assign", "ws1.profile", "okta.assign", "verify"))
        if replacement == "restored-org":
            assert status["steps"]["ws1.profile"]["status"] == "stale"
            assert "would create" in status["steps"]["ws1.profile"]["stale_reason"]
            # The PSSO app is still found, but it is another one: the stored client ID is stale, said with both.
            assert status["steps"]["okta.app"]["status"] == "stale"
            assert f"client_id {old_client} → {new_client}" in status["steps"]["okta.app"]["stale_reason"]

        # The profile needs Okta Verify assigned first (ws1.assign), and the new tenant has no app: the run stops
        # with a clear message naming what to run, and pushes nothing, least of all the old client ID.
        only = odatui_cli("apply", "--yes", "--only", "ws1.profile", "--config", str(config))
        assert only.returncode == 1, only.stdout + only.stderr
        assert "run `odatui apply --only ws1.upload` first" in only.stdout
        assert re.search(r"ws1\.profile +skipped +needs ws1\.assign", only.stdout), only.stdout
        assert old_client not in only.stdout  # not even in the summary of the steps this run did not touch
        assert new.state()["ws1"]["profiles"] == []

        verify = odatui_cli("apply", "--yes", "--only", "verify", "--config", str(config))
        assert verify.returncode != 0 and "verify             succeeded" not in verify.stdout, verify.stdout
        assert old_client not in verify.stdout

        # retry picks up what is stale (or failed) and finishes the rollout on the new tenant.
        retry = odatui_cli("retry", "--yes", "--config", str(config))
        assert retry.returncode == 0, retry.stdout + retry.stderr
        assert _client_ids_in_profiles(new) == [new_client] and duplicates(new.state()) == []
        final = json.loads(odatui_cli("status", "--json", "--config", str(config)).stdout)
        assert final["steps"]["verify"]["status"] == "succeeded"
        assert final["steps"]["verify"]["outputs"]["client_id"] == new_client
    finally:
        new.stop()


def test_status_offline_says_it_shows_the_last_run_unchecked(sandbox_env, runtime_dir, tmp_path):
    from odatui.sandbox.samplepkg import make_sample_pkg
    from odatui.sandbox.server import Sandbox, SandboxOptions

    package = make_sample_pkg(tmp_path / "OktaVerify-9.52.0.pkg", version="9.52.0") or tmp_path / "OktaVerify-9.52.0.pkg"
    with Sandbox(SandboxOptions(data_dir=tmp_path / "sb")) as sb:
        config = write_config(sb, package, tmp_path / "a.toml")
        assert odatui_cli("apply", "--yes", "--config", str(config)).returncode == 0
    status = odatui_cli("status", "--config", str(config), timeout=120)  # the sandbox is gone: offline
    assert status.returncode == 0, status.stderr
    assert "not checked against the live tenant" in status.stdout and "Traceback" not in status.stderr
    assert "verify" in status.stdout  # the last known run (found through the spelling's link) is still shown


# ----------------------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize("what", ["app", "profile"])
def test_a_duplicate_made_by_a_racing_run_is_named_with_the_fix(demo_factory, sandbox_env, runtime_dir, what):
    """Two odatui that the locks cannot see (another machine) both created: every later run stops with one line
    naming both ids and what to delete, instead of picking one silently."""
    session = demo_factory()
    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    ws1 = session.sandbox.world.emulators["ws1"]
    table = ws1.apps if what == "app" else ws1.profiles
    (first_id, first), = table.items()
    second_id = first_id + 7
    table[second_id] = {**first, "id": second_id, "uuid": f"{first['uuid'][:-4]}beef"}  # what the other run made
    run = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert run.returncode == 1, run.stdout + run.stderr
    step = "ws1.upload" if what == "app" else "ws1.profile"
    line = next(ln for ln in run.stdout.splitlines() if f"{step} FAILED" in ln)
    assert f"ids {first_id}, {second_id}" in line and "Two runs on this tenant at once" in line
    assert f"delete {second_id} and keep {first_id}" in run.stdout
    assert "Traceback" not in run.stderr


def test_two_runs_the_locks_cannot_see_never_end_silently_with_duplicates(demo_factory, sandbox_env, tmp_path):
    """Two machines (two lock folders, two state folders) race on one tenant. Each looks before it creates and
    again right after; if both created, the run that sees two says so, naming both, and so does every later run."""
    session = demo_factory(latency_ms=30)
    procs = []
    for n, group in enumerate(("ACME", "acme")):
        cfg = write_config(session.sandbox, session.package, tmp_path / f"{n}.toml", group_id=group)
        lock_dir = tmp_path / f"locks-{n}"  # what two machines have: two lock folders
        lock_dir.mkdir(mode=0o700)
        procs.append(spawn(cfg, {"XDG_STATE_HOME": str(tmp_path / f"state-{n}"), "ODATUI_LOCK_DIR": str(lock_dir)}))
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    ws1 = session.sandbox.state()["ws1"]
    for code, out, err in results:
        assert code in (0, 1) and "Traceback" not in err, out + err
    if len(ws1["apps"]) == 1 and len(ws1["profiles"]) == 1:
        assert all(code == 0 for code, _, _ in results), [ln for _, o, _ in results for ln in o.splitlines() if "FAILED" in ln or "failed" in ln]  # one adopted what the other made
    else:
        said = "".join(out for _, out, _ in results)
        assert "Two runs on this tenant at once" in said, said
        later = odatui_cli("apply", "--yes", "--config", str(session.config_path))
        assert later.returncode == 1 and "Two runs on this tenant at once" in later.stdout
