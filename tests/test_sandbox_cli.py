"""`odatui sandbox` in the foreground, as an admin would start it: it prints its URL, the demo credentials and the
CA path; `curl --cacert` reaches it; the written config points odatui at it and validates."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from odatui.config import load_config


def test_sandbox_command_prints_urls_and_curl_trusts_its_ca(tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    config_path = tmp_path / "sandbox.toml"
    proc = subprocess.Popen(
        [sys.executable, "-m", "odatui", "sandbox", "--port", "0", "--psso-app", "absent",
         "--write-config", str(config_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=os.environ.copy(),
    )
    try:
        banner = ""
        deadline = time.monotonic() + 20
        while "Press Ctrl-C" not in banner:
            line = proc.stdout.readline()
            assert line or proc.poll() is None, f"sandbox exited early:\n{banner}"
            banner += line
            assert time.monotonic() < deadline, f"no banner in time:\n{banner}"
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
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode in (0, 130, -signal.SIGINT)
