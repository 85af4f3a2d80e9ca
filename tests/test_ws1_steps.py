"""The WS1 steps against the sandbox over HTTPS, with a real bsdtar-made Okta Verify package; every request the
steps send (and every answer) is checked against Omnissa's Swagger files when present."""

from __future__ import annotations

import pytest
from pkgs import BSDTAR, Comp, product_pkg
from ws1_contract import Ws1Contract, admin, record, sandbox_requests, sandbox_secrets

from conftest import vendor_path
from odatui.core.config import parse_config
from odatui.core.errors import NeedsAction, StepError
from odatui.sandbox.server import WS1_SMART_GROUP
from odatui.steps.base import ChangeKind, Context, Progress
from odatui.steps.package import STEPS as PACKAGE_STEPS
from odatui.mdm.ws1.steps import STEPS
from odatui.mdm.ws1.steps.assign import merged_rules
from odatui.mdm.ws1.api.client import Ws1Client

CLIENT_ID = "0oa1b2c3d4e5f6g7h8i9"
OKTA_APP = {"client_id": CLIENT_ID, "org_host": "acme.okta.com"}
BY_ID = {s.id: s for s in [*PACKAGE_STEPS, *STEPS]}
ORDER = ["preflight.package", "preflight.ws1", "ws1.upload", "ws1.assign", "ws1.profile"]


def test_step_table_matches_design():
    assert [s.id for s in STEPS] == ["preflight.ws1", "ws1.upload", "ws1.assign", "ws1.certificate", "ws1.profile"]
    assert BY_ID["preflight.ws1"].needs == ()
    assert set(BY_ID["ws1.upload"].needs) == {"preflight.ws1", "preflight.package"}
    assert BY_ID["ws1.assign"].needs == ("ws1.upload",)
    # Okta Verify first, and the Device Access certificate profile before the SSO profile (Okta's order)
    assert set(BY_ID["ws1.profile"].needs) == {"okta.app", "preflight.ws1", "ws1.assign", "ws1.certificate"}
    assert BY_ID["ws1.certificate"].needs == ("preflight.ws1",)


@pytest.fixture
def contract():
    return Ws1Contract(vendor_path("ws1", "2604"))


@pytest.fixture
def package(tmp_path):
    if BSDTAR:  # a real flat package made by libarchive's bsdtar
        return product_pkg(tmp_path / "OktaVerify-9.52.0.pkg", Comp(version="9.52.0"), minimum_os="13.0",
                           payload=b"\x1f\x8b" + bytes(range(256)) * 8192)  # ~2 MB so the upload has chunks
    from odatui.sandbox.samplepkg import make_sample_pkg

    return make_sample_pkg(tmp_path / "OktaVerify-9.52.0.pkg", payload_size=2 << 20)


class Run:
    """One `odatui apply` worth of the WS1 branch: inspect each step, apply when needed, feed outputs on."""

    def __init__(self, sb, package, contract, **rollout):
        data = sb.config_dict()
        data["rollout"].update(package=str(package), **rollout)
        self.config = parse_config(data, source="test")
        self.sb, self.contract = sb, contract
        self.exchanges: list = []
        self.events: list[tuple] = []

        def factory(kind, ctx):
            client = Ws1Client.from_config(ctx.config.ws1, ctx.secrets)
            self.exchanges = record(client.http)  # one client per context
            return client

        self.ctx = Context(self.config, sandbox_secrets(), {"okta.app": OKTA_APP}, client_factory=factory)

    async def inspect(self, step_id):
        return await BY_ID[step_id].inspect(self.ctx)

    async def step(self, step_id):
        change = await self.inspect(step_id)
        if change.kind == ChangeKind.NONE:
            self.ctx.outputs[step_id] = dict(change.outputs)
        else:
            progress = Progress(lambda fraction, message, **extra: self.events.append((step_id, fraction, message, extra)))
            self.ctx.outputs[step_id] = await BY_ID[step_id].apply(self.ctx, progress)
        return change

    async def all(self, ids=ORDER):
        return {i: await self.step(i) for i in ids}

    async def close(self):
        used = "ws1" in self.ctx._clients
        await self.ctx.aclose()
        assert self.exchanges or not used, "the contract recorder saw nothing"
        problems = self.contract.problems(self.exchanges)
        assert problems == [], "outside the WS1 Swagger contract:\n" + "\n".join(problems)


@pytest.fixture
async def runs(sandbox, package, contract):
    made = []

    def make(sb=None, **rollout):
        run = Run(sb or sandbox, package, contract, **rollout)
        made.append(run)
        return run

    yield make
    for run in made:
        await run.close()


def writes(sb, after: int = 0):
    return [r for r in sandbox_requests(sb, "/api/.*") if r["method"] in ("POST", "PUT", "DELETE") and r["n"] > after]


async def test_full_run_then_idempotent_rerun(sandbox, runs):
    first = await runs().all()
    assert [first[i].kind for i in ORDER[2:]] == [ChangeKind.CREATE, ChangeKind.CREATE, ChangeKind.CREATE]
    state = sandbox.state()["ws1"]
    assert len(state["apps"]) == 1 and len(state["blobs"]) == 2 and len(state["profiles"]) == 1
    app = state["apps"][0]
    assert (app["name"], app["version"], app["bundle_id"]) == ("Okta Verify", "9.52.0", "com.okta.mobile")
    rules = state["assignment_rules"][0]
    assert rules["assignments"][0]["distribution"]["app_delivery_method"] == "AUTO"
    profile = state["profiles"][0]["body"]
    assert profile["General"]["ProfileContext"] == "Device" and profile["General"]["AssignmentType"] == "Auto"
    assert not profile.get("AssociatedDomains")  # no native payload: its expansion of two flat lists is undocumented
    assert any(CLIENT_ID in e["CustomSettings"] for e in profile["CustomSettingsList"])
    # One payload path: every Custom Settings entry is byte for byte the *.ws1.xml fragment the export writes.
    from odatui.service.profiles import build_files
    from odatui.macos.payloads import PssoSettings, ScepSettings
    from odatui.sandbox.server import OKTA_SCEP_CHALLENGE

    config = runs().config
    settings = PssoSettings(org_host="acme.okta.com", client_id=CLIENT_ID, macos_min=14,
                            scep=ScepSettings(config.okta.scep_url, OKTA_SCEP_CHALLENGE))
    fragments = {n: b.decode() for n, b in build_files(settings).items() if n.endswith(".ws1.xml")}
    assert sorted(e["CustomSettings"] for e in profile["CustomSettingsList"]) == sorted(fragments.values())
    kinds = [n.removeprefix("okta-dps-macos14-").removesuffix(".ws1.xml") for n in fragments]
    assert sorted(kinds) == sorted(["device-access-scep", "associated-domains", "sso-extension",
                                    "prefs-com.okta.mobile", "prefs-com.okta.mobile.auth-service-extension"])

    before = sandbox.world.requests_total
    second = await runs().all()
    assert all(c.kind == ChangeKind.NONE for c in second.values()), {k: c.summary for k, c in second.items()}
    assert writes(sandbox, after=before) == []  # the re-run sends no write request at all
    again = sandbox.state()["ws1"]
    assert (len(again["apps"]), len(again["blobs"]), len(again["profiles"])) == (1, 2, 1)


async def test_upload_reports_bytes_and_rate(sandbox, runs, package):
    run = runs()
    await run.all(ORDER[:3])
    uploads = [e for e in run.events if e[0] == "ws1.upload" and "bytes_sent" in e[3]]
    assert uploads and uploads[-1][3]["bytes_sent"] == uploads[-1][3]["bytes_total"] == package.stat().st_size
    assert uploads[-1][1] == 1.0 and all(e[3]["rate"] > 0 for e in uploads) and "MB/s" in uploads[-1][2]
    assert set(run.ctx.outputs["ws1.upload"]) >= {"app_id", "app_uuid", "version"}


async def test_inspect_writes_nothing(sandbox, runs):
    run = runs()
    await run.step("preflight.package")
    await run.step("preflight.ws1")
    assert (await run.inspect("ws1.upload")).kind == ChangeKind.CREATE
    assert (await run.inspect("ws1.profile")).kind == ChangeKind.CREATE
    assert writes(sandbox) == []


async def test_preflight_outputs_and_exact_smart_group(sandbox, runs):
    run = runs()
    await run.step("preflight.ws1")
    out = run.ctx.outputs["preflight.ws1"]
    assert out["og_id"] == 570 and len(out["og_uuid"]) == 36
    assert out["smart_group_name"] == WS1_SMART_GROUP  # not "(pilot)", which also contains the name
    assert {"smart_group_id", "smart_group_uuid"} <= set(out)


async def test_preflight_missing_and_ambiguous_names(sandbox, runs):
    run = runs()
    run.ctx.config.ws1.smart_group = "Okta PSSO"
    with pytest.raises(NeedsAction) as err:
        await run.step("preflight.ws1")
    assert "'Okta PSSO Macs'" in err.value.message and "Add Smart Group" in err.value.hint

    admin(sandbox, "/_sandbox/ws1/smartgroups", {"name": WS1_SMART_GROUP})
    run.ctx.config.ws1.smart_group = WS1_SMART_GROUP
    with pytest.raises(StepError) as err:
        await run.step("preflight.ws1")
    assert "2 smart groups are named" in err.value.message and "id 4711" in err.value.message

    run.ctx.config.ws1.group_id = "NOPE"
    with pytest.raises(StepError) as err:
        await run.step("preflight.ws1")
    assert "Group ID 'NOPE'" in err.value.message


async def test_assignment_keeps_another_groups_rule(sandbox, runs):
    run = runs()
    await run.all(ORDER[:3])
    client = run.ctx.ws1()
    app_uuid = run.ctx.outputs["ws1.upload"]["app_uuid"]
    all_macs = [g for g in await client.search_smart_groups("All Macs")][0]
    theirs = {"priority": 0, "distribution": {"name": "Self-service for everyone", "smart_groups": [all_macs.uuid],
                                              "app_delivery_method": "ON_DEMAND", "display_in_app_catalog": True},
              "restriction": {"remove_on_unenroll": True, "desired_state_management": False}}
    await client.put_assignment_rules(app_uuid, {"assignments": [theirs], "excluded_smart_groups": []})

    change = await run.step("ws1.assign")
    assert change.kind == ChangeKind.UPDATE and any("1 existing" in d for d in change.details)
    rules = (await client.get_assignment_rules(app_uuid))["assignments"]
    assert [r["priority"] for r in rules] == [0, 1]
    ours, kept = rules
    assert ours["distribution"]["smart_groups"] == [run.ctx.outputs["preflight.ws1"]["smart_group_uuid"]]
    assert ours["distribution"]["app_delivery_method"] == "AUTO"
    assert kept["distribution"]["name"] == "Self-service for everyone"
    assert kept["distribution"]["app_delivery_method"] == "ON_DEMAND" and kept["restriction"]["remove_on_unenroll"]
    before = sandbox.world.requests_total
    assert (await run.inspect("ws1.assign")).kind == ChangeKind.NONE
    assert writes(sandbox, after=before) == []


def test_merged_rules_moves_our_group_out_of_shared_rules():
    current = {"assignments": [{"priority": 0, "distribution": {"name": "x", "smart_groups": ["A", "OURS"],
                                                                "app_delivery_method": "ON_DEMAND"}}],
               "excluded_smart_groups": ["OURS", "B"]}
    out = merged_rules(current, "ours", "Ours")
    assert [r["distribution"]["smart_groups"] for r in out["assignments"]] == [["ours"], ["A"]]
    assert out["excluded_smart_groups"] == ["B"] and [r["priority"] for r in out["assignments"]] == [0, 1]


async def test_profile_update_is_verified_by_reading_back(sandbox, runs):
    await runs().all(["preflight.ws1", "ws1.profile"])
    run = runs(user_principal_name="{EmailAddress}")
    await run.step("preflight.ws1")
    change = await run.inspect("ws1.profile")
    assert change.kind == ChangeKind.UPDATE and any("differs" in d for d in change.details)
    await run.step("ws1.profile")
    profile = sandbox.state()["ws1"]["profiles"][0]
    assert profile["version"] == 2 and any("{EmailAddress}" in e["CustomSettings"]
                                           for e in profile["body"]["CustomSettingsList"])
    assert len(sandbox.state()["ws1"]["profiles"]) == 1
    assert (await run.inspect("ws1.profile")).kind == ChangeKind.NONE


async def test_profile_update_that_is_not_saved_is_caught(sandbox, runs):
    await runs().all(["preflight.ws1", "ws1.profile"])
    admin(sandbox, "/_sandbox/ws1/settings", {"profile_update_noop": True})
    run = runs(profile_name="Okta Platform SSO", macos_min=13)
    await run.step("preflight.ws1")
    with pytest.raises(StepError) as err:
        await run.step("ws1.profile")
    assert "does not hold the new settings" in err.value.message and "delete the profile" in err.value.hint


async def test_a_profile_with_the_native_associated_domains_payload_is_moved_to_custom_settings(sandbox, runs):
    await runs().all()
    stored = next(iter(sandbox.world.emulators["ws1"].profiles.values()))["body"]
    # What odatui sent before: the native Associated Domains payload and no Custom Settings copy of it.
    stored["AssociatedDomains"] = {"ApplicationIdentifier": ["B7F62B65BN.com.okta.mobile"],
                                   "AssociatedDomains": ["authsrv:acme.okta.com"]}
    stored["CustomSettingsList"] = [e for e in stored["CustomSettingsList"]
                                    if "com.apple.associated-domains" not in e["CustomSettings"]]
    second = await runs().all()
    change = second["ws1.profile"]
    assert change.kind is ChangeKind.UPDATE
    assert any("native Associated Domains" in d for d in change.details)
    assert any("com.apple.associated-domains" in d and "missing" in d for d in change.details)
    body = sandbox.state()["ws1"]["profiles"][0]["body"]
    assert not body.get("AssociatedDomains")
    assert any("com.apple.associated-domains" in e["CustomSettings"] for e in body["CustomSettingsList"])

async def test_lifecycle_calls_follow_the_swagger_contract(sandbox, runs):
    """Smart-group creation, a second wave, retire and delete of the app, profile and smart group: every request
    and answer checked against Omnissa's 2604 Swagger (at close), and the sandbox's refusals as the spec lists."""
    from odatui.mdm.ws1.api.client import Ws1ApiError

    run = runs()
    run.ctx.config.ws1.smart_groups = [WS1_SMART_GROUP, "Okta PSSO Wave 3"]
    run.ctx.config.ws1.create_smart_groups = True
    change = await run.inspect("preflight.ws1")
    assert change.kind == ChangeKind.CREATE and change.creates == ({"kind": "ws1.smart_group", "name": "Okta PSSO Wave 3"},)
    await run.all()
    pre = run.ctx.outputs["preflight.ws1"]
    assert [g["name"] for g in pre["smart_groups"]] == [WS1_SMART_GROUP, "Okta PSSO Wave 3"]
    assert [e["name"] for e in pre["_created"]] == ["Okta PSSO Wave 3"]
    client = run.ctx.ws1()
    wave3 = await client.get_smart_group(pre["smart_groups"][1]["id"])
    assert wave3 is not None and wave3.name == "Okta PSSO Wave 3"

    with pytest.raises(Ws1ApiError) as err:  # still assigned: WS1 refuses, as the spec documents
        await client.delete_smart_group(wave3.id)
    assert err.value.status == 400 and "dependency" in err.value.message
    app_id = run.ctx.outputs["ws1.upload"]["app_id"]
    await client.retire_internal_app(app_id)
    await client.retire_internal_app(app_id)  # 403 "already retired" is success
    assert [a.status for a in await client.search_apps(570, "Okta Verify")] == ["Retired"]
    assert await client.active_apps(570, "Okta Verify") == []
    assert await client.delete_profile(run.ctx.outputs["ws1.profile"]["profile_id"]) is True
    assert await client.delete_profile(run.ctx.outputs["ws1.profile"]["profile_id"]) is False  # 400 not found
    assert await client.delete_internal_app(app_id) is True
    assert await client.delete_internal_app(app_id) is False
    assert await client.app_exists(app_id) is False
    assert await client.delete_smart_group(wave3.id) is True  # nothing uses it any more
    assert await client.get_smart_group(wave3.id) is None
    assert await client.delete_smart_group(wave3.id) is False


async def test_the_profile_is_built_once_per_attempt_and_compared_as_data(sandbox, runs, monkeypatch):
    """inspect builds the profile and hands it to apply_change (as the engine calls them); only WS1's copies are
    parsed — before and at the read-back — never the XML odatui itself just serialised."""
    from odatui.macos import mobileconfig
    from odatui.mdm.ws1.steps import profile as ws1_steps

    await runs().all(["preflight.ws1", "ws1.profile"])
    run = runs(user_principal_name="{EmailAddress}")
    await run.step("preflight.ws1")
    entries = len(sandbox.state()["ws1"]["profiles"][0]["body"]["CustomSettingsList"])
    built, parsed = [], []
    real_build, real_parse = ws1_steps.all_payloads, mobileconfig.parse_ws1_custom_settings
    monkeypatch.setattr(ws1_steps, "all_payloads", lambda settings: built.append(settings) or real_build(settings))
    monkeypatch.setattr(mobileconfig, "parse_ws1_custom_settings", lambda text: parsed.append(text) or real_parse(text))
    step = BY_ID["ws1.profile"]
    change = await step.inspect(run.ctx)
    assert change.kind == ChangeKind.UPDATE
    await step.apply_change(run.ctx, Progress(lambda *a, **k: None), change)
    assert len(built) == 1
    # WS1's copy at inspect, the same copy re-checked before the update, and the copy read back after it
    assert len(parsed) == 3 * entries
    assert any("{EmailAddress}" in e["CustomSettings"] for e in sandbox.state()["ws1"]["profiles"][0]["body"]["CustomSettingsList"])
