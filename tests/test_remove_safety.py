"""`odatui remove` never takes what is not its own (issue 23), against the real sandbox over HTTPS: an Okta Verify
version that carries another admin's rule stays (with that rule) and Okta Verify stays on their Macs; an adopted
version odatui retired is active again; an adopted smart group with Macs stays unless named; a downgrade needs
--allow-downgrade --yes and says what it does on the Macs."""

from __future__ import annotations

import asyncio

import pytest
from pkgs import Comp, needs_bsdtar, product_pkg
from rollout import demo_factory, odatui_cli  # noqa: F401 - demo_factory is a fixture
from test_lifecycle import MACS, active_app, add_their_rule, apply, config_for, remove, rules_of, ws1

from odatui.core.state import StateStore
from odatui.mdm.ws1.steps.common import RULE_NAME_PREFIX

FASTPASS = "FastPass all Macs (another admin)"


@pytest.fixture
def session(demo_factory, sandbox_env):
    return demo_factory()


def add_fastpass_rule(session, app_uuid):
    """Another admin delivers Okta Verify (Auto) to every Mac for FastPass, on the same app."""
    add_their_rule(session, app_uuid, name=FASTPASS, method="AUTO")


def installed(session, app_id):
    from odatui.mdm.ws1.api.client import Ws1Client

    async def go():
        client = Ws1Client.from_config(config_for(session).ws1, session.secrets)
        try:
            return int((await client.get_internal_app(int(app_id)))["DevicesInstalledCount"])
        finally:
            await client.aclose()

    return asyncio.run(go())


def advance(session, seconds=3600):
    session.sandbox.world.emulators["ws1"].fleet.advance(seconds)


@needs_bsdtar
def test_remove_after_an_upgrade_keeps_the_version_with_a_foreign_rule_and_okta_verify_on_its_macs(session, tmp_path):
    old = product_pkg(tmp_path / "OktaVerify-9.52.0.pkg", Comp(version="9.52.0"))
    new = product_pkg(tmp_path / "OktaVerify-9.60.1.pkg", Comp(version="9.60.1"))
    assert apply(session, config_for(session, old))[0].exit_code == 0
    add_fastpass_rule(session, active_app(ws1(session))["uuid"])
    assert apply(session, config_for(session, new))[0].exit_code == 0
    current = active_app(ws1(session))
    assert current["version"] == "9.60.1"
    assert (FASTPASS, ["All Macs"]) in rules_of(ws1(session), current["uuid"])  # carried onto the new version
    advance(session)
    assert installed(session, current["id"]) > 0
    retired = next(a for a in ws1(session)["apps"] if a["version"] == "9.52.0")
    assert retired["status"] == "Retired" and installed(session, retired["id"]) == 0  # retiring removes it from Macs

    code, out = remove(session)
    assert code == 0, out
    assert "KEEP" in out and FASTPASS in out and "kept" in out  # the plan and the run both say so
    state = ws1(session)
    kept = active_app(state)
    assert kept["id"] == current["id"] and kept["version"] == "9.60.1"
    assert rules_of(state, kept["uuid"]) == [(FASTPASS, ["All Macs"])]  # their rule, not ours
    assert not any(name.startswith(RULE_NAME_PREFIX) for name, _ in rules_of(state, kept["uuid"]))
    assert state["profiles"] == []  # odatui's profile went
    advance(session)
    assert installed(session, kept["id"]) > 0  # Okta Verify stays on the FastPass Macs


@needs_bsdtar
def test_remove_restores_the_adopted_version_odatui_retired(session, tmp_path):
    old = product_pkg(tmp_path / "OktaVerify-9.52.0.pkg", Comp(version="9.52.0"))
    new = product_pkg(tmp_path / "OktaVerify-9.60.1.pkg", Comp(version="9.60.1"))
    config = config_for(session, old)
    assert apply(session, config)[0].exit_code == 0
    store = StateStore(config.target_key())
    state = store.load()  # as if the admin's Okta Verify 9.52.0 had been there before odatui came
    rec = state.steps["ws1.upload"]
    rec.adopted, rec.created = rec.created, []
    store.save(state)
    first = active_app(ws1(session))
    assert apply(session, config_for(session, new))[0].exit_code == 0
    assert {a["version"]: a["status"] for a in ws1(session)["apps"]} == {"9.52.0": "Retired", "9.60.1": "Active"}

    code, out = remove(session)
    assert code == 0, out
    assert "Made active again" in out and "restored" in out
    state = ws1(session)
    assert [(a["id"], a["status"]) for a in state["apps"]] == [(first["id"], "Active")]  # an Okta Verify stays


def test_include_adopted_keeps_an_adopted_smart_group_with_macs_unless_named(session):
    config = config_for(session, ws1__smart_groups=[MACS])
    assert apply(session, config)[0].exit_code == 0
    assert any(e["name"] == MACS for e in StateStore(config.target_key()).load().steps["preflight.ws1"].adopted)
    code, out = remove(session, include_adopted=True)
    assert code == 0, out
    assert f"KEEP: existed before odatui and has" in out and MACS in out
    assert MACS in [g["name"] for g in ws1(session)["smart_groups"]]
    code, out = remove(session, include_adopted=[MACS])
    assert code == 0, out
    assert MACS not in [g["name"] for g in ws1(session)["smart_groups"]]


def test_remove_names_desktop_mfa_that_removing_okta_verify_breaks(session):
    from odatui.macos.mobileconfig import ws1_custom_settings
    from odatui.mdm.ws1.api.client import Ws1Client

    config = config_for(session)
    assert apply(session, config)[0].exit_code == 0
    og_id = StateStore(config.target_key()).load().steps["preflight.ws1"].outputs["og_id"]

    async def add_desktop_mfa_profile():  # another admin's Desktop MFA profile, as Okta documents it
        client = Ws1Client.from_config(config.ws1, session.secrets)
        try:
            payload = {"PayloadType": "com.okta.deviceaccess.servicedaemon", "PayloadIdentifier": "acme.dmfa",
                       "PayloadUUID": "6C1D6E2E-7B0A-4B8C-9C1E-0F7F3E1D2A11", "PayloadVersion": 1,
                       "DMFAOrgURL": "https://acme.okta.com"}
            await client.create_macos_profile({"General": {
                "Name": "Okta Desktop MFA", "AssignmentType": "Auto", "ProfileContext": "Device",
                "ManagedLocationGroupID": og_id, "AssignedSmartGroups": [], "IsActive": True},
                "CustomSettingsList": [{"CustomSettings": ws1_custom_settings(payload)}]})
        finally:
            await client.aclose()

    asyncio.run(add_desktop_mfa_profile())
    code, out = remove(session)
    assert code == 0, out
    assert "FastPass and Desktop MFA stop working" in out and "'Okta Desktop MFA'" in out
    assert [p["body"]["General"]["Name"] for p in ws1(session)["profiles"]] == ["Okta Desktop MFA"]  # never ours


def test_a_downgrade_needs_yes_and_says_what_happens_on_the_macs(session):
    config_for(session)
    run = odatui_cli("apply", "--allow-downgrade", "--config", str(session.config_path))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "--allow-downgrade needs --yes" in run.stderr and "removes Okta Verify" in run.stderr
    assert "Traceback" not in run.stderr
