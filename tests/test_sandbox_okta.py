"""The Okta emulator over real HTTPS: every route, auth failures, paging, rate-limit headers, the service app's
private_key_jwt, admin switches, and the responses checked against Okta's OpenAPI contract."""

from __future__ import annotations

import time

import httpx
import jwt
import pytest

from odatui.sandbox.credentials import OKTA_TOKEN

SSWS = {"Authorization": f"SSWS {OKTA_TOKEN}"}


def tls(sb):
    import ssl

    return ssl.create_default_context(cafile=str(sb.ca_path))


@pytest.fixture
def http(sandbox):
    with httpx.Client(base_url=sandbox.url, verify=tls(sandbox), headers=SSWS) as client:
        yield client


def contract(response: httpx.Response) -> None:
    from okta_contract import validate_response

    body = response.json() if response.content and "json" in response.headers.get("content-type", "") else None
    validate_response(response.request.method, str(response.request.url), response.status_code, body)


def psso(http) -> dict:
    return http.get("/api/v1/apps", params={"q": "Platform Single Sign-On for macOS"}).json()[0]


def group(http, name: str) -> dict:
    return http.get("/api/v1/groups", params={"search": f'profile.name eq "{name}"'}).json()[0]


def assert_rate_headers(response: httpx.Response) -> None:
    limit = int(response.headers["X-Rate-Limit-Limit"])
    remaining = int(response.headers["X-Rate-Limit-Remaining"])
    reset = int(response.headers["X-Rate-Limit-Reset"])
    assert 0 <= remaining < limit
    assert time.time() - 1 <= reset <= time.time() + 61


def test_org_metadata_is_identity_engine_without_auth(sandbox):
    with httpx.Client(base_url=sandbox.url, verify=tls(sandbox)) as anon:
        r = anon.get("/.well-known/okta-organization")
    assert r.status_code == 200
    assert r.json()["pipeline"] == "idx"
    assert r.json()["_links"]["organization"]["href"] == sandbox.url
    assert "alternate" not in r.json()["_links"]
    assert_rate_headers(r)
    contract(r)


def test_custom_domain_is_linked_as_alternate(sandbox_factory):
    sb = sandbox_factory(custom_domain="login.acme.example")
    r = httpx.get(f"{sb.url}/.well-known/okta-organization", verify=tls(sb))
    assert r.json()["_links"]["alternate"]["href"] == "https://login.acme.example"
    contract(r)


def test_authenticators_switchable_and_classic_is_unlicensed(http):
    r = http.get("/api/v1/authenticators")
    contract(r)
    verify = next(a for a in r.json() if a["key"] == "okta_verify")
    assert verify["status"] == "ACTIVE"
    http.post("/_sandbox/okta/settings", json={"authenticator_status": "INACTIVE"})
    verify = next(a for a in http.get("/api/v1/authenticators").json() if a["key"] == "okta_verify")
    assert verify["status"] == "INACTIVE"
    http.post("/_sandbox/okta/settings", json={"pipeline": "v1"})
    assert http.get("/.well-known/okta-organization").json()["pipeline"] == "v1"
    r = http.get("/api/v1/authenticators")
    assert (r.status_code, r.json()["errorCode"]) == (401, "E0000015")
    contract(r)


@pytest.mark.parametrize("header", [None, "SSWS wrong-token", "Bearer not-issued", "Basic abc"])
def test_bad_credentials_get_E0000011_in_okta_shape(sandbox, header):
    headers = {"Authorization": header} if header else {}
    r = httpx.get(f"{sandbox.url}/api/v1/apps", headers=headers, verify=tls(sandbox))
    assert r.status_code == 401
    body = r.json()
    assert body["errorCode"] == "E0000011" and body["errorLink"] == "E0000011"
    assert body["errorSummary"] == "Invalid token provided"
    assert body["errorId"].startswith("oae") and body["errorCauses"] == []
    assert_rate_headers(r)
    contract(r)


def test_apps_paging_follows_link_next_over_all_apps(http):
    first = http.get("/api/v1/apps", params={"limit": 7})
    contract(first)
    assert len(first.json()) == 7
    assert_rate_headers(first)
    seen, url, pages = [], "/api/v1/apps?limit=7", 0
    while url:
        r = http.get(url)
        seen += [a["id"] for a in r.json()]
        url = r.links.get("next", {}).get("url")
        assert r.links["self"]["url"]
        pages += 1
    assert pages == 5 and len(seen) == len(set(seen)) == 31  # 30 other apps + the PSSO app


def test_apps_q_filter_and_get(http):
    found = http.get("/api/v1/apps", params={"q": "platform single"}).json()
    assert [a["label"] for a in found] == ["Platform Single Sign-On for macOS"]
    app = found[0]
    assert app["signOnMode"] == "OPENID_CONNECT" and app["status"] == "ACTIVE"
    assert app["credentials"]["oauthClient"]["client_id"] == app["id"]
    assert len(app["id"]) == 20 and app["id"].startswith("0oa") and app["id"].isalnum()
    active = http.get("/api/v1/apps", params={"filter": 'status eq "ACTIVE" and name eq "bookmark"', "limit": 200})
    assert active.json() and all(a["name"] == "bookmark" for a in active.json())
    r = http.get(f"/api/v1/apps/{app['id']}")
    contract(r)
    assert r.json()["label"] == app["label"]
    missing = http.get("/api/v1/apps/0oa00000000000000000")
    assert (missing.status_code, missing.json()["errorCode"]) == (404, "E0000007")
    contract(missing)
    bad = http.get("/api/v1/apps", params={"filter": "label co 'x'"})
    assert (bad.status_code, bad.json()["errorCode"]) == (400, "E0000031")


def test_group_assignment_put_list_users_delete(sandbox, http):
    app, pilot = psso(http), group(http, "Mac Pilot")
    r = http.put(f"/api/v1/apps/{app['id']}/groups/{pilot['id']}", json={})
    contract(r)
    assert r.json()["id"] == pilot["id"] and r.json()["priority"] == 0
    listing = http.get(f"/api/v1/apps/{app['id']}/groups")
    contract(listing)
    assert [g["id"] for g in listing.json()] == [pilot["id"]]
    users = http.get(f"/api/v1/apps/{app['id']}/users")
    contract(users)
    assert len(users.json()) == 5 and {u["scope"] for u in users.json()} == {"GROUP"}
    assert sandbox.state()["okta"]["group_assignments"] == [
        {"app_id": app["id"], "group_id": pilot["id"], "group_name": "Mac Pilot", "priority": 0}]
    gone = http.delete(f"/api/v1/apps/{app['id']}/groups/{pilot['id']}")
    assert gone.status_code == 204
    contract(gone)
    assert http.get(f"/api/v1/apps/{app['id']}/groups").json() == []
    unknown = http.put(f"/api/v1/apps/{app['id']}/groups/00g00000000000000000", json={})
    assert (unknown.status_code, unknown.json()["errorCode"]) == (404, "E0000007")


def test_put_without_body_or_length_is_411_and_bad_json_is_E0000003(sandbox, http):
    app, pilot = psso(http), group(http, "Mac Pilot")
    url = f"/api/v1/apps/{app['id']}/groups/{pilot['id']}"

    def chunks():
        yield b""

    r = http.put(url, content=chunks())  # streamed: Transfer-Encoding, no Content-Length
    assert r.status_code == 200  # chunked is a length
    raw = httpx.Request("PUT", f"{sandbox.url}{url}", headers=SSWS)
    raw.headers.pop("Content-Length", None)
    assert http.send(raw).status_code == 411
    bad = http.put(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert (bad.status_code, bad.json()["errorCode"]) == (400, "E0000003")


def test_groups_q_and_search(http):
    r = http.get("/api/v1/groups", params={"q": "Mac Pilot"})
    contract(r)
    assert sorted(g["profile"]["name"] for g in r.json()) == ["Mac Pilot", "Mac Pilot Wave 2"]
    exact = http.get("/api/v1/groups", params={"search": 'profile.name eq "Mac Pilot"'})
    contract(exact)
    assert [g["profile"]["name"] for g in exact.json()] == ["Mac Pilot"]
    assert http.get("/api/v1/groups", params={"search": 'profile.name eq "Nobody"'}).json() == []
    everyone = http.get("/api/v1/groups", params={"search": 'type eq "BUILT_IN"'}).json()
    assert [g["profile"]["name"] for g in everyone] == ["Everyone"]
    paged = http.get("/api/v1/groups", params={"limit": 2})
    assert len(paged.json()) == 2 and "next" in paged.links


def test_users_me_for_an_api_token(http):
    r = http.get("/api/v1/users/me")
    assert r.status_code == 200 and r.json()["profile"]["login"] == "admin@acme.example"
    assert_rate_headers(r)


def _assertion(sb, *, client_id=None, aud=None, exp_in=300, key=None):
    cid, key_path = sb.okta_service_app()
    now = int(time.time())
    claims = {"iss": client_id or cid, "sub": client_id or cid, "aud": aud or f"{sb.url}/oauth2/v1/token",
              "iat": now, "exp": now + exp_in, "jti": str(time.monotonic_ns())}
    return jwt.encode(claims, key or key_path.read_text(), algorithm="ES256")


def _token(sb, assertion, scope="okta.apps.read okta.apps.manage", **extra):
    form = {"grant_type": "client_credentials", "scope": scope, "client_assertion": assertion,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", **extra}
    return httpx.post(f"{sb.url}/oauth2/v1/token", data=form, verify=tls(sb))


def test_service_app_private_key_jwt_token_and_scopes(sandbox):
    _, key_path = sandbox.okta_service_app()
    assert key_path.parent == sandbox.data_dir and oct(key_path.stat().st_mode & 0o777) == "0o600"
    r = _token(sandbox, _assertion(sandbox))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    ok = httpx.get(f"{sandbox.url}/api/v1/apps", headers=bearer, verify=tls(sandbox))
    assert ok.status_code == 200
    # groups.read was not requested: the token does not carry it
    denied = httpx.get(f"{sandbox.url}/api/v1/groups", headers=bearer, verify=tls(sandbox))
    assert (denied.status_code, denied.json()["errorCode"]) == (403, "E0000006")
    assert "insufficient_scope" in denied.headers["WWW-Authenticate"]


def test_service_app_rejections(sandbox):
    from cryptography.hazmat.primitives.asymmetric import ec

    other_key = ec.generate_private_key(ec.SECP256R1())
    cases = {
        "wrong key": (_token(sandbox, _assertion(sandbox, key=other_key)), 401, "invalid_client"),
        "unknown client": (_token(sandbox, _assertion(sandbox, client_id="0oa00000000000000000")), 401,
                           "invalid_client"),
        "wrong audience": (_token(sandbox, _assertion(sandbox, aud="https://elsewhere/oauth2/v1/token")), 401,
                           "invalid_client"),
        "too long": (_token(sandbox, _assertion(sandbox, exp_in=7200)), 401, "invalid_client"),
        "no scope": (_token(sandbox, _assertion(sandbox), scope=""), 400, "invalid_scope"),
        "unknown scope": (_token(sandbox, _assertion(sandbox), scope="okta.users.manage"), 400, "invalid_scope"),
    }
    for name, (response, status, error) in cases.items():
        assert (response.status_code, response.json()["error"]) == (status, error), name
        assert response.json()["error_description"], name
    httpx.post(f"{sandbox.url}/_sandbox/okta/settings", json={"require_dpop": True}, verify=tls(sandbox))
    r = _token(sandbox, _assertion(sandbox))
    assert (r.status_code, r.json()["error"]) == (400, "invalid_dpop_proof")


def test_rate_limit_bucket_runs_out_with_E0000047(http):
    http.post("/_sandbox/okta/settings", json={"rate_limits": {"groups": 3}})
    statuses = [http.get("/api/v1/groups").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    r = http.get("/api/v1/groups")
    assert r.json()["errorCode"] == "E0000047"
    assert r.headers["X-Rate-Limit-Remaining"] == "0" and r.headers["X-Rate-Limit-Limit"] == "3"
    contract(r)
    assert http.get("/api/v1/apps").status_code == 200  # another route class has its own bucket


def test_psso_app_absent_then_added_by_admin(sandbox_factory):
    sb = sandbox_factory(psso_app="absent")
    with httpx.Client(base_url=sb.url, verify=tls(sb), headers=SSWS) as http:
        assert http.get("/api/v1/apps", params={"q": "Platform Single"}).json() == []
        created = http.post("/_sandbox/okta/psso-app")
        assert created.status_code == 201
        found = http.get("/api/v1/apps", params={"q": "Platform Single"}).json()
        assert [a["id"] for a in found] == [created.json()["id"]]
    labels = [a["label"] for a in sb.state()["okta"]["apps"]]
    assert labels.count("Platform Single Sign-On for macOS") == 1 and len(labels) == 31


def test_requests_are_recorded_without_the_token(sandbox, http):
    http.get("/api/v1/apps")
    log = http.get("/_sandbox/requests").json()
    assert log["requests"][-1]["path"] == "/api/v1/apps"
    assert OKTA_TOKEN not in str(log)
    assert sandbox.state()["requests_total"] >= 1


def test_unknown_route_answers_in_okta_shape(http):
    r = http.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["errorCode"]
