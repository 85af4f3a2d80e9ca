"""The sandbox's WS1 emulator over real HTTPS: auth, version header, paging, 204s, what it rejects (as the real
service does) and that it keeps serving after bad input. Answers are checked against the vendor Swagger."""

from __future__ import annotations

import base64
import json
import plistlib
import ssl

import httpx
import pytest
from ws1_contract import Exchange, Ws1Contract, admin

from conftest import vendor_path
from odatui.sandbox.fleet import Fleet
from odatui.sandbox.credentials import (
    WS1_OAUTH_CLIENT_ID,
    WS1_OAUTH_SECRET,
    WS1_PASSWORD,
    WS1_SMART_GROUP,
    WS1_TENANT_CODE,
    WS1_USER,
)
from odatui.mdm.ws1.emulator.common import requested_version

BASIC = {"Authorization": "Basic " + base64.b64encode(f"{WS1_USER}:{WS1_PASSWORD}".encode()).decode(),
         "aw-tenant-code": WS1_TENANT_CODE}
V1 = {**BASIC, "Accept": "application/json;version=1"}
V2 = {**BASIC, "Accept": "application/json;version=2"}
BARE = "<dict><key>PayloadType</key><string>com.okta.test</string></dict>"


class Api:
    """A sync client that checks each answer against the spec (when the vendor files are here)."""

    def __init__(self, sb, contract):
        self.sb, self.contract, self.problems = sb, contract, []
        self.http = httpx.Client(base_url=sb.url, verify=ssl.create_default_context(cafile=str(sb.ca_path)))

    def __call__(self, method, path, *, headers=V1, check=True, **kw):
        r = self.http.request(method, path, headers=headers, **kw)
        if check and self.contract is not None and path.lower().startswith("/api/"):
            version = requested_version(r.request.headers.get("accept"))
            try:
                body = r.request.content
            except httpx.RequestNotRead:
                body = None
            ex = Exchange(method, r.request.url.path, list(r.request.url.params.multi_items()), version,
                          r.request.headers.get("content-type", ""), body, r.status_code, r.content)
            # Only the answers are checked here: some requests are deliberately wrong.
            spec_op = self.contract.operation(method, ex.path, version)
            if spec_op is not None:
                self.problems += [f"{method} {path} → {r.status_code}: {p}"
                                  for p in self.contract._response(spec_op[0], spec_op[1], ex)]
        return r


@pytest.fixture
def api(sandbox):
    try:
        contract = Ws1Contract(vendor_path("ws1", "2604"))
    except pytest.skip.Exception:
        contract = None
    client = Api(sandbox, contract)
    yield client
    client.http.close()
    assert client.problems == [], "\n".join(client.problems)


def upload(api, name, data, module=None, og=570):
    params = {"fileName": name, "organizationGroupId": og, **({"moduleType": module} if module else {})}
    return api("POST", "/api/mam/blobs/uploadblob", params=params, content=data,
               headers={**V1, "Content-Type": "application/octet-stream"})


def profile_body(**general):
    g = {"Name": "P", "ProfileContext": "Device", "AssignmentType": "Auto", "IsActive": True,
         "ManagedLocationGroupID": 570, "AssignedSmartGroups": [{"SmartGroupId": 4711}], **general}
    return {"General": {k: v for k, v in g.items() if v is not None}, "CustomSettingsList": [{"CustomSettings": BARE}]}


@pytest.mark.parametrize("accept,version", [
    ("application/json;version=2", 2), ("application/json; version=2", 2), ("application/json;version=2;", 1),
    ("application/json", 1), ("", 1), ("application/json;version=x", 1), ("*/*", 1)])
def test_accept_version_parsing(accept, version):
    assert requested_version(accept) == version


def test_v1_and_v2_shapes_of_group_search(api):
    v2 = api("GET", "/api/system/groups/search", params={"groupid": "ACME"}, headers=V2).json()
    v1 = api("GET", "/API/system/groups/search", params={"groupid": "ACME"}, headers=V1).json()
    assert v2["OrganizationGroups"][0]["Id"] == 570 and v2["TotalResults"] == 1
    assert v1["LocationGroups"][0]["Id"] == {"Value": 570} and v1["Total"] == 1
    fallback = api("GET", "/api/system/groups/search", params={"groupid": "ACME"},
                   headers={**BASIC, "Accept": "application/json;version=2;"}).json()
    assert "LocationGroups" in fallback  # the silent v1 fallback of the real API
    # A v2-only route asked for v1 does not exist.
    r = api("POST", "/api/mdm/profiles/platforms/appleosx/create", json=profile_body(), headers=V1)
    assert r.status_code == 404 and "version=2" in r.json()["message"]


def test_auth_failures_and_lockout(api, sandbox):
    assert api("GET", "/api/mdm/smartgroups/search", headers={}).json()["errorCode"] == 1005
    r = api("GET", "/api/mdm/smartgroups/search", headers={**BASIC, "aw-tenant-code": "nope"})
    assert r.status_code == 401 and r.json()["errorCode"] == 1005 and r.json()["activityId"]
    assert api("GET", "/api/mdm/smartgroups/search", headers={"Authorization": "Basic !!"}).status_code == 401
    for _ in range(5):
        api("GET", "/api/mdm/smartgroups/search", headers={**BASIC, "aw-tenant-code": "nope"})
    locked = api("GET", "/api/mdm/smartgroups/search", headers=V1)  # right credentials, locked account
    assert locked.status_code == 401 and "locked" in locked.json()["message"]
    admin(sandbox, "/_sandbox/ws1/settings", {"unlock": True})
    assert api("GET", "/api/mdm/smartgroups/search", headers=V1).status_code == 200


def test_oauth_token_endpoint(api, sandbox):
    form = {"grant_type": "client_credentials", "client_id": WS1_OAUTH_CLIENT_ID, "client_secret": WS1_OAUTH_SECRET}
    token = api("POST", "/connect/token", data=form, headers={}).json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 3600
    bearer = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json;version=1"}
    assert api("GET", "/api/mdm/smartgroups/search", headers=bearer).status_code == 200
    assert api("POST", "/connect/token", data={**form, "client_secret": "x"}, headers={}).json()["error"] == \
        "invalid_client"
    assert api("POST", "/connect/token", data={**form, "grant_type": "password"}, headers={}).status_code == 400
    assert api("POST", "/connect/token/", data=form, headers={}).status_code == 404  # trailing slash: 404
    assert api("POST", "/connect/token", content=json.dumps(form), headers={"Content-Type": "application/json"}
               ).status_code == 400
    admin(sandbox, "/_sandbox/ws1/settings", {"token_lifetime_s": 0.01})
    short = api("POST", "/connect/token", data=form, headers={}).json()["access_token"]
    import time

    time.sleep(0.05)
    r = api("GET", "/api/mdm/smartgroups/search", headers={"Authorization": f"Bearer {short}"})
    assert r.status_code == 401 and "invalid_token" in r.headers["www-authenticate"]


def test_smart_group_search_substring_and_204(api):
    found = api("GET", "/api/mdm/smartgroups/search", params={"name": "okta psso"}).json()
    assert sorted(g["Name"] for g in found["SmartGroups"]) == [WS1_SMART_GROUP, f"{WS1_SMART_GROUP} (pilot)",
                                                               "Okta PSSO Pilot"]
    empty = api("GET", "/api/mdm/smartgroups/search", params={"name": "nothing like it"})
    assert empty.status_code == 204 and empty.content == b""


def test_device_search_paging_and_per_device_profiles(api, sandbox_factory):
    sb = sandbox_factory(devices=1200, seed=11)
    api.http = httpx.Client(base_url=sb.url, verify=ssl.create_default_context(cafile=str(sb.ca_path)))
    ids = []
    for page in range(3):
        body = api("GET", "/api/mdm/devices/search", params={"platform": "AppleOsX", "page": page, "pagesize": 500}).json()
        assert body["Total"] == 1200 and body["Page"] == page
        ids += [d["Id"]["Value"] for d in body["Devices"]]
    assert len(ids) == len(set(ids)) == 1200
    assert len(api("GET", "/api/mdm/devices/search", params={"pagesize": 9999}).json()["Devices"]) == 500  # capped
    fleet = Fleet(11, 1200)
    assert [d.serial for d in fleet.devices[:3]] == [d["SerialNumber"] for d in api(
        "GET", "/api/mdm/devices/search", params={"pagesize": 3}).json()["Devices"]]
    member = fleet.members()[0]
    assert api("GET", f"/api/mdm/devices/{member.id}/profiles").status_code == 204
    pid = api("POST", "/api/mdm/profiles/platforms/appleosx/create", json=profile_body(), headers=V2).json()
    assert isinstance(pid, int)
    status = api("GET", f"/api/mdm/devices/{member.id}/profiles").json()["DeviceProfiles"][0]
    assert status["Status"] in ("PendingInstall", "ConfirmedInstall") and status["Id"]["Value"] == pid
    admin(sb, "/_sandbox/ws1/clock", {"advance_s": 10_000})
    later = api("GET", f"/api/mdm/devices/{member.id}/profiles").json()["DeviceProfiles"][0]["Status"]
    assert later == ("PendingInstall" if fleet.delay(member, "profile") is None else "ConfirmedInstall")
    assert api("GET", "/api/mdm/devices/5/profiles").json()["errorCode"] == 5002


def test_fleet_is_deterministic_by_seed():
    a, b, c = Fleet(5, 200), Fleet(5, 200), Fleet(6, 200)
    assert a.devices == b.devices and a.devices != c.devices
    assert [a.delay(d, "app") for d in a.devices] == [b.delay(d, "app") for d in b.devices]
    with pytest.raises(ValueError):
        Fleet(1, 50_001)


def test_blob_rules(api, sandbox):
    ok = upload(api, "OktaVerify.pkg", b"xar!" + b"\0" * 1000, module="Application")
    assert ok.status_code == 200 and ok.json()["Value"] > 0
    assert upload(api, "OktaVerify", b"data").json()["message"] == "Invalid blob type provided."
    assert upload(api, "a.pkg", b"data", module="Bogus").json()["message"] == "Invalid Module type."
    assert upload(api, "a.pkg", b"").json()["errorCode"] == 7019
    assert upload(api, "a.pkg", b"x", og=1).status_code == 400
    r = api("POST", "/api/mam/blobs/uploadblob", params={"organizationGroupId": 570}, content=b"x", check=False)
    assert r.json()["errorCode"] == 6
    admin(sandbox, "/_sandbox/ws1/settings", {"max_blob_bytes": 1000})
    big = upload(api, "big.pkg", b"x" * 5000, module="Application")
    assert big.status_code == 422 and big.json()["errorCode"] == 7603
    blobs = sandbox.state()["ws1"]["blobs"]
    assert len(blobs) == 1 and not list((sandbox.data_dir / "ws1-blobs").glob("*.part"))


def test_macos_app_rules(api, sandbox):
    pkg = upload(api, "OktaVerify.pkg", b"pkg-bytes", module="Application").json()["Value"]
    general_pkg = upload(api, "Other.pkg", b"pkg-bytes").json()["Value"]  # moduleType left at General
    info = {"name": "Okta Verify", "version": "9.52.0", "receipts": [{"packageid": "com.okta.mobile", "version": "9.52.0"}]}
    plist = upload(api, "OktaVerify.plist", plistlib.dumps(info)).json()["Value"]
    not_plist = upload(api, "Broken.plist", b"name=Okta Verify").json()["Value"]

    def create(body, og=570):
        return api("POST", f"/api/mam/groups/{og}/macos/apps", json=body)

    assert create({"applicationBlobId": pkg, "pkgInfoBlobId": not_plist}).json()["errorCode"] == 7454
    assert create({"applicationBlobId": pkg, "pkgInfoBlobId": pkg}).json()["errorCode"] == 7454
    assert create({"applicationBlobId": general_pkg, "pkgInfoBlobId": plist}).json()["errorCode"] == 7453
    assert create({"applicationBlobId": pkg, "pkgInfoBlobId": plist}, og=999).json()["errorCode"] == 7451
    assert create({"applicationBlobId": pkg, "pkgInfoBlobId": plist, "version": "nine"}).json()["errorCode"] == 7455
    made = create({"applicationBlobId": pkg, "pkgInfoBlobId": plist, "version": "9.52.0"})
    assert made.status_code == 201 and made.content == b""
    app_id = int(made.headers["location"].rsplit("/", 1)[1])
    app = api("GET", f"/api/mam/apps/internal/{app_id}").json()
    assert (app["ApplicationName"], app["ActualFileVersion"], app["AirwatchAppVersion"]) == \
        ("Okta Verify", "9.52.0", "9.52.0.0")
    assert api("GET", "/api/mam/apps/internal/424242").json()["errorCode"] == 7000
    found = api("GET", "/api/mam/apps/search", params={"applicationname": "okta", "locationgroupid": 570}).json()
    assert found["Application"][0]["Uuid"] == app["uuid"] and found["Total"] == 1
    assert api("GET", "/api/mam/apps/search", params={"applicationname": "zzz"}).json()["Application"] == []
    bad = api("POST", "/api/mam/groups/570/macos/apps", content=b"{not json", headers={**V1, "Content-Type": "application/json"})
    assert bad.status_code == 400 and "Malformed JSON" in bad.json()["message"]
    wrong_type = api("POST", "/api/mam/groups/570/macos/apps", content=b"x=1",
                     headers={**V1, "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    too_big = api("POST", "/api/mam/groups/570/macos/apps", content=b"[" + b"1," * 600_000 + b"1]",
                  headers={**V1, "Content-Type": "application/json"})
    assert too_big.status_code == 413
    assert api("GET", "/api/system/groups/search", params={"groupid": "ACME"}).status_code == 200  # still serving


def test_assignment_rules_full_replace(api, sandbox):
    pkg = upload(api, "OktaVerify.pkg", b"pkg", module="Application").json()["Value"]
    plist = upload(api, "OktaVerify.plist", plistlib.dumps({"name": "Okta Verify", "version": "9.52.0"})).json()["Value"]
    loc = api("POST", "/api/mam/groups/570/macos/apps", json={"applicationBlobId": pkg, "pkgInfoBlobId": plist})
    uuid = api("GET", f"/api/mam/apps/internal/{loc.headers['location'].rsplit('/', 1)[1]}").json()["uuid"]
    sg = api("GET", "/api/mdm/smartgroups/search", params={"name": WS1_SMART_GROUP}).json()["SmartGroups"][0]["SmartGroupUuid"]
    path = f"/api/mam/apps/{uuid}/assignment-rules"

    def put(body):
        return api("PUT", path, json=body, headers=V2)

    rule = {"priority": 0, "distribution": {"name": "r", "smart_groups": [sg]}}
    assert put({"assignments": [{**rule, "priority": 1}]}).json()["errorCode"] == 6
    assert put({"assignments": [{"distribution": rule["distribution"]}]}).json()["errorCode"] == 1012
    assert put({"assignments": [], "excluded_smart_groups": [sg]}).json()["errorCode"] == 1012
    assert put({"assignments": [rule], "excluded_smart_groups": [sg]}).json()["errorCode"] == 6
    assert put({"assignments": [{**rule, "distribution": {"name": "r", "smart_groups": ["0" * 8]}}]}).status_code == 400
    assert put({"assignments": [rule]}).status_code == 202
    got = api("GET", path, headers=V2).json()["assignments"][0]
    assert got["distribution"]["app_delivery_method"] == "ON_DEMAND"  # omitted fields are reset
    assert api("GET", "/api/mam/apps/00000000-0000-0000-0000-000000000000/assignment-rules", headers=V2
               ).json()["errorCode"] == 7000


def test_profile_rules_and_update_noop_switch(api, sandbox):
    create = "/api/mdm/profiles/platforms/appleosx/create"
    reject = [
        profile_body(ProfileContext=None),
        profile_body(ManagedLocationGroupID=1),
        profile_body(AssignedSmartGroups=[{"SmartGroupId": 1}]),
        {**profile_body(), "CustomSettingsList": [{"CustomSettings": '<?xml version="1.0"?><plist>' + BARE + "</plist>"}]},
        {**profile_body(), "CustomSettingsList": [{"CustomSettings": "<array/>"}]},
        {**profile_body(), "CustomSettingsList": [{"CustomSettings": "<dict><key>A</key></dict>"}]},
        {**profile_body(), "CustomSettingsList": []},
    ]
    for body in reject:
        r = api("POST", create, json=body, headers=V2)
        assert r.status_code == 400 and r.json()["errorCode"], body
    pid = api("POST", create, json=profile_body(), headers=V2).json()
    assert api("GET", "/api/mdm/profiles/search", params={"searchtext": "nothing"}, headers=V2).status_code == 204
    listed = api("GET", "/api/mdm/profiles/search", params={"searchtext": "P"}, headers=V2).json()["ProfileList"]
    assert listed[0]["ProfileId"] == pid
    v1 = api("GET", "/api/mdm/profiles/search", params={"profilename": "P"}, headers=V1).json()
    assert v1["Profiles"][0]["Id"]["Value"] == pid
    update = "/api/mdm/profiles/platforms/appleosx/update"
    assert api("POST", update, json=profile_body(), headers=V2).json()["message"].endswith("{ProfileId}")
    assert api("POST", update, json=profile_body(ProfileId=99999), headers=V2).status_code == 404
    assert api("POST", update, json=profile_body(ProfileId=pid, Name="Q", CreateNewVersion=True), headers=V2).status_code == 200
    saved = api("GET", f"/api/mdm/profiles/{pid}", headers=V2).json()["General"]
    assert (saved["Name"], saved["Version"]) == ("Q", 2)
    admin(sandbox, "/_sandbox/ws1/settings", {"profile_update_noop": True})
    assert api("POST", update, json=profile_body(ProfileId=pid, Name="R"), headers=V2).status_code == 200
    assert api("GET", f"/api/mdm/profiles/{pid}", headers=V2).json()["General"]["Name"] == "Q"  # not saved
    state = sandbox.state()["ws1"]
    assert set(state) >= {"blobs", "apps", "assignment_rules", "profiles"}
    assert all(isinstance(state[k], list) for k in ("blobs", "apps", "assignment_rules", "profiles"))


def test_smart_group_create_refuses_what_the_spec_lists_and_members_follow_the_criteria(api, sandbox):
    def create(**body):
        base = {"Name": "Wave 3", "CriteriaType": "All", "ManagedByOrganizationGroupId": "570",
                "Platforms": ["AppleOsX"],
                "OperatingSystems": [{"DeviceType": "AppleOsX", "Operator": "GreaterThan", "Value": "14.99"}],
                "CPUArchitectures": ["Arm64"]}
        return api("POST", "/api/mdm/smartgroups", json={**base, **body})

    assert create(Name="").status_code == 400
    assert "same name already exists" in create(Name=WS1_SMART_GROUP).json()["message"]
    assert "Criteia Type is incorrect" in create(CriteriaType="Devices").json()["message"]
    assert create(ManagedByOrganizationGroupId="9").status_code == 400
    # Only the operator spelling Omnissa's own terraform provider uses is taken; an unconfirmed one is refused.
    unconfirmed = [{"DeviceType": "AppleOsX", "Operator": "GreaterThanOrEqualTo", "Value": "15.0"}]
    assert "is not valid" in create(Name="Wave 3b", OperatingSystems=unconfirmed).json()["message"]
    assert "need CriteriaType UserDevice" in create(Name="Wave 3c", DeviceAdditions=[{"Id": "10001"}]).json()["message"]
    made = create()
    assert made.status_code == 200
    sg_id = made.json()["Value"]
    group = api("GET", f"/api/mdm/smartgroups/{sg_id}").json()
    fleet = sandbox.world.emulators["ws1"].fleet
    floor_ok = [d for d in fleet.devices if int(d.os_version.split(".")[0]) >= 15 and d.arch == "arm64"]
    assert group["Name"] == "Wave 3" and group["Devices"] == len(floor_ok) > 0
    assert group["CpuArchitectures"] == ["Arm64"] and group["OperatingSystems"][0]["Operator"] == "GreaterThan"
    # Explicit devices: exactly those members, echoed as DeviceAdditions.
    some = [d.id for d in fleet.devices[:3]]
    explicit = api("POST", "/api/mdm/smartgroups", json={"Name": "Wave 4", "CriteriaType": "UserDevice",
                                                         "ManagedByOrganizationGroupId": "570",
                                                         "DeviceAdditions": [{"Id": str(i)} for i in some]})
    listed = api("GET", f"/api/mdm/smartgroups/{explicit.json()['Value']}/devices").json()["Devices"]
    assert sorted(int(d["Id"]) for d in listed) == sorted(some)
    bad = api("POST", "/api/mdm/smartgroups", json={"Name": "Wave 5", "CriteriaType": "UserDevice",
                                                    "ManagedByOrganizationGroupId": "570",
                                                    "DeviceAdditions": [{"Id": "99"}]})
    assert bad.status_code == 400 and "Device '99' not found" in bad.json()["message"]
    assert api("DELETE", f"/api/mdm/smartgroups/{sg_id}").status_code == 200
    assert api("GET", f"/api/mdm/smartgroups/{sg_id}").status_code == 404
