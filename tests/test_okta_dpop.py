"""Service apps as admins create them: an RSA key (RS256 private_key_jwt, the Admin Console's default) or an EC key, and
DPoP required or not. odatui's client against the sandbox over real HTTPS; the sandbox checks every proof (RFC 9449)
and must refuse bad ones."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from odatui.core.http import RetryPolicy
from odatui.okta.client import OktaApiError, OktaClient
from odatui.okta.dpop import DPoPKey, access_token_hash

FAST = RetryPolicy(attempts=3, base=0.01, cap=0.05)


def client(sb, **kwargs) -> OktaClient:
    client_id, key_path = sb.okta_service_app()
    kwargs.setdefault("private_key", key_path.read_text())
    return OktaClient(sb.url, service_app_client_id=client_id, ca_bundle=str(sb.ca_path), policy=FAST, **kwargs)


def tls(sb):
    import ssl

    return ssl.create_default_context(cafile=str(sb.ca_path))


def requests(sb, path: str) -> list[dict]:
    seen = httpx.get(f"{sb.url}/_sandbox/requests", verify=tls(sb)).json()["requests"]
    return [r for r in seen if r["path"] == path]


@pytest.mark.parametrize("key", ["rsa", "ec"])
@pytest.mark.parametrize("dpop", ["off", "required"])
async def test_service_app_reads_and_writes_with_each_key_and_dpop_mode(sandbox_factory, key, dpop):
    sb = sandbox_factory(service_app_key=key, dpop=dpop)
    assert ("BEGIN PRIVATE KEY" in sb.okta_service_app()[1].read_text())
    async with client(sb) as okta:
        who = await okta.check_credentials()
        apps = await okta.apps_by_label("Platform Single Sign-On for macOS")
        group = await okta.group_by_name("Mac Pilot")
        await okta.assign_group(apps[0]["id"], group["id"])
        assert okta.uses_dpop is (dpop == "required")
        assert ("DPoP-bound" in who) is (dpop == "required")
    assert (apps[0]["id"], "Mac Pilot") in [(a["app_id"], a["group_name"])
                                            for a in sb.state()["okta"]["group_assignments"]]
    tokens = [r["status"] for r in requests(sb, "/oauth2/v1/token")]
    # DPoP: a proof-less try (400 invalid_dpop_proof), a proof without nonce (400 use_dpop_nonce), then the token.
    assert tokens == ([400, 400, 200] if dpop == "required" else [200])
    api = [r["status"] for r in requests(sb, "/api/v1/apps")]
    assert api and set(api) == {200}


async def test_rs256_assertion_is_what_an_rsa_app_gets(sandbox_factory):
    sb = sandbox_factory(service_app_key="rsa")
    async with client(sb) as okta:
        assertion = okta._assertion()
    assert jwt.get_unverified_header(assertion)["alg"] == "RS256"


def _token(sb, proof_key: DPoPKey, nonce: str | None = None) -> httpx.Response:
    from odatui.okta.client import ASSERTION_TYPE

    okta = client(sb)
    url = f"{sb.url}/oauth2/v1/token"
    form = {"grant_type": "client_credentials", "scope": "okta.apps.read", "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": okta._assertion()}
    return httpx.post(url, data=form, headers={"DPoP": proof_key.proof("POST", url, nonce=nonce)},
                      verify=tls(sb))


def _bound_token(sb) -> tuple[DPoPKey, str]:
    key = DPoPKey()
    nonce = _token(sb, key).headers["DPoP-Nonce"]
    r = _token(sb, key, nonce)
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP"
    return key, r.json()["access_token"]


def test_sandbox_refuses_bad_proofs(sandbox_factory):
    sb = sandbox_factory(dpop="required")
    first = _token(sb, DPoPKey())
    assert (first.status_code, first.json()["error"]) == (400, "use_dpop_nonce")
    key, token = _bound_token(sb)
    apps = f"{sb.url}/api/v1/apps"

    def call(headers: dict) -> httpx.Response:
        return httpx.get(apps, headers=headers, verify=tls(sb))

    good = key.proof("GET", apps, access_token=token)
    assert call({"Authorization": f"DPoP {token}", "DPoP": good}).status_code == 200
    bad = {
        "replayed jti": {"Authorization": f"DPoP {token}", "DPoP": good},
        "no proof": {"Authorization": f"DPoP {token}"},
        "bearer scheme": {"Authorization": f"Bearer {token}", "DPoP": key.proof("GET", apps, access_token=token)},
        "wrong method": {"Authorization": f"DPoP {token}", "DPoP": key.proof("POST", apps, access_token=token)},
        "wrong url": {"Authorization": f"DPoP {token}",
                      "DPoP": key.proof("GET", f"{sb.url}/api/v1/groups", access_token=token)},
        "no ath": {"Authorization": f"DPoP {token}", "DPoP": key.proof("GET", apps)},
        "other key": {"Authorization": f"DPoP {token}", "DPoP": DPoPKey().proof("GET", apps, access_token=token)},
    }
    # A tampered signature: the claims of one proof under the signature of another.
    head, _, _ = key.proof("GET", apps, access_token=token).split(".")
    _, body, sig = key.proof("GET", apps, access_token=token + "x").split(".")
    bad["forged signature"] = {"Authorization": f"DPoP {token}", "DPoP": f"{head}.{body}.{sig}"}
    for what, headers in bad.items():
        r = call(headers)
        assert r.status_code == 401, what
        assert r.json()["errorCode"] == "E0000011", what
        assert 'error="invalid_dpop_proof"' in r.headers["WWW-Authenticate"], what


def test_token_endpoint_refuses_a_proof_for_another_url_or_stale(sandbox_factory):
    import jwt as pyjwt

    sb = sandbox_factory(dpop="required")
    key = DPoPKey()
    nonce = _token(sb, key).headers["DPoP-Nonce"]
    from odatui.okta.client import ASSERTION_TYPE

    url = f"{sb.url}/oauth2/v1/token"
    okta = client(sb)
    stale = pyjwt.encode({"htm": "POST", "htu": url, "iat": int(time.time()) - 3600, "jti": "x1", "nonce": nonce},
                         key._key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": key.jwk})
    for proof in (key.proof("POST", f"{sb.url}/oauth2/v1/other", nonce=nonce), stale, "not.a.jwt"):
        form = {"grant_type": "client_credentials", "scope": "okta.apps.read",
                "client_assertion_type": ASSERTION_TYPE, "client_assertion": okta._assertion()}
        r = httpx.post(url, data=form, headers={"DPoP": proof}, verify=tls(sb))
        assert (r.status_code, r.json()["error"]) == (400, "invalid_dpop_proof")


def test_ath_is_base64url_sha256():
    # RFC 9449 §7.1 example: ath of "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
    assert access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU") == \
        "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


async def test_wrong_rsa_key_is_invalid_client_even_with_dpop(sandbox_factory):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    sb = sandbox_factory(service_app_key="rsa", dpop="required")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    async with client(sb, private_key=other) as okta:
        with pytest.raises(OktaApiError) as info:
            await okta.check_credentials()
    assert info.value.error_code == "invalid_client"


async def test_resource_nonce_challenge_is_answered(sandbox_factory):
    sb = sandbox_factory(dpop="required")
    httpx.post(f"{sb.url}/_sandbox/okta/settings", json={"resource_nonce": True}, verify=tls(sb))
    async with client(sb) as okta:
        apps = await okta.list_apps()
        apps_again = await okta.list_apps()
    assert len(apps) == len(apps_again) == 31
    statuses = [r["status"] for r in requests(sb, "/api/v1/apps")]
    # The first API call is challenged once (401 use_dpop_nonce), then every call carries the nonce.
    assert statuses == [401, 200, 200]
