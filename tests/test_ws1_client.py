"""The async WS1 client against the sandbox's WS1 emulator over real HTTPS; every exchange is checked against
Omnissa's Swagger files when they are present."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import pytest
from ws1_contract import (Ws1Contract, admin, record, roll_out, sandbox_requests, sandbox_secrets, ws1_config)

from conftest import vendor_path
from odatui.core.http import RetryPolicy
from odatui.sandbox.fleet import Fleet
from odatui.sandbox.credentials import WS1_GROUP_ID, WS1_SMART_GROUP
from odatui.mdm.ws1.api.client import Ws1Client
from odatui.mdm.ws1.api.errors import Ws1ApiError

FAST = RetryPolicy(attempts=3, base=0.01, cap=0.05, max_wait=0.05)


@pytest.fixture
def contract():
    return Ws1Contract(vendor_path("ws1", "2604"))


class Checked:
    """A client whose traffic is validated against the vendor spec when the test ends."""

    def __init__(self, client: Ws1Client, contract: Ws1Contract) -> None:
        self.client, self.contract = client, contract
        self.exchanges = record(client.http)

    def problems(self) -> list[str]:
        return self.contract.problems(self.exchanges)


@pytest.fixture
async def make_client(contract):
    made: list[Checked] = []

    def make(sb, auth="basic", secrets=None, policy=FAST, **cfg):
        client = Ws1Client.from_config(ws1_config(sb, auth, **cfg), secrets or sandbox_secrets(), policy=policy)
        made.append(Checked(client, contract))
        return client

    yield make
    problems = [p for c in made for p in c.problems()]
    for c in made:
        await c.client.aclose()
    assert problems == [], "requests/responses outside the WS1 Swagger contract:\n" + "\n".join(problems)


@pytest.mark.parametrize("auth", ["basic", "oauth"])
async def test_org_group_and_smart_groups_in_both_auth_modes(sandbox, make_client, auth):
    client = make_client(sandbox, auth)
    og = await client.groups.find_org_group(WS1_GROUP_ID)
    assert og is not None and og.id == 570 and og.group_id == WS1_GROUP_ID and len(og.uuid) == 36
    groups = await client.groups.search_smart_groups(WS1_SMART_GROUP)
    # The API matches substrings: the "(pilot)" group comes back too, and callers must filter exactly.
    assert {g.name for g in groups} == {WS1_SMART_GROUP, f"{WS1_SMART_GROUP} (pilot)"}
    assert await client.groups.search_smart_groups("no such group") == []  # 204, no body
    assert await client.groups.find_org_group("NOPE") is None
    seen = sandbox_requests(sandbox, "/connect/token")
    assert len(seen) == (1 if auth == "oauth" else 0)
    api = sandbox_requests(sandbox, "/api/.*")
    assert all(r["headers"]["authorization"] == "[redacted]" for r in api)  # secrets never recorded


async def test_oauth_without_tenant_code_works(sandbox, make_client):
    client = make_client(sandbox, "oauth", secrets=sandbox_secrets(**{"ws1.tenant_code": ""}))
    assert (await client.groups.find_org_group(WS1_GROUP_ID)).id == 570
    assert all("aw-tenant-code" not in r["headers"] for r in sandbox_requests(sandbox, "/api/.*"))


async def test_wrong_oauth_secret_is_explained(sandbox, make_client):
    client = make_client(sandbox, "oauth", secrets=sandbox_secrets(**{"ws1.client_secret": "wrong"}))
    with pytest.raises(Ws1ApiError) as err:
        await client.groups.find_org_group(WS1_GROUP_ID)
    assert not err.value.retryable and "OAuth client was refused" in err.value.message
    assert "client secret" in err.value.hint


async def test_1005_is_explained_and_not_retried(sandbox, make_client):
    client = make_client(sandbox, secrets=sandbox_secrets(**{"ws1.tenant_code": "wrong-code"}))
    with pytest.raises(Ws1ApiError) as err:
        await client.groups.find_org_group(WS1_GROUP_ID)
    e = err.value
    assert (e.status, e.error_code, e.retryable) == (401, 1005, False)
    assert "directory" in e.hint and "tenant code" in e.hint and "not retry" in e.hint
    assert e.activity_id and "wrong-code" not in str(e)
    assert len(sandbox_requests(sandbox, "/api/.*")) == 1  # exactly one attempt: retries can lock the account


async def test_silent_v1_fallback_is_detected_not_misparsed(sandbox, make_client):
    client = make_client(sandbox)

    async def proxy_mangles_accept(request):  # a trailing semicolon is enough for the API to answer v1
        request.headers["Accept"] = request.headers["Accept"] + ";"

    client.http.event_hooks = {**client.http.event_hooks, "request": [proxy_mangles_accept]}
    with pytest.raises(Ws1ApiError) as err:
        await client.groups.find_org_group(WS1_GROUP_ID)
    assert "unexpected shape" in err.value.message and "LocationGroups" in err.value.message
    assert "version 1" in err.value.hint


async def test_html_proxy_page_gives_a_clear_message(sandbox_factory, make_client):
    sb = sandbox_factory(fault_rules=[{"method": "GET", "path": "/api/system/groups/search", "fault": "502",
                                       "times": None}])
    client = make_client(sb)
    with pytest.raises(Ws1ApiError) as err:
        await client.groups.find_org_group(WS1_GROUP_ID)
    assert err.value.status == 502 and "not JSON" in err.value.message and "proxy" in err.value.hint
    assert err.value.retryable
    assert len(sandbox_requests(sb, "/api/system/groups/search")) == FAST.attempts  # GETs are retried


async def test_upload_streams_with_progress(sandbox, make_client, tmp_path):
    path = tmp_path / "OktaVerify.pkg"
    data = os.urandom(5 * 1024 * 1024 + 123)
    path.write_bytes(data)
    client = make_client(sandbox)
    seen: list[tuple[int, int, float]] = []
    blob = await client.apps.upload_blob(path, file_name="OktaVerify.pkg", og_id=570, module_type="Application",
                                    progress=lambda sent, total, rate: seen.append((sent, total, rate)))
    assert seen[-1][0] == seen[-1][1] == len(data)
    assert [s for s, _, _ in seen] == sorted(s for s, _, _ in seen) and all(r > 0 for _, _, r in seen)
    stored = {b["id"]: b for b in sandbox.state()["ws1"]["blobs"]}[blob.id]
    assert stored["size"] == len(data) and stored["sha256"] == hashlib.sha256(data).hexdigest()
    assert stored["type"] == "pkg" and stored["module_type"] == "Application"


async def test_token_renewed_during_a_long_upload(sandbox, make_client, tmp_path):
    admin(sandbox, "/_sandbox/ws1/settings", {"token_lifetime_s": 1.5})
    path = tmp_path / "OktaVerify.pkg"
    path.write_bytes(os.urandom(12 * 1024 * 1024))
    client = make_client(sandbox, "oauth")
    await client.groups.find_org_group(WS1_GROUP_ID)

    async def slow_link(sent, total, rate):
        await asyncio.sleep(0.25)  # ~3 s for 12 chunks: twice the token's lifetime

    began = time.time()
    await client.apps.upload_blob(path, file_name="OktaVerify.pkg", og_id=570, module_type="Application", progress=slow_link)
    ended = time.time()
    assert ended - began > 2.5
    during = [r for r in sandbox_requests(sandbox, "/connect/token") if began < r["time"] < ended]
    assert during, "the token was not renewed while the upload ran"
    meta = await client.apps.upload_blob(b"<plist/>", file_name="x.plist", og_id=570)  # right after: a fresh token
    assert meta.id
    assert not [r for r in sandbox_requests(sandbox, "/api/.*") if r["status"] == 401]


async def test_upload_resent_after_429_but_not_after_500(sandbox_factory, make_client, tmp_path):
    path = tmp_path / "OktaVerify.pkg"
    path.write_bytes(os.urandom(300_000))
    sb = sandbox_factory(fault_rules=[{"method": "POST", "path": "/api/mam/blobs/uploadblob", "fault": "429"}])
    client = make_client(sb)
    await client.apps.upload_blob(path, file_name="OktaVerify.pkg", og_id=570, module_type="Application")
    assert [r["status"] for r in sandbox_requests(sb, "/api/mam/blobs/uploadblob")] == [429, 200]

    sb2 = sandbox_factory(fault_rules=[{"method": "POST", "path": "/api/mam/blobs/uploadblob", "fault": "500"}])
    client2 = make_client(sb2)
    with pytest.raises(Ws1ApiError) as err:
        await client2.apps.upload_blob(path, file_name="OktaVerify.pkg", og_id=570, module_type="Application")
    assert err.value.status == 500 and err.value.retryable
    assert len(sandbox_requests(sb2, "/api/mam/blobs/uploadblob")) == 1  # never blindly re-sent


async def test_lost_create_answer_looks_before_anything_is_resent(sandbox_factory, make_client, tmp_path):
    sb = sandbox_factory(fault_rules=[{"method": "POST", "path": "/api/mam/groups/570/macos/apps", "fault": "drop"}])
    client = make_client(sb)
    with pytest.raises(Ws1ApiError) as err:
        await client.apps.create_macos_app(570, app_blob_id=1, pkginfo_blob_id=2, version="9.52.0", name="Okta Verify")
    assert err.value.retryable and err.value.status is None
    assert len(sandbox_requests(sb, "/api/mam/groups/570/macos/apps")) == 1
    assert len(sandbox_requests(sb, "/api/mam/apps/search")) == 1  # it looked for the app first


async def test_unknown_ids_are_explained(sandbox, make_client):
    client = make_client(sandbox)
    with pytest.raises(Ws1ApiError) as err:
        await client.apps.get_assignment_rules("00000000-0000-0000-0000-000000000000")
    assert err.value.error_code == 7000 and "not visible" in err.value.hint
    with pytest.raises(Ws1ApiError) as err:
        await client.apps.get_internal_app(999)
    assert (err.value.status, err.value.error_code) == (401, 7000) and not err.value.retryable
    assert await client.profiles.search_profiles(570, "Nothing") == []


async def test_rollout_status_pages_concurrently(sandbox_factory, make_client, tmp_path):
    devices = 2000
    sb = sandbox_factory(devices=devices, seed=7)
    client = make_client(sb)
    sg_id, app_id, (profile_id,) = await roll_out(client, sb, tmp_path)

    status = await client.rollout.rollout_status(sg_id, app_id, profile_id)
    fleet = Fleet(7, devices)
    members = fleet.members()
    # Every member that is not offline has installed both after a long time; offline ones never do, the profile
    # (Extensible SSO) never installs on a Mac without user-approved MDM, and a Mac reporting it broken never counts.
    expected = sum(1 for d in members
                   if fleet.delay(d, "profile") is not None and d.user_approved and not d.profile_fails)
    assert expected < sum(1 for d in members if fleet.delay(d, "profile") is not None)
    assert status.devices == len(members) and status.profile_installed == expected
    assert status.app_installed == sum(1 for d in members if fleet.delay(d, "app") is not None)
    pages = -(-status.profile_installed // 500) + -(-status.app_installed // 500)
    # profile read + smart group devices + the pages of both install lists
    assert status.requests_made == 2 + pages


async def test_rollout_status_moves_with_time(sandbox_factory, make_client):
    sb = sandbox_factory(devices=300, seed=3)
    client = make_client(sb)
    sg = [g for g in await client.groups.search_smart_groups(WS1_SMART_GROUP) if g.name == WS1_SMART_GROUP][0]
    profile_id = await client.profiles.create_macos_profile({
        "General": {"Name": "P", "ProfileContext": "Device", "AssignmentType": "Auto", "IsActive": True,
                    "ManagedLocationGroupID": 570, "AssignedSmartGroups": [{"SmartGroupId": sg.id}]},
        "AssociatedDomains": {"ApplicationIdentifier": ["A.b"], "AssociatedDomains": ["authsrv:x"]}})
    counts = []
    for step in (0, 10, 30, 120, 100_000):
        admin(sb, "/_sandbox/ws1/clock", {"advance_s": step})
        counts.append((await client.rollout.rollout_status(sg.id, None, profile_id)).profile_installed)
    assert counts == sorted(counts) and counts[0] < counts[-1]
    assert counts[-1] < (await client.rollout.rollout_status(sg.id, None, profile_id)).devices + 1
