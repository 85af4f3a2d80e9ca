"""`odatui bundle`: the zip holds the redacted config, the run state, the last logs and the versions — and never a
secret, even one that reached a log line; a secret that escapes redaction makes it refuse and leave no file."""

from __future__ import annotations

import json
import logging
import zipfile

import pytest
from rollout import demo_factory, odatui_cli  # noqa: F401 - demo_factory is a fixture

from odatui.service.bundle import build_bundle
from odatui.core.errors import OdatuiError
from odatui.core.log import known_secrets, setup_logging
from odatui.sandbox.server import Sandbox
from odatui.core.secrets import SecretStore


def read_zip(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name).decode() for name in zf.namelist()}


def test_bundle_after_a_run_has_config_state_logs_versions_and_no_secret(demo_factory, sandbox_env, isolated_home,
                                                                          tmp_path):
    session = demo_factory()
    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    # A careless line that put the token into the log, bypassing odatui's logger (e.g. a library printing it).
    log = isolated_home / "xdg_state_home" / "odatui" / "log" / "odatui.log"
    if not log.exists():
        log = next(isolated_home.rglob("odatui.log"))
    with open(log, "a") as fh:
        fh.write("DEBUG leaked header Authorization-ish sandbox-okta-token end\n")

    # Another tenant's run state: not this support case's business unless --all.
    runs = isolated_home / "xdg_state_home" / "odatui" / "runs"
    if not (runs / f"{session.config.target_key()}.json").exists():
        runs = next(isolated_home.rglob(f"{session.config.target_key()}.json")).parent
    (runs / "other-customer.okta.com_9999.json").write_text('{"steps": {}}')
    everything_zip = tmp_path / "all.zip"
    assert odatui_cli("bundle", "--all", "--out", str(everything_zip), "--config", str(session.config_path)).returncode == 0
    assert "state/other-customer.okta.com_9999.json" in read_zip(everything_zip)

    out = tmp_path / "support.zip"
    run = odatui_cli("bundle", "--out", str(out), "--config", str(session.config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    files = read_zip(out)
    assert {"config.toml", "versions.json", "README.txt", "secrets.json", "logs/odatui.log"} <= set(files)
    # One state per target, named by its identity (Okta org id, WS1 organization group), not by the config's spelling.
    states = [n for n in files if n.startswith("state/")]
    assert len(states) == 1 and states[0].startswith(f"state/okta-{session.sandbox.world.emulators['okta'].org_id}")
    assert json.loads(files[states[0]])["steps"]["verify"]["status"] == "succeeded"
    assert 'smart_group = "Okta PSSO Macs"' in files["config.toml"]
    assert set(json.loads(files["versions.json"])) >= {"odatui", "python", "textual", "httpx", "os"}
    assert {"name": "okta.api_token", "source": "env"} in json.loads(files["secrets.json"])
    assert "run of" in files["logs/odatui.log"]  # the engine's lines are there
    assert "leaked header Authorization-ish [redacted] end" in files["logs/odatui.log"]
    everything = "".join(files.values())
    for value in Sandbox.secret_env().values():
        assert value not in everything


def test_bundle_refuses_and_deletes_when_a_secret_escaped_redaction(tmp_path, sandbox_config):
    # An in-memory secret (as the demo holds them) is not registered with the log, so redaction cannot know it;
    # the scan against the secret store's values must still catch it.
    secret = "in-memory-only-secret-4711"
    assert secret not in known_secrets()
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "odatui.log").write_text(f"INFO something echoed {secret} by mistake\n")
    out = tmp_path / "support.zip"
    with pytest.raises(OdatuiError, match=r"secret value was found in logs/odatui.log: ws1.password"):
        build_bundle(out, config=sandbox_config, secrets=SecretStore(use_keychain=False, values={"ws1.password": secret}),
                     state_dir=tmp_path / "runs", log_dir=logs)
    assert not out.exists() and list(tmp_path.glob(".support.zip*")) == []


def test_bundle_with_a_broken_config_still_helps(tmp_path, isolated_home):
    bad = tmp_path / "odatui.toml"
    bad.write_text('[okta]\norg_url = "https://acme-admin.okta.com"\n')
    setup_logging()
    logging.getLogger("odatui.test").warning("a line for the bundle")
    out = tmp_path / "b.zip"
    run = odatui_cli("bundle", "--out", str(out), "--config", str(bad))
    assert run.returncode == 0, run.stdout + run.stderr
    files = read_zip(out)
    assert "could not be loaded" in files["config.toml"] and "acme-admin.okta.com" in files["config.toml"]
    assert "secrets.json" not in files


def test_bundle_out_must_be_a_file(tmp_path):
    run = odatui_cli("bundle", "--out", str(tmp_path))
    assert run.returncode == 2 and "is a folder" in run.stderr


def _shared_folder(tmp_path):
    """A folder like /tmp: every user may add files (1777)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    victim = tmp_path / "victim"  # e.g. a root-owned 0600 file another local user wants overwritten
    victim.write_text("precious\n")
    victim.chmod(0o600)
    return shared, victim


def test_a_link_planted_at_the_old_temp_name_does_not_redirect_an_atomic_write(tmp_path):
    import os

    from odatui.core.files import atomic_write

    shared, victim = _shared_folder(tmp_path)
    out = shared / "bundle.zip"
    os.symlink(victim, shared / f".bundle.zip.{os.getpid()}.tmp")  # the name odatui used to write through
    atomic_write(out, b"zip bytes", what="support bundle")
    assert victim.read_text() == "precious\n"
    assert out.read_bytes() == b"zip bytes" and not out.is_symlink()
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_bundle_out_into_a_shared_folder_with_planted_links_writes_its_own_file(demo_factory, sandbox_env, tmp_path):
    import os

    session = demo_factory()
    shared, victim = _shared_folder(tmp_path)
    out = shared / "support.zip"
    last = int(open("/proc/sys/kernel/ns_last_pid").read())
    for pid in range(last + 1, last + 400):  # the child's pid is one of the next few: each gets a planted link
        os.symlink(victim, shared / f".support.zip.{pid}.tmp")
    run = odatui_cli("bundle", "--out", str(out), "--config", str(session.config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert victim.read_text() == "precious\n"
    assert not out.is_symlink() and zipfile.is_zipfile(out)
    # a link planted at the output name itself is replaced (with --force), never written through
    out.unlink()
    os.symlink(victim, out)
    refused = odatui_cli("bundle", "--out", str(out), "--config", str(session.config_path))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stdout + refused.stderr
    forced = odatui_cli("bundle", "--out", str(out), "--force", "--config", str(session.config_path))
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert victim.read_text() == "precious\n" and not out.is_symlink() and zipfile.is_zipfile(out)


def test_a_world_writable_folder_without_the_sticky_bit_is_refused(tmp_path):
    from odatui.core.errors import UsageError
    from odatui.core.files import atomic_write

    loose = tmp_path / "loose"
    loose.mkdir()
    loose.chmod(0o777)
    with pytest.raises(UsageError, match="not sticky"):
        atomic_write(loose / "x.zip", b"x", what="support bundle")
    assert list(loose.iterdir()) == []
