"""The async Okta client against the sandbox over HTTPS: both auth modes, paging, rate limits and 429, faults,
non-JSON answers, every request and response checked against Okta's OpenAPI contract, and no secret in any
log line or exception."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from odatui.core.http import RetryPolicy
from odatui.okta.client import OktaApiError, OktaClient, org_limiter
from odatui.sandbox.credentials import OKTA_TOKEN

FAST = RetryPolicy(attempts=4, base=0.01, cap=0.05)


def make(sb, mode="api_token", recorder=None, **kwargs) -> OktaClient:
    hooks = {"request": [recorder.on_request], "response": [recorder.on_response]} if recorder else None
    if mode == "api_token":
        kwargs.setdefault("api_token", OKTA_TOKEN)
    elif mode == "service_app":
        client_id, key_path = sb.okta_service_app()
        kwargs.setdefault("service_app_client_id", client_id)
        kwargs.setdefault("private_key", key_path.read_text())
    return OktaClient(sb.url, ca_bundle=str(sb.ca_path), event_hooks=hooks, policy=kwargs.pop("policy", FAST), **kwargs)


@pytest.fixture
def recorder():
    from okta_contract import ContractRecorder

    return ContractRecorder()


@pytest.mark.parametrize("mode", ["api_token", "service_app"])
async def test_every_method_in_both_auth_modes_is_contract_valid(sandbox, recorder, mode):
    async with make(sandbox, mode, recorder, page_size=7) as okta:
        assert "admin@acme.example" in await okta.check_credentials() or mode == "service_app"
        assert (await okta.org_metadata())["pipeline"] == "idx"
        assert any(a["key"] == "okta_verify" for a in await okta.authenticators())
        apps = await okta.list_apps()
        assert len(apps) == 31 and len({a["id"] for a in apps}) == 31  # 5 pages of 7
        [psso] = await okta.apps_by_label(" platform single sign-on for MACOS")
        assert (await okta.app(psso["id"]))["label"] == "Platform Single Sign-On for macOS"
        group = await okta.group_by_name("Mac Pilot")
        assert group["profile"]["name"] == "Mac Pilot"
        assert await okta.group_by_name("Mac") is None  # exact name, not a prefix
        assert await okta.group_by_name('Say "hi"') is None  # quotes are escaped, not an injection
        await okta.assign_group(psso["id"], group["id"])
        assert [a["id"] for a in await okta.app_group_assignments(psso["id"])] == [group["id"]]
    assert {"listApplications", "getApplication", "listGroups", "assignGroupToApplication",
            "listApplicationGroupAssignments", "listAuthenticators", "getWellknownOrgMetadata"} <= set(recorder.checked)


async def test_paging_follows_next_link_as_given(sandbox):
    async with make(sandbox, page_size=4) as okta:
        apps = await okta.list_apps()
    pages = [r for r in sandbox.world.requests if r["path"] == "/api/v1/apps"]
    assert len(apps) == 31 and len(pages) == 8
    assert all("after=" in r["query"] for r in pages[1:])


async def test_service_app_token_is_cached_and_renewed_before_expiry(sandbox):
    async with make(sandbox, "service_app") as okta:
        await okta.list_apps()
        await okta.authenticators()
        tokens = [r for r in sandbox.world.requests if r["path"] == "/oauth2/v1/token"]
        assert len(tokens) == 1
        okta.auth._token_expires = time.time() + 60  # within the early-refresh margin
        await okta.list_apps()
    assert len([r for r in sandbox.world.requests if r["path"] == "/oauth2/v1/token"]) == 2


async def test_revoked_access_token_is_replaced_once(sandbox):
    async with make(sandbox, "service_app") as okta:
        await okta.list_apps()
        sandbox.world.emulators["okta"].tokens.clear()  # revoked on the server
        assert len(await okta.list_apps()) == 31


@pytest.mark.parametrize("settings,code", [
    ({"granted_scopes": ["okta.apps.read"]}, "invalid_scope"),
    ({"require_dpop": True, "clock_skew_seconds": 3600}, "invalid_dpop_proof"),  # a proof from a wrong clock
])
async def test_service_app_oauth_errors(sandbox, settings, code):
    httpx.post(f"{sandbox.url}/_sandbox/okta/settings", json=settings,
               verify=__import__("ssl").create_default_context(cafile=str(sandbox.ca_path)))
    async with make(sandbox, "service_app") as okta:
        with pytest.raises(OktaApiError) as info:
            await okta.check_credentials()
    assert info.value.error_code == code and info.value.status == 400 and not info.value.retryable


async def test_wrong_service_app_key_is_invalid_client(sandbox):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    async with make(sandbox, "service_app", private_key=other) as okta:
        with pytest.raises(OktaApiError) as info:
            await okta.list_apps()
    assert (info.value.status, info.value.error_code) == (401, "invalid_client")


def test_unusable_private_key_is_a_clear_error_without_the_key(sandbox):
    garbage = "-----BEGIN PRIVATE KEY-----\nTm90IGEga2V5IGF0IGFsbCwgc29ycnkgYWJvdXQgdGhhdA==\n-----END PRIVATE KEY-----"
    with pytest.raises(Exception) as info:
        make(sandbox, "service_app", private_key=garbage)
    assert "not an unencrypted PEM private key" in str(info.value)
    assert "Tm90IGEga2V5" not in str(info.value)


async def test_bad_token_is_E0000011_not_retried(sandbox):
    async with make(sandbox, api_token="wrong-token-value") as okta:
        with pytest.raises(OktaApiError) as info:
            await okta.check_credentials()
    err = info.value
    assert (err.status, err.error_code, err.retryable) == (401, "E0000011", False)
    assert err.error_id.startswith("oae")
    assert len([r for r in sandbox.world.requests if r["path"] == "/api/v1/users/me"]) == 1


async def test_429_sleeps_until_the_reset_header(sandbox_factory):
    sb = sandbox_factory(fault_rules=[{"path": "/api/v1/groups", "fault": "429", "times": 1}])
    async with make(sb) as okta:
        start = time.monotonic()
        assert (await okta.group_by_name("Mac Pilot"))["profile"]["name"] == "Mac Pilot"
        waited = time.monotonic() - start
    # the fault's X-Rate-Limit-Reset is 1–2 s ahead (whole epoch seconds); the client waits for it, at least 1 s
    assert waited >= 1.0
    assert [r["status"] for r in sb.world.requests if r["path"] == "/api/v1/groups"] == [429, 200]


async def test_slows_down_when_remaining_is_under_ten_percent(sandbox):
    httpx.post(f"{sandbox.url}/_sandbox/okta/settings", json={"rate_limits": {"groups": 20}},
               verify=__import__("ssl").create_default_context(cafile=str(sandbox.ca_path)))
    async with make(sandbox) as okta:
        limiter = org_limiter(okta.host)
        # The uncached lookup: group_by_name keeps a found group, and this needs one request per call.
        for _ in range(18):
            await okta._group_by_name("Mac Pilot")
        assert limiter.not_before == 0.0  # 2 of 20 left: not yet under 10 %
        await okta._group_by_name("Mac Pilot")
        assert limiter.not_before > time.monotonic()  # 1 left: the next call waits for the window
    statuses = {r["status"] for r in sandbox.world.requests if r["path"] == "/api/v1/groups"}
    assert statuses == {200}


async def test_5xx_and_drops_are_retried_for_reads(sandbox_factory):
    sb = sandbox_factory(fault_rules=[{"path": "/api/v1/apps", "fault": "503", "times": 1},
                                      {"path": "/api/v1/apps", "fault": "drop", "times": 1},
                                      {"path": "/api/v1/apps", "fault": "502", "times": 1}])
    async with make(sb) as okta:
        assert len(await okta.list_apps()) == 31
    assert len(sb.world.faults.injected) == 3


async def test_html_proxy_page_is_a_clear_non_json_error(sandbox_factory):
    sb = sandbox_factory(fault_rules=[{"path": "/api/v1/apps/.*", "fault": "502", "times": None}])
    async with make(sb, policy=RetryPolicy(attempts=2, base=0.01, cap=0.01)) as okta:
        with pytest.raises(OktaApiError) as info:
            await okta.app("0oa00000000000000000")
    err = info.value
    assert err.status == 502 and err.error_code == "non_json" and err.retryable
    assert "not an Okta API answer (text/html: 502 Bad Gateway)" in str(err)
    assert "proxy" in err.hint


async def test_network_failure_is_retryable_okta_error(sandbox):
    async with OktaClient("https://127.0.0.1:9", api_token=OKTA_TOKEN, ca_bundle=str(sandbox.ca_path),
                          policy=RetryPolicy(attempts=1)) as okta:
        with pytest.raises(OktaApiError) as info:
            await okta.org_metadata()
    assert info.value.status == 0 and info.value.retryable and "cannot connect" in str(info.value)


async def test_untrusted_certificate_says_set_ca_bundle(sandbox):
    async with OktaClient(sandbox.url, api_token=OKTA_TOKEN, policy=RetryPolicy(attempts=1)) as okta:
        with pytest.raises(OktaApiError) as info:
            await okta.org_metadata()
    assert "not trusted" in str(info.value) and "ca_bundle" in info.value.hint


async def test_never_more_than_two_requests_in_flight(sandbox_factory):
    sb = sandbox_factory(latency_ms=40)
    async with make(sb) as okta:
        await asyncio.gather(*(okta.group_by_name("Mac Pilot") for _ in range(8)))
        assert org_limiter(okta.host).peak_in_flight == 2


async def test_no_secret_in_logs_or_errors(sandbox_factory, caplog, tmp_path):
    from odatui.core.log import setup_logging

    log_file = setup_logging(logging.DEBUG, tmp_path)
    logging.getLogger("odatui").addHandler(caplog.handler)  # odatui does not propagate: watch it directly
    caplog.set_level(logging.DEBUG)
    sb = sandbox_factory(fault_rules=[{"path": "/api/v1/apps", "fault": "503", "times": 1}])
    _, key_path = sb.okta_service_app()
    key = key_path.read_text()
    errors = []
    try:
        async with make(sb, "service_app") as okta:
            await okta.list_apps()  # one retry is logged
            token = okta.auth._access_token
            okta.auth.scopes = ("okta.users.manage",)
            okta.auth._access_token = None
            try:
                await okta.list_apps()
            except OktaApiError as exc:
                errors.append(exc)
        async with make(sb, api_token="ssws-" + OKTA_TOKEN) as bad:
            try:
                await bad.check_credentials()
            except OktaApiError as exc:
                errors.append(exc)
        raw_records = caplog.text  # the client's own messages, before any redaction
        # and the file's redactor catches what a careless caller might log
        logging.getLogger("odatui.okta").info("header was Authorization: SSWS %s", OKTA_TOKEN)
    finally:
        logging.getLogger("odatui").removeHandler(caplog.handler)
    file_text = log_file.read_text()
    raised = " ".join(f"{e} {e.hint} {e!r} {e.summary}" for e in errors)
    assert [e.error_code for e in errors] == ["invalid_scope", "E0000011"]
    assert "retry" in file_text and "service app token" in file_text
    key_lines = [line for line in key.splitlines() if len(line) > 16 and "PRIVATE KEY" not in line]
    for secret in [OKTA_TOKEN, token, *key_lines]:
        assert secret not in file_text
        assert secret not in raw_records
        assert secret not in raised


def test_a_public_jwk_is_refused_as_a_signing_key_with_one_line():
    """A public JWK (no "d") cannot sign the private_key_jwt assertion: say so, instead of an AttributeError later."""
    import json

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from odatui.core.errors import StepError
    from odatui.okta.auth import load_signing_key

    key = ec.generate_private_key(ec.SECP256R1())
    assert load_signing_key(jwt.algorithms.ECAlgorithm.to_jwk(key))[1] == "ES256"
    with pytest.raises(StepError) as info:
        load_signing_key(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    assert "not an RSA or EC private key" in info.value.message and '"d"' in info.value.hint
    assert json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))["x"] not in info.value.message
