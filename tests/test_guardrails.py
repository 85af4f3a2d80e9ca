"""Guardrails for a production fleet (issue 23), through the real CLI against the sandbox over HTTPS: no profile
that locks users out, JIT's RegistrationToken and Okta Verify minimum, and one profile builder whose bytes the
wizard export, `odatui export` and the Workspace ONE profile share."""

from __future__ import annotations

import plistlib

from test_psso2_rollout import api_writes, odatui, one_line_exit_2, write_config

LOCKOUT = {"login_policy": ["RequireAuthentication"]}


def env():
    from odatui.sandbox.server import Sandbox

    return Sandbox.secret_env()


# ------------------------------------------------------------------------------------------ lock-outs


def test_a_lockout_policy_exits_2_naming_the_fix_and_nothing_is_sent(tmp_path, sandbox, isolated_home):
    config = write_config(sandbox, tmp_path, macos_min=15, psso=LOCKOUT)
    proc = odatui("plan", "--config", str(config), env=env())
    one_line_exit_2(proc, "rollout.psso", "login_policy", "locks users")
    assert "AllowOfflineGracePeriod" in proc.stderr and "non_platform_sso_accounts" in proc.stderr
    assert "accept_lockout_risk = true" in proc.stderr
    assert sandbox.world.requests_total == 0


def test_an_accepted_lockout_policy_plans_with_a_warning(tmp_path, sandbox, isolated_home):
    config = write_config(sandbox, tmp_path, macos_min=15, psso={**LOCKOUT, "accept_lockout_risk": True})
    proc = odatui("plan", "--config", str(config), env=env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning: rollout.psso.login_policy requires Okta at the login window" in proc.stdout
    # odatui's own switch never reaches the profile.
    from odatui.core.config import load_config
    from odatui.macos.payloads import PssoSettings, sso_extension

    cfg = load_config(config)
    payload = sso_extension(PssoSettings("acme.okta.com", "0oa" + "a" * 17, 15, psso=cfg.rollout.psso))
    assert payload["PlatformSSO"]["LoginPolicy"] == ["RequireAuthentication"]
    assert "accept_lockout_risk" not in repr(payload) and "AcceptLockoutRisk" not in repr(payload)


def test_a_grace_period_or_non_psso_accounts_is_not_a_lockout(tmp_path, sandbox, isolated_home):
    for psso in ({"login_policy": ["RequireAuthentication", "AllowOfflineGracePeriod"], "offline_grace_period": 86400},
                 {**LOCKOUT, "non_platform_sso_accounts": ["localadmin"]}):
        config = write_config(sandbox, tmp_path, macos_min=15, psso=psso)
        proc = odatui("plan", "--config", str(config), env=env())
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "requires Okta at the login window" not in proc.stdout


def test_a_grace_policy_without_its_length_is_refused(tmp_path, sandbox, isolated_home):
    config = write_config(sandbox, tmp_path, macos_min=15,
                          psso={"login_policy": ["RequireAuthentication", "AllowOfflineGracePeriod"]})
    proc = odatui("apply", "--yes", "--config", str(config), env=env())
    one_line_exit_2(proc, "rollout.psso", "AllowOfflineGracePeriod needs offline_grace_period")
    assert api_writes(sandbox) == []


# ------------------------------------------------------------------------------------------ JIT


def test_a_jit_profile_carries_a_stable_random_registration_token_never_printed(tmp_path, sandbox, isolated_home):
    config = write_config(sandbox, tmp_path, psso={"enable_create_user_at_login": True})
    plan = odatui("plan", "--config", str(config), env=env())
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "Early Access" in plan.stdout  # Okta's JIT switch is the admin's
    # No run yet: the export takes the client ID as the admin types it from the app's Sign On tab.
    config = write_config(sandbox, tmp_path, psso={"enable_create_user_at_login": True},
                          okta_client_id="0oa" + "b" * 17)
    first, second = tmp_path / "one", tmp_path / "two"
    for out in (first, second):
        proc = odatui("export", "--out", str(out), "--config", str(config), env=env())
        assert proc.returncode == 0, proc.stdout + proc.stderr
    sso = plistlib.loads((first / "okta-dps-macos14-sso-extension.mobileconfig").read_bytes())["PayloadContent"][0]
    token = sso["RegistrationToken"]
    assert len(token) >= 32 and sso["PlatformSSO"]["EnableCreateUserAtLogin"] is True
    again = plistlib.loads((second / "okta-dps-macos14-sso-extension.mobileconfig").read_bytes())["PayloadContent"][0]
    assert again["RegistrationToken"] == token  # stable across runs
    assert token not in plan.stdout + plan.stderr
    assert ((first / "okta-dps-macos14-sso-extension.mobileconfig").stat().st_mode & 0o777) == 0o600


def test_a_9_20_package_with_jit_exits_2_naming_9_25(tmp_path, sandbox, isolated_home):
    import tomli_w

    from odatui.sandbox.samplepkg import make_sample_pkg

    data = sandbox.config_dict()
    data["rollout"].update(macos_min=14, package=str(make_sample_pkg(tmp_path / "ov.pkg", version="9.20.0")),
                           psso={"enable_create_user_at_login": True})
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(data))
    proc = odatui("apply", "--yes", "--only", "preflight.package", "--config", str(config), env=env())
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "9.20.0" in proc.stdout and "9.25" in proc.stdout and "just-in-time" in proc.stdout
    # Without JIT the same package is fine for macOS 14 (Platform SSO 2.0 needs 9.19).
    data["rollout"]["psso"] = {}
    config.write_text(tomli_w.dumps(data))
    assert odatui("apply", "--yes", "--only", "preflight.package", "--config", str(config), env=env()).returncode == 0


# ------------------------------------------------------------------------------------------ one profile builder


def test_wizard_export_cli_export_and_the_ws1_profile_are_byte_identical(tmp_path, sandbox, isolated_home):
    psso = {"login_policy": ["AttemptAuthentication", "AllowOfflineGracePeriod"], "offline_grace_period": 3600,
            "enable_create_user_at_login": True, "token_to_user_mapping": {"account_name": "macOSAccountUsername"}}
    config = write_config(sandbox, tmp_path, macos_min=15, psso=psso, user_principal_name="{EmailAddress}")
    proc = odatui("apply", "--yes", "--config", str(config), env=env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "macOSAccountUsername" in odatui("plan", "--config", str(config), env=env()).stdout

    cli_dir = tmp_path / "cli"
    assert odatui("export", "--out", str(cli_dir), "--config", str(config), env=env()).returncode == 0

    import os

    from odatui.core.config import load_config
    from odatui.core.secrets import SecretStore
    from odatui.service.export import wizard_export
    from odatui.core.state import StateStore

    for key, value in env().items():
        os.environ[key] = value
    try:
        cfg = load_config(config)
        wizard_dir = tmp_path / "wizard"
        wizard_export(cfg, StateStore(cfg.target_key()).load().outputs(), wizard_dir, SecretStore())
    finally:
        for key in env():
            os.environ.pop(key, None)

    cli = {p.name: p.read_bytes() for p in cli_dir.iterdir()}
    wizard = {p.name: p.read_bytes() for p in wizard_dir.iterdir()}
    assert cli == wizard and len(cli) >= 10

    body = sandbox.state()["ws1"]["profiles"][0]["body"]
    sent = [e["CustomSettings"].encode("utf-8") for e in body["CustomSettingsList"]]
    order = ["device-access-scep", "associated-domains", "sso-extension", "prefs-com.okta.mobile",
             "prefs-com.okta.mobile.auth-service-extension"]
    assert sent == [cli[f"okta-dps-macos15-{kind}.ws1.xml"] for kind in order]
    assert b"RegistrationToken" in cli["okta-dps-macos15-sso-extension.ws1.xml"]


# ------------------------------------------------------------------------------------------ one "group covered" rule


def test_ws1_assign_and_verify_share_one_group_covered_rule():
    import odatui.mdm.ws1.steps.verify as verify
    import odatui.mdm.ws1.steps.assign as assign
    from odatui.mdm.ws1.steps.common import group_covered

    assert verify.group_covered is group_covered and assign.group_covered is group_covered
    g = "AAAA-1111"
    on_demand_first = {"assignments": [
        {"priority": 1, "distribution": {"smart_groups": [g], "app_delivery_method": "AUTO"}},
        {"priority": 0, "distribution": {"smart_groups": [g], "app_delivery_method": "ON_DEMAND"}}]}
    assert not group_covered(on_demand_first, g)  # priority 0 (On-Demand) decides, whatever the list order
    auto_first = {"assignments": [{**r, "priority": 1 - r["priority"]} for r in on_demand_first["assignments"]]}
    assert group_covered(auto_first, g)
    assert not group_covered({**auto_first, "excluded_smart_groups": [g.lower()]}, g)
    assert not group_covered({"assignments": []}, g)
