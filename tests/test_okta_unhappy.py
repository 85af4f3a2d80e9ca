"""Okta's documented unhappy paths, served by the sandbox and met by odatui with a sentence for the admin:
concurrent-limit 429s (X-Rate-Limit-Limit 0), INACTIVE apps in list and search, groups with many members paged
(Link headers), users in every status and without a password, the Devices API for registered Macs, the org's
apple-app-site-association, and a custom domain given on the `odatui sandbox` command line."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys

import httpx
import pytest
from rollout import demo_factory  # noqa: F401 - fixture
from test_okta_steps import admin, context

from odatui.mdm import run_order
from odatui.core.errors import StepError
from odatui.macos.payloads import EXTENSION_ID, TEAM_ID
from odatui.sandbox.server import OKTA_TOKEN
from odatui.steps.okta_preflight import PreflightOkta

SSWS = {"Authorization": f"SSWS {OKTA_TOKEN}"}
OKTA_VERIFY_EXTENSION = f"{TEAM_ID}.{EXTENSION_ID}"


def tls(sb):
    return ssl.create_default_context(cafile=str(sb.ca_path))


def checked(response: httpx.Response) -> httpx.Response:
    """Every body the sandbox sends here is checked against Okta's management OpenAPI."""
    from okta_contract import validate_response

    body = response.json() if "json" in response.headers.get("content-type", "") else None
    validate_response(response.request.method, str(response.request.url), response.status_code, body)
    return response


# --- concurrent rate limit ----------------------------------------------------------------------------------------
async def test_concurrent_limit_429_becomes_a_sentence_about_other_tools(sandbox, sandbox_env):
    admin(sandbox, "/_sandbox/okta/settings", busy_in_flight=75)  # other integrations hold all 75 slots
    with httpx.Client(base_url=sandbox.url, verify=tls(sandbox), headers=SSWS) as http:
        r = checked(http.get("/api/v1/apps"))
    assert r.status_code == 429 and r.json()["errorCode"] == "E0000047"
    assert (r.headers["X-Rate-Limit-Limit"], r.headers["X-Rate-Limit-Remaining"]) == ("0", "0")
    ctx = context(sandbox)
    try:
        with pytest.raises(StepError) as info:
            await PreflightOkta().inspect(ctx)
    finally:
        await ctx.aclose()
    text = str(info.value)
    assert "in flight at once" in text and "concurrent limit" in text and "E0000047" in text
    assert "core.concurrency.org.limit.violation" in info.value.hint
    # odatui retried (the client's policy: 3 attempts) before giving up, and every answer was a 429.
    statuses = [r["status"] for r in sandbox.world.requests if r["path"] == "/.well-known/okta-organization"]
    assert statuses == [429, 429, 429]


async def test_concurrent_limit_429_is_waited_out_when_slots_free_up(sandbox, sandbox_env):
    admin(sandbox, "/_sandbox/okta/settings", busy_in_flight=75)
    ctx = context(sandbox)

    async def free_slots():
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(verify=tls(sandbox)) as http:
            await http.post(f"{sandbox.url}/_sandbox/okta/settings", json={"busy_in_flight": 0})

    try:
        change, _ = await asyncio.gather(PreflightOkta().inspect(ctx), free_slots())
    finally:
        await ctx.aclose()
    assert "Identity Engine" in change.summary
    statuses = [r["status"] for r in sandbox.world.requests if r["path"] == "/.well-known/okta-organization"]
    assert statuses[0] == 429 and statuses[-1] == 200


# --- INACTIVE apps ------------------------------------------------------------------------------------------------
def test_inactive_app_keeps_its_status_in_list_search_and_get(sandbox_factory):
    sb = sandbox_factory(psso_app="absent")
    admin(sb, "/_sandbox/okta/psso-app", status="INACTIVE")
    with httpx.Client(base_url=sb.url, verify=tls(sb), headers=SSWS) as http:
        by_q = checked(http.get("/api/v1/apps", params={"q": "Platform Single Sign-On"})).json()
        inactive = checked(http.get("/api/v1/apps", params={"filter": 'status eq "INACTIVE"'})).json()
        active = checked(http.get("/api/v1/apps", params={"filter": 'status eq "ACTIVE"', "limit": 200})).json()
        got = checked(http.get(f"/api/v1/apps/{inactive[0]['id']}")).json()
    assert [a["status"] for a in by_q if a["label"].startswith("Platform Single")] == ["INACTIVE"]
    assert [a["label"] for a in inactive] == ["Platform Single Sign-On for macOS"]
    assert all(a["status"] == "ACTIVE" for a in active) and inactive[0]["id"] not in {a["id"] for a in active}
    assert got["status"] == "INACTIVE"


# --- many members, every status, no password ----------------------------------------------------------------------
def test_group_members_are_paged_with_link_headers_and_every_status(sandbox):
    admin(sandbox, "/_sandbox/okta/settings", group_members={"Mac Pilot": 450})
    with httpx.Client(base_url=sandbox.url, verify=tls(sandbox), headers=SSWS) as http:
        gid = http.get("/api/v1/groups", params={"search": 'profile.name eq "Mac Pilot"'}).json()[0]["id"]
        url, pages, users = f"/api/v1/groups/{gid}/users?limit=200", 0, []
        while url:
            r = checked(http.get(url))
            pages += 1
            users += r.json()
            nxt = [link for link in r.headers.get_list("link") if 'rel="next"' in link]
            url = nxt[0].split(";")[0].strip("<>") if nxt else None
    assert pages == 3 and len(users) == 455 and len({u["id"] for u in users}) == 455
    assert {u["status"] for u in users} == {"ACTIVE", "STAGED", "PROVISIONED", "RECOVERY", "PASSWORD_EXPIRED",
                                            "LOCKED_OUT", "SUSPENDED", "DEPROVISIONED"}
    assert any("password" not in u["credentials"] for u in users)
    assert all(set(u["_links"]) == {"self"} for u in users)


async def test_readiness_warns_who_cannot_use_password_sync(sandbox, sandbox_env):
    admin(sandbox, "/_sandbox/okta/settings", group_members={"Mac Pilot": 450})
    ctx = context(sandbox, page_size=200)
    try:
        change = await PreflightOkta().inspect(ctx)
    finally:
        await ctx.aclose()
    # One readiness warning per kind (Change.warnings, shown by plan and plan --json), not detail lines as well.
    text = "\n".join(change.warnings)
    assert "of the assigned groups are not ACTIVE and cannot sign in to Okta (DEPROVISIONED" in text
    assert "PROVISIONED" in text and "STAGED" in text and "SUSPENDED" in text
    assert "until an admin activates or unsuspends them" in text
    assert "must finish a step at their next sign-in (LOCKED_OUT" in text and "RECOVERY" in text
    assert "have no Okta password (FEDERATION" in text
    assert not [d for d in change.details if "Okta password" in d or "cannot sign in" in d]
    pages = [r for r in sandbox.world.requests if r["path"].endswith("/users") and "/groups/" in r["path"]]
    assert len(pages) == 3  # all three pages were read


# --- Devices API ----------------------------------------------------------------------------------------------------
async def test_registered_macs_from_the_devices_api(sandbox):
    from odatui.okta.client import OktaClient

    admin(sandbox, "/_sandbox/okta/settings", registered_macs=230)
    with httpx.Client(base_url=sandbox.url, verify=tls(sandbox), headers=SSWS) as http:
        first = checked(http.get("/api/v1/devices"))
        every = first.json()
        phones = checked(http.get("/api/v1/devices", params={"search": 'profile.platform eq "IOS"'})).json()
        macs = checked(http.get("/api/v1/devices", params={"search": 'profile.platform eq "MACOS"',
                                                           "expand": "userSummary", "limit": 50})).json()
    assert len(every) == 200 and 'rel="next"' in " ".join(first.headers.get_list("link"))  # 232 devices, 200 a page
    assert len(phones) == 2 and {d["profile"]["platform"] for d in phones} == {"IOS"}
    assert len(macs) == 50 and all(d["_embedded"]["users"][0]["user"]["profile"]["login"] for d in macs)
    async with OktaClient(sandbox.url, api_token=OKTA_TOKEN, ca_bundle=str(sandbox.ca_path)) as okta:
        registered = await okta.macos_devices()
    assert len(registered) == 230 and all(d["profile"]["platform"] == "MACOS" for d in registered)


# --- apple-app-site-association -------------------------------------------------------------------------------------
async def test_aasa_without_okta_verify_is_a_preflight_warning(sandbox, sandbox_env):
    with httpx.Client(base_url=sandbox.url, verify=tls(sandbox)) as anon:
        body = checked(anon.get("/.well-known/apple-app-site-association")).json()
    assert OKTA_VERIFY_EXTENSION in body["authsrv"]["apps"]
    ctx = context(sandbox)
    try:
        fine = await PreflightOkta().inspect(ctx)
        admin(sandbox, "/_sandbox/okta/settings", aasa_authsrv=False)  # a CDN in front serves its own file
        warned = await PreflightOkta().inspect(ctx)
    finally:
        await ctx.aclose()
    assert not [w for w in fine.warnings if "apple-app-site-association" in w]
    [line] = [w for w in warned.warnings if "apple-app-site-association" in w]
    assert OKTA_VERIFY_EXTENSION in line and "proxy or CDN" in line
    assert not [d for d in warned.details if "apple-app-site-association" in d]  # said once, as a warning


# --- custom domain from the command line ---------------------------------------------------------------------------
async def test_custom_domain_option_reaches_org_metadata_and_preflight(sandbox_factory, sandbox_env):
    from odatui.cli.sandbox import _options

    args = type("Args", (), {"fault_rate": 0.0, "latency_ms": 0, "port": 0, "devices": 1, "seed": 0,
                             "psso_app": "present", "custom_domain": "login.acme.example"})()
    options = _options(args)
    sb = sandbox_factory(**{k: getattr(options, k) for k in ("custom_domain", "psso_app", "devices")})
    with httpx.Client(base_url=sb.url, verify=tls(sb)) as anon:
        meta = checked(anon.get("/.well-known/okta-organization")).json()
    assert meta["_links"]["alternate"]["href"] == "https://login.acme.example"
    ctx = context(sb)
    try:
        change = await PreflightOkta().inspect(ctx)
    finally:
        await ctx.aclose()
    assert any("custom domain login.acme.example is configured" in d for d in change.details)


def test_bad_custom_domain_is_one_line_exit_2():
    run = subprocess.run([sys.executable, "-m", "odatui", "sandbox", "--custom-domain", "https://login/x"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "--custom-domain must be a host name" in run.stderr and "Traceback" not in run.stderr



async def test_verify_reports_registered_macs_or_the_missing_scope(demo_factory, sandbox_env):
    from odatui.engine.scheduler import Engine
    from odatui.okta.client import OktaClient
    from odatui.core.state import StateStore
    from odatui.mdm.ws1.steps.verify import _registered_macs

    session = demo_factory()
    sb = session.sandbox
    admin(sb, "/_sandbox/okta/settings", registered_macs=12)
    engine = Engine(session.config, session.secrets, StateStore(session.config.target_key(), sb.data_dir / "runs"),
                    steps=run_order(session.config))
    assert (await engine.run()).exit_code == 0
    [line] = [c for c in engine.state.outputs()["verify"]["checked"] if c.startswith("Okta:")]
    assert line.startswith("Okta: 12 Mac(s) registered with Okta Verify (any feature), for ") and "(Devices API)" in line
    # The run's service-app token carries only apply's scopes: the line says where the count is read instead.
    client_id, key_path = sb.okta_service_app()
    async with OktaClient(sb.url, service_app_client_id=client_id, private_key=key_path.read_text(),
                          ca_bundle=str(sb.ca_path)) as okta:
        note = await _registered_macs(okta)
    assert note.startswith("Okta device registrations not read by verify with a service app: `odatui status`")
    assert "okta.devices.read" in note
    # And an API token whose admin cannot read devices gets the same line from Okta's 403.
    httpx.post(f"{sb.url}/_sandbox/faults", verify=tls(sb), json={
        "method": "GET", "path": "/api/v1/devices", "status": 403, "body": {
            "errorCode": "E0000006", "errorSummary": "You do not have permission to perform the requested action",
            "errorLink": "E0000006", "errorId": "oaeSandbox", "errorCauses": []}}).raise_for_status()
    async with OktaClient(sb.url, api_token=OKTA_TOKEN, ca_bundle=str(sb.ca_path)) as okta:
        assert (await _registered_macs(okta)).startswith("Okta device registrations not read")
