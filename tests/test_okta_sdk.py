"""Okta's official Python SDK (PyPI `okta` 3.x, a test extra only) runs unmodified against the sandbox over real HTTPS:
the sandbox must accept what Okta's own client sends (it sends `Authorization: SSWS<token>` with no space) and still
refuse a wrong token."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from odatui.sandbox.credentials import OKTA_TOKEN

PROBE = Path(__file__).with_name("okta_sdk_probe.py")


def tls(sb):
    import ssl

    return ssl.create_default_context(cafile=str(sb.ca_path))


def run_sdk(sb, *args: str) -> dict:
    if importlib.util.find_spec("okta") is None:
        pytest.fail("the official Okta SDK is not installed: pip install -e '.[test]'")
    # aiohttp reads the trust store once at import: the CA goes in through SSL_CERT_FILE of a fresh process.
    env = dict(os.environ, SSL_CERT_FILE=str(sb.ca_path))
    done = subprocess.run([sys.executable, str(PROBE), sb.url, *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_official_sdk_lists_gets_and_assigns_against_the_sandbox(sandbox):
    out = run_sdk(sandbox, OKTA_TOKEN)
    assert out["list_applications"] == {"error": None, "labels": ["Platform Single Sign-On for macOS"]}
    assert out["get_application"] == {"error": None, "client_id": out["app_id"]}
    assert out["list_authenticators"]["error"] is None
    assert "okta_verify" in out["list_authenticators"]["keys"]
    assert out["list_groups"]["error"] is None and out["list_groups"]["names"] == ["Mac Pilot"]
    assert out["assign_group"] == {"error": None, "group_id": out["list_groups"]["ids"][0]}
    assigned = [(a["app_id"], a["group_name"]) for a in sandbox.state()["okta"]["group_assignments"]]
    assert (out["app_id"], "Mac Pilot") in assigned
    # The calls really came from the SDK (its generated client's User-Agent), not from anything of odatui's.
    import httpx

    seen = httpx.get(f"{sandbox.url}/_sandbox/requests", verify=tls(sandbox)).json()["requests"]
    sdk_paths = {r["path"] for r in seen if r["headers"].get("user-agent", "").startswith("OpenAPI-Generator")}
    assert {"/api/v1/apps", "/api/v1/authenticators", "/api/v1/groups"} <= sdk_paths


@pytest.mark.parametrize(("header", "status"), [
    (f"SSWS{OKTA_TOKEN}", 200), (f"SSWS {OKTA_TOKEN}", 200), (f"SSWSnot-the-{OKTA_TOKEN}", 401), ("SSWS", 401),
    (f"SSWS  {OKTA_TOKEN}x", 401), (f"Bearer{OKTA_TOKEN}", 401)])
def test_ssws_header_with_or_without_space(sandbox, header, status):
    import httpx

    r = httpx.get(f"{sandbox.url}/api/v1/groups", headers={"Authorization": header}, verify=tls(sandbox))
    assert r.status_code == status
    if status == 401:
        assert r.json()["errorCode"] == "E0000011"

def test_official_sdk_with_a_wrong_token_is_refused(sandbox):
    out = run_sdk(sandbox, "not-the-" + OKTA_TOKEN)
    assert out["list_applications"]["labels"] == []
    assert "E0000011" in out["list_applications"]["error"]


def test_official_sdk_as_an_rsa_service_app_with_dpop(sandbox_factory):
    # The SDK signs with RSA only (okta/jwt.py imports the key with Cryptodome's RSA) and makes its own DPoP proofs.
    sb = sandbox_factory(service_app_key="rsa", dpop="required")
    client_id, key_path = sb.okta_service_app()
    out = run_sdk(sb, "--service-app", client_id, str(key_path))
    assert out["list_applications"] == {"error": None, "labels": ["Platform Single Sign-On for macOS"]}
    assert out["get_application"]["client_id"] == out["app_id"]
    assert out["list_groups"]["names"] == ["Mac Pilot"] and out["assign_group"]["error"] is None
    import httpx

    seen = httpx.get(f"{sb.url}/_sandbox/requests", verify=tls(sb)).json()["requests"]
    tokens = [(r["status"]) for r in seen if r["path"] == "/oauth2/v1/token"]
    assert tokens == [400, 200]  # use_dpop_nonce, then the DPoP-bound token
