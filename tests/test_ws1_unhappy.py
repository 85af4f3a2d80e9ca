"""Workspace ONE's documented unhappy paths, served by the sandbox and met by odatui with a sentence for the admin:
retired and inactive apps in search, the documented assignment errors (application publish failed, insufficient
permissions) through the sandbox's targeted-fault route with the bodies the UEM 2604 swagger gives, and an
organization-group hierarchy where a smart group managed below the app's OG is not applicable."""

from __future__ import annotations

import pytest
from test_ws1_steps import BY_ID, OKTA_APP, ORDER, package  # noqa: F401 - package is a fixture
from ws1_contract import Ws1Contract, admin, record, sandbox_secrets

from conftest import vendor_path

from odatui.core.config import parse_config
from odatui.core.errors import NeedsAction
from odatui.core.http import RetryPolicy
from odatui.sandbox.credentials import WS1_SMART_GROUP
from odatui.steps.base import ChangeKind, Context, Progress
from odatui.mdm.ws1.api.client import Ws1Client
from odatui.mdm.ws1.api.errors import Ws1ApiError

FAST = RetryPolicy(attempts=2, base=0.01, cap=0.02)


class Run:
    def __init__(self, sb, package, **ws1):
        data = sb.config_dict()
        data["rollout"]["package"] = str(package)
        data["ws1"].update(ws1)
        self.config = parse_config(data, source="test")
        self.exchanges: list = []

        def factory(kind, ctx):
            client = Ws1Client.from_config(ctx.config.ws1, ctx.secrets, policy=FAST)
            self.exchanges = record(client.http)
            return client

        self.ctx = Context(self.config, sandbox_secrets(), {"okta.app": OKTA_APP}, client_factory=factory)

    async def step(self, step_id):
        change = await BY_ID[step_id].inspect(self.ctx)
        if change.kind == ChangeKind.NONE:
            self.ctx.outputs[step_id] = dict(change.outputs)
        else:
            self.ctx.outputs[step_id] = await BY_ID[step_id].apply(self.ctx, Progress())
        return change

    async def close(self):
        await self.ctx.aclose()
        # Every request and response of the run, against the UEM 2604 swagger.
        problems = Ws1Contract(vendor_path("ws1", "2604")).problems(self.exchanges)
        assert problems == [], "outside the WS1 Swagger contract:\n" + "\n".join(problems)


@pytest.fixture
async def run(sandbox, package):  # noqa: F811
    made = []

    def make(sb=None, **ws1):
        r = Run(sb or sandbox, package, **ws1)
        made.append(r)
        return r

    yield make
    for r in made:
        await r.close()


def _app_id(sb) -> int:
    return sb.state()["ws1"]["apps"][0]["id"]


async def test_retired_app_is_listed_as_retired_and_not_reused(sandbox, run):
    first = run()
    for step in ORDER[:3]:
        await first.step(step)
    admin(sandbox, "/_sandbox/ws1/app-status", {"id": _app_id(sandbox), "status": "Retired"})
    client = first.ctx.ws1()
    found = await client.apps.search_apps(first.ctx.output("preflight.ws1", "og_id"), "Okta Verify")
    assert [a.status for a in found] == ["Retired"]
    again = run()
    for step in ORDER[:2]:
        await again.step(step)
    change = await BY_ID["ws1.upload"].inspect(again.ctx)
    # Never assigned as it is; and WS1 takes no second upload of a version, retired ones included (UEM Internal
    # Application Versions), so the plan says it will unretire that app, in the open.
    assert change.kind is ChangeKind.UPDATE and "unretire app" in change.summary


async def test_inactive_app_needs_the_admin_to_activate_it(sandbox, run):
    first = run()
    for step in ORDER[:3]:
        await first.step(step)
    admin(sandbox, "/_sandbox/ws1/app-status", {"id": _app_id(sandbox), "status": "Inactive"})
    again = run()
    for step in ORDER[:2]:
        await again.step(step)
    with pytest.raises(NeedsAction) as info:
        await BY_ID["ws1.upload"].inspect(again.ctx)
    assert "but Inactive, so no Mac would get it" in str(info.value) and "Activate" in info.value.hint


async def test_search_refuses_an_unknown_status(sandbox, run):
    r = run()
    await r.step("preflight.package")
    await r.step("preflight.ws1")
    with pytest.raises(Ws1ApiError) as info:
        await r.ctx.ws1().request("GET", "/api/mam/apps/search", version=1, what="app search",
                                  params={"status": "Deleted", "platform": "AppleOsX"})
    assert info.value.status == 400 and "7004" in str(info.value.error_code)


@pytest.mark.parametrize("status,body,words", [
    # UEM 2604 MAM v2 swagger, PUT /apps/{applicationUuid}/assignment-rules: 500 {200011: Application publish failed,
    # Please republish the Application}; 403 {1011: User doesn't have sufficient permissions to perform this operation.}
    (500, {"errorCode": 200011, "message": "Application publish failed, Please republish the Application",
           "activityId": "7d6f1c4e-8d1a-4b3e-9f51-2c1f0b9f3a10"}, ("Save & Publish", "odatui retry")),
    (403, {"errorCode": 1011, "message": "User doesn't have sufficient permissions to perform this operation.",
           "activityId": "0b8e4f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"}, ("role", "organization group")),
])
async def test_documented_assignment_errors_become_sentences(sandbox, run, status, body, words):
    r = run()
    for step in ORDER[:3]:
        await r.step(step)
    # The targeted-fault control route: every PUT of the assignment rules gets the vendor's documented answer.
    admin(sandbox, "/_sandbox/faults", {"method": "PUT", "path": "/api/mam/apps/[^/]+/assignment-rules",
                                        "status": status, "body": body, "times": None})
    with pytest.raises(Ws1ApiError) as info:
        await r.step("ws1.assign")
    assert body["message"] in str(info.value) and info.value.error_code == body["errorCode"]
    assert all(w in info.value.hint for w in words), info.value.hint
    assert not info.value.retryable
    injected = admin(sandbox, "/_sandbox/faults", [])["injected"]
    assert injected and all(i["method"] == "PUT" for i in injected)


async def test_smart_group_managed_below_the_apps_og_is_not_applicable(sandbox, run):
    # The rollout smart group exists only at ACME Europe (a child OG); the app is made at ACME Corp (its parent).
    name = "Okta PSSO Macs EU"
    admin(sandbox, "/_sandbox/ws1/smartgroups", {"name": name, "members": "rollout", "og_id": 571})
    r = run(smart_group=name)
    for step in ORDER[:3]:
        await r.step(step)
    with pytest.raises(Ws1ApiError) as info:
        await r.step("ws1.assign")
    assert info.value.status == 400 and "Smart groups provided is not applicable" in str(info.value)


async def test_smart_group_managed_at_a_parent_og_applies_below(sandbox, run):
    # The app at ACME Europe, the smart group at ACME Corp above it: applicable.
    r = run(group_id="ACME-EU", smart_group=WS1_SMART_GROUP)
    for step in ORDER:
        await r.step(step)
    rules = sandbox.state()["ws1"]["assignment_rules"]
    assert rules and rules[0]["assignments"][0]["distribution"]["app_delivery_method"] == "AUTO"


async def test_install_state_honours_minimum_macos_and_user_approved_mdm(sandbox, run, tmp_path):
    from odatui.sandbox.fleet import _version
    from odatui.sandbox.samplepkg import make_sample_pkg

    # An Okta Verify build that needs macOS 15: Macs on 13 and 14 are assigned but never install it.
    pkg = make_sample_pkg(tmp_path / "OktaVerify-9.60.0.pkg", version="9.60.0", minimum_os="15.0")
    r = Run(sandbox, pkg)
    r.ctx.config.rollout.macos_min = 15  # odatui refuses a package that needs more than the floor
    try:
        for step in ORDER:
            await r.step(step)
        admin(sandbox, "/_sandbox/ws1/clock", {"advance_s": 3600})  # long after every online Mac checked in
        client = r.ctx.ws1()
        app = await client.apps.get_internal_app(r.ctx.output("ws1.upload", "app_id"))
    finally:
        await r.close()
    fleet = sandbox.world.emulators["ws1"].fleet
    members = fleet.members()
    too_old = [d for d in members if _version(d.os_version) < (15, 0, 0)]
    assert too_old and app["DevicesAssignedCount"] == len(members)
    online_new = [d for d in members if d not in too_old and fleet.delay(d, "app") is not None]
    assert app["DevicesInstalledCount"] == len(online_new)
    # The profile: a Mac without user-approved MDM never installs it, whatever its OS.
    unapproved = [d for d in fleet.devices if not d.user_approved]
    assert unapproved and all(not fleet.installed(d, "profile", 0.0) for d in unapproved)
    approved_online = next(d for d in fleet.devices if d.user_approved and fleet.delay(d, "profile") is not None)
    assert fleet.installed(approved_online, "profile", 0.0)
