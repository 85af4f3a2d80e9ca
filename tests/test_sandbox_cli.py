"""`odatui sandbox` in the foreground, as an admin would start it: it prints its URL, the demo credentials and the
CA path; `curl --cacert` reaches it; the written config points odatui at it and validates."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys

import pytest
from sandbox_cli import start_sandbox_cli, stop_sandbox_cli

from odatui.core.config import load_config


def test_sandbox_command_prints_urls_and_curl_trusts_its_ca(tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    config_path = tmp_path / "sandbox.toml"
    proc, banner = start_sandbox_cli("--psso-app", "absent", "--write-config", str(config_path))
    try:
        url = re.search(r"odatui sandbox on (https://127\.0\.0\.1:\d+)", banner).group(1)
        ca = re.search(r"CA certificate\s+(\S+)", banner).group(1)
        for credential in ("sandbox-okta-token", "sandbox-admin", "sandbox-password", "sandbox-tenant-code"):
            assert credential in banner

        state = subprocess.run(["curl", "-sS", "--fail", "--cacert", ca, f"{url}/_sandbox/state"],
                               capture_output=True, text=True, timeout=20)
        assert state.returncode == 0, state.stderr
        assert '"requests_total"' in state.stdout and '"okta"' in state.stdout and '"ws1"' in state.stdout

        # Without the CA, curl refuses: the server really is on TLS with its own throwaway CA.
        untrusted = subprocess.run(["curl", "-sS", f"{url}/_sandbox/state"], capture_output=True, text=True,
                                   timeout=20)
        assert untrusted.returncode != 0

        config = load_config(config_path, must_exist=True)
        assert config.okta.org_url == url and config.ws1.api_url == url
        assert config.okta.ca_bundle == ca
        written = config_path.read_text()
        assert not [s for s in ("sandbox-okta-token", "sandbox-password", "sandbox-tenant-code") if s in written]
    finally:
        stop_sandbox_cli(proc)
    assert proc.returncode in (0, 130, -signal.SIGINT)


def test_written_config_and_sourced_secrets_are_enough_for_plan(tmp_path):
    """The README's sandbox route as written: write-config, source the secrets file, plan — exit 0."""
    first_config, second_config = tmp_path / "a" / "sandbox.toml", tmp_path / "b" / "sandbox.toml"
    first, banner = start_sandbox_cli("--write-config", str(first_config))
    second, second_banner = start_sandbox_cli("--write-config", str(second_config))
    try:
        secrets_file = first_config.with_name("sandbox.secrets.sh")
        assert f"demo secrets       {secrets_file}" in banner
        assert secrets_file.stat().st_mode & 0o777 == 0o600
        assert "sandbox-password" not in first_config.read_text()  # the secrets live only in the sourced file
        env = {k: v for k, v in os.environ.items() if not k.startswith("ODATUI_")}
        plan = subprocess.run(
            ["bash", "-c", f'. "{secrets_file}" && "{sys.executable}" -m odatui plan --config "{first_config}"'],
            capture_output=True, text=True, env=env, timeout=120)
        assert plan.returncode == 0, plan.stdout + plan.stderr
        assert "ws1.upload" in plan.stdout and "Nothing was changed" in plan.stdout
        # A reader that goes away (`| head -1`) ends odatui quietly: the conventional exit, no "unexpected error".
        piped = subprocess.run(
            ["bash", "-c", f'set -o pipefail; . "{secrets_file}" && '
                           f'"{sys.executable}" -m odatui status --config "{first_config}" | head -1'],
            capture_output=True, text=True, env=env, timeout=120)
        assert piped.returncode in (0, 141), piped.stderr
        assert len(piped.stdout.splitlines()) == 1 and piped.stderr == ""
        read_end, write_end = os.pipe()
        os.close(read_end)  # closed before odatui writes a byte: every write is a broken pipe
        closed = subprocess.run([sys.executable, "-m", "odatui", "status", "--config", str(first_config)],
                                stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
        os.close(write_end)
        assert closed.returncode == 141 and "unexpected error" not in closed.stderr, closed.stderr
        assert "Traceback" not in closed.stderr and "Exception ignored" not in closed.stderr
        # Two sandboxes on any free port never share a folder: not the CA, not the sample package.
        a, b = load_config(first_config), load_config(second_config)
        assert a.okta.ca_bundle != b.okta.ca_bundle and a.rollout.package != b.rollout.package
        assert a.okta.org_url != b.okta.org_url
    finally:
        stop_sandbox_cli(first)
        stop_sandbox_cli(second)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_write_config_refuses_an_answers_file_it_did_not_write(tmp_path, isolated_home):
    """The admin's own answers file (the wizard's header, comments and all) is never the sandbox's to replace."""
    from odatui.core.answers import HEADER

    answers = tmp_path / "sandbox.toml"
    answers.write_text(HEADER + '# my production tenant\n[okta]\norg_url = "https://acme.okta.com"\n')
    before = answers.read_bytes()
    done = subprocess.run([sys.executable, "-m", "odatui", "sandbox", "--port", "0", "--write-config", str(answers)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(answers) in done.stderr and "--force" in done.stderr and "Traceback" not in done.stderr
    assert answers.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sandbox.toml"]  # no secrets file either


def test_restart_on_the_same_port_keeps_the_admins_edits_and_comments(tmp_path, isolated_home):
    config_path, port = tmp_path / "sandbox.toml", str(_free_port())
    first, _ = start_sandbox_cli("--port", port, "--write-config", str(config_path))
    stop_sandbox_cli(first)
    written = config_path.read_text()
    # The admin edits the file: two comments, another group, and a URL the restart must refresh.
    edited = (written.replace('groups = ["Mac Pilot"]', '# the pilot and IT\ngroups = ["Mac Pilot", "IT Macs"]')
              .replace("[rollout]", "[rollout]\n# keep 14: our fleet", 1)
              .replace(f"https://127.0.0.1:{port}", "https://127.0.0.1:1", 1))
    assert edited != written
    config_path.write_text(edited)
    second, banner = start_sandbox_cli("--port", port, "--write-config", str(config_path))
    try:
        after = config_path.read_text()
        assert "# the pilot and IT\n" in after and "# keep 14: our fleet\n" in after
        config = load_config(config_path, must_exist=True)
        assert config.okta.groups == ["Mac Pilot", "IT Macs"]
        url = re.search(r"odatui sandbox on (https://127\.0\.0\.1:\d+)", banner).group(1)
        assert config.okta.org_url == url and config.ws1.api_url == url  # the fields it owns, refreshed
        assert config.okta.ca_bundle == re.search(r"CA certificate\s+(\S+)", banner).group(1)
        # Nothing else moved: the file differs from the edited one only on the line the sandbox owns.
        changed = [(a, b) for a, b in zip(edited.splitlines(), after.splitlines(), strict=True) if a != b]
        assert changed == [(f'org_url = "https://127.0.0.1:1"', f'org_url = "{url}"')], changed
    finally:
        stop_sandbox_cli(second)
