"""`odatui sandbox --okta-auth service_app --service-app-key rsa --dpop required --write-config FILE`, as an admin would
start it, then `odatui apply` against it: a service app with the Admin Console's default RSA key and DPoP-bound
tokens rolls out end to end."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from rollout import odatui_cli
from sandbox_cli import start_sandbox_cli, stop_sandbox_cli

from odatui.core.config import load_config, save_config
from odatui.sandbox.credentials import OKTA_SCEP_CHALLENGE, WS1_OAUTH_SECRET, WS1_PASSWORD, WS1_TENANT_CODE


@pytest.mark.parametrize("key,dpop", [("rsa", "required"), ("rsa", "off"), ("ec", "required")])
def test_apply_with_a_service_app_written_by_the_sandbox_command(tmp_path, key, dpop):
    from odatui.sandbox.samplepkg import make_sample_pkg

    config_path = tmp_path / "sandbox.toml"
    proc, banner = start_sandbox_cli("--okta-auth", "service_app", "--service-app-key", key, "--dpop", dpop,
                                     "--write-config", str(config_path))
    try:
        assert f"{key.upper()} private key" in banner and ("DPoP required" in banner) is (dpop == "required")
        key_path = Path(re.search(r'ODATUI_OKTA__PRIVATE_KEY="\$\(cat (\S+)\)"', banner).group(1))
        ca_path = Path(re.search(r"CA certificate\s+(\S+)", banner).group(1))
        assert key_path.parent == ca_path.parent  # kept where the sandbox keeps its CA
        assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
        pem = key_path.read_text()
        assert ("BEGIN PRIVATE KEY" in pem) and pem not in config_path.read_text()

        config = load_config(config_path, must_exist=True)
        assert config.okta.auth == "service_app" and config.okta.service_app_client_id.startswith("0oa")
        package = tmp_path / "OktaVerify-9.52.0.pkg"
        make_sample_pkg(package, version="9.52.0")
        save_config(config.model_copy(update={"rollout": config.rollout.model_copy(update={"package": str(package)})}),
                    config_path)
        env = {"ODATUI_OKTA__PRIVATE_KEY": pem, "ODATUI_WS1__PASSWORD": WS1_PASSWORD,
               "ODATUI_WS1__TENANT_CODE": WS1_TENANT_CODE, "ODATUI_WS1__CLIENT_SECRET": WS1_OAUTH_SECRET,
               "ODATUI_OKTA__SCEP_CHALLENGE": OKTA_SCEP_CHALLENGE}
        run = odatui_cli("apply", "--yes", "--config", str(config_path), env=env)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Result: done (exit 0)" in run.stdout
        assert "BEGIN PRIVATE KEY" not in run.stdout + run.stderr
        import ssl

        import httpx

        url = re.search(r"odatui sandbox on (https://127\.0\.0\.1:\d+)", banner).group(1)
        seen = httpx.get(f"{url}/_sandbox/requests", verify=ssl.create_default_context(cafile=str(ca_path))).json()
        tokens = [r["status"] for r in seen["requests"] if r["path"] == "/oauth2/v1/token"]
        # With DPoP required, each client's first token request is refused twice (no proof, then no nonce).
        assert tokens[-1] == 200 and (400 in tokens) is (dpop == "required")
        okta_api = [r for r in seen["requests"] if r["path"].startswith("/api/v1/")]
        assert okta_api and all(r["status"] < 400 for r in okta_api)
        assert any(r["method"] == "PUT" for r in okta_api)  # the group assignment went through
    finally:
        stop_sandbox_cli(proc)


def test_split_hosts_from_the_command_line_write_three_urls(tmp_path):
    config_path = tmp_path / "split.toml"
    proc, banner = start_sandbox_cli("--split-hosts", "--write-config", str(config_path))
    try:
        config = load_config(config_path, must_exist=True)
        hosts = {config.okta.org_url, config.ws1.api_url, config.ws1.token_url.removesuffix("/connect/token")}
        assert len(hosts) == 3 and "split hosts" in banner
        assert all(url in banner for url in hosts)
    finally:
        stop_sandbox_cli(proc)
