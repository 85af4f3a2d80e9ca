"""Platform SSO 2.0 as Okta requires it, through the real CLI against the sandbox: the Device Access SCEP values
are demanded (exit 2 naming them, nothing sent), the WS1 profile carries the same payloads as the export, the
profile is created after Okta Verify's assignment rules, [rollout.psso] keys are floor-gated, and bad input is one
line with exit 2.
"""

from __future__ import annotations

import json
import os
import plistlib
import subprocess
import sys
from pathlib import Path

import pytest

try:
    from keyring_session import keyring_session, real_keyring  # noqa: F401
except ImportError:  # tests/ imported as a package
    from tests.keyring_session import keyring_session, real_keyring  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


def odatui(*args: str, env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odatui", *args], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, env={**os.environ, **(env or {})})


def one_line_exit_2(proc: subprocess.CompletedProcess[str], *must: str) -> None:
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "Traceback" not in text
    first = proc.stderr.strip().splitlines()[0]
    for fragment in must:
        assert fragment in first, f"{fragment!r} not in the first line: {first}"


def write_config(sb, tmp_path: Path, *, package: bool = True, **rollout) -> Path:
    import tomli_w

    from odatui.sandbox.samplepkg import make_sample_pkg

    data = sb.config_dict()
    if package:
        data["rollout"]["package"] = str(make_sample_pkg(tmp_path / "OktaVerify-9.52.0.pkg", version="9.52.0"))
    okta = {k.removeprefix("okta_"): rollout.pop(k) for k in list(rollout) if k.startswith("okta_")}
    data["okta"].update(okta)
    data["rollout"].update(rollout)
    path = tmp_path / "answers.toml"
    path.write_text(tomli_w.dumps(data))
    return path


def env_without_challenge() -> dict[str, str]:
    from odatui.sandbox.server import Sandbox

    return {k: v for k, v in Sandbox.secret_env().items() if k != "ODATUI_OKTA__SCEP_CHALLENGE"}


def api_writes(sb) -> list[dict]:
    return [r for r in sb.world.requests if r["method"] in ("POST", "PUT", "DELETE") and r["path"].startswith("/api")]


# ------------------------------------------------------------------------------------------ SCEP values demanded


@pytest.mark.keychain
@pytest.mark.parametrize("command", ["plan", "apply"])
def test_static_scep_without_url_and_secret_refuses_naming_both(command, tmp_path, sandbox, isolated_home,
                                                                 real_keyring):
    config = write_config(sandbox, tmp_path, okta_scep_url="")
    args = ["apply", "--yes"] if command == "apply" else ["plan"]
    proc = odatui(*args, "--config", str(config), env=env_without_challenge())
    one_line_exit_2(proc, "okta.scep_url", "okta.scep_challenge")
    assert "Device Access" in proc.stderr and "Static SCEP URL" in proc.stderr  # the Admin Console clicks
    assert api_writes(sandbox) == [] and sandbox.world.requests_total == 0  # nothing sent at all


def test_without_a_keychain_a_missing_secret_key_is_exit_4_and_nothing_sent(tmp_path, sandbox, isolated_home):
    config = write_config(sandbox, tmp_path)
    proc = odatui("apply", "--yes", "--config", str(config), env=env_without_challenge())
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "SCEP secret key" in proc.stderr and "ODATUI_OKTA__SCEP_CHALLENGE" in proc.stderr
    assert "Traceback" not in proc.stderr and sandbox.world.requests_total == 0


def test_secrets_set_refuses_a_secret_key_with_control_characters(isolated_home):
    proc = subprocess.run([sys.executable, "-m", "odatui", "secrets", "set", "okta.scep_challenge"], cwd=REPO,
                          input="first-half\tsecond-half\n", capture_output=True, text=True, timeout=60)
    one_line_exit_2(proc, "okta.scep_challenge", "tab")
    assert "first-half" not in proc.stdout + proc.stderr


def test_scep_elsewhere_needs_neither_and_plan_says_so(tmp_path, sandbox, isolated_home):
    config = write_config(sandbox, tmp_path, okta_scep_url="", scep="elsewhere")
    proc = odatui("plan", "--config", str(config), env=env_without_challenge())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'rollout.scep = "elsewhere"' in proc.stdout and "another profile" in proc.stdout


def test_floor_13_needs_no_scep(tmp_path, sandbox, isolated_home):
    config = write_config(sandbox, tmp_path, okta_scep_url="", macos_min=13)
    proc = odatui("plan", "--config", str(config), env=env_without_challenge())
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------ apply: profile = export


def test_apply_sends_the_export_payloads_after_the_assignment_rules(tmp_path, sandbox, isolated_home):
    from odatui.sandbox.server import Sandbox

    config = write_config(sandbox, tmp_path, user_principal_name="{EmailAddress}")
    proc = odatui("apply", "--yes", "--config", str(config), env=Sandbox.secret_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    challenge = Sandbox.secret_env()["ODATUI_OKTA__SCEP_CHALLENGE"]
    assert challenge not in proc.stdout + proc.stderr

    # Order: Okta Verify's assignment rules are saved before the profile is created (the request log).
    writes = [(r["n"], r["method"], r["path"]) for r in api_writes(sandbox)]
    rules = [n for n, m, p in writes if m == "PUT" and "/assignment-rules" in p.lower()]
    profile = [n for n, m, p in writes if m == "POST" and "/profiles/" in p.lower()]
    assert rules and profile and max(rules) < min(profile), writes

    # The payloads WS1 received are the export's, byte for byte.
    client_id = json.loads(next((isolated_home / "xdg_state_home").rglob("*.json")).read_text())["steps"]["okta.app"][
        "outputs"]["client_id"]
    out = tmp_path / "export"
    exported = odatui("export", "--out", str(out), "--config", str(config), env=Sandbox.secret_env())
    assert exported.returncode == 0, exported.stderr
    body = sandbox.state()["ws1"]["profiles"][0]["body"]
    sent = sorted(e["CustomSettings"] for e in body["CustomSettingsList"])
    fragments = sorted(p.read_text() for p in out.glob("*.ws1.xml"))
    assert sent == fragments and len(sent) == 5
    combined = plistlib.loads((out / "okta-dps-macos14.mobileconfig").read_bytes())
    assert [p["PayloadType"] for p in combined["PayloadContent"]][0] == "com.apple.security.scep"
    assert client_id in (out / "okta-dps-macos14-prefs-com.okta.mobile.auth-service-extension.ws1.xml").read_text()


# ------------------------------------------------------------------------------------------ bad input: one line, exit 2


def test_non_https_scep_url_is_refused(tmp_path, sandbox, isolated_home):
    config = write_config(sandbox, tmp_path, okta_scep_url="http://acme.okta.com/pki/scep")
    one_line_exit_2(odatui("plan", "--config", str(config), env=env_without_challenge()), "okta.scep_url", "https")
    assert sandbox.world.requests_total == 0


def test_control_characters_in_the_secret_key_are_refused_without_echoing_it(tmp_path, sandbox, isolated_home):
    from odatui.sandbox.server import Sandbox

    config = write_config(sandbox, tmp_path)
    bad = "pasted-secret\nwith-a-newline"
    proc = odatui("apply", "--yes", "--config", str(config),
                  env={**Sandbox.secret_env(), "ODATUI_OKTA__SCEP_CHALLENGE": bad})
    one_line_exit_2(proc, "okta.scep_challenge", "line break")
    assert "pasted-secret" not in proc.stdout + proc.stderr
    assert api_writes(sandbox) == []


@pytest.mark.parametrize("floor, key, value, must", [
    (15, "login_policy", ["AttemptAuthentication", "TryHarder"], "'TryHarder' is not a policy Apple lists"),
    (14, "user_authorization_mode", "Root", "'Root' is not a value Apple lists"),
    (14, "file_vault_policy", ["AttemptAuthentication"], "needs macOS 15 or later"),
    (15, "registration_during_setup", True, "needs macOS 26 or later"),
    (15, "file_vault_polcy", ["AttemptAuthentication"], "did you mean file_vault_policy"),
])
def test_bad_psso_keys_are_one_line_exit_2_nothing_sent(floor, key, value, must, tmp_path, sandbox, isolated_home):
    from odatui.sandbox.server import Sandbox

    config = write_config(sandbox, tmp_path, macos_min=floor, psso={key: value})
    proc = odatui("apply", "--yes", "--config", str(config), env=Sandbox.secret_env())
    one_line_exit_2(proc, "rollout.psso", key)
    assert must in proc.stderr
    assert sandbox.world.requests_total == 0


# ------------------------------------------------------------------------------------------ package floors


def test_a_9_40_package_at_floor_26_is_refused(tmp_path, sandbox, isolated_home):
    import tomli_w

    from odatui.sandbox.samplepkg import make_sample_pkg
    from odatui.sandbox.server import Sandbox

    data = sandbox.config_dict()
    data["rollout"].update(macos_min=26, package=str(make_sample_pkg(tmp_path / "ov.pkg", version="9.40.0")))
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(data))
    proc = odatui("apply", "--yes", "--only", "preflight.package", "--config", str(config), env=Sandbox.secret_env())
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "9.40.0" in proc.stdout and "9.52" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------------ warnings in plan


def test_plan_warns_about_foreign_variables_and_setup_assistant_consoles(tmp_path, sandbox, isolated_home):
    from odatui.sandbox.server import Sandbox

    config = write_config(sandbox, tmp_path, macos_min=26, user_principal_name="$EMAIL",
                          psso={"registration_during_setup": True})
    proc = odatui("plan", "--config", str(config), env=Sandbox.secret_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "'$EMAIL'" in proc.stdout and "{EmailAddress}" in proc.stdout
    assert "2410, 2506" in proc.stdout and "Setup Assistant" in proc.stdout


def test_plan_warns_when_the_org_has_a_custom_domain_that_is_not_used(tmp_path, sandbox_factory, isolated_home):
    from odatui.sandbox.server import Sandbox

    sb = sandbox_factory(custom_domain="login.acme.example")
    config = write_config(sb, tmp_path)
    proc = odatui("plan", "--config", str(config), env=Sandbox.secret_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning:" in proc.stdout and "login.acme.example" in proc.stdout


def test_floor_26_without_registration_says_what_26_changes(tmp_path, sandbox, isolated_home):
    from odatui.sandbox.server import Sandbox

    config = write_config(sandbox, tmp_path, macos_min=26)
    proc = odatui("plan", "--config", str(config), env=Sandbox.secret_env())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "registration_during_setup" in proc.stdout and "9.52" in proc.stdout


# ------------------------------------------------------------------------------------------ in-process checks


def test_plan_order_puts_the_profile_after_the_app_assignment():
    from odatui.core.config import parse_config
    from odatui.service.setup import make_engine

    engine = make_engine(parse_config({}), object())
    order = engine.order
    assert order.index("ws1.assign") < order.index("ws1.profile") < order.index("verify")


def test_scep_settings_never_show_the_secret_key():
    from odatui.macos.payloads import PssoSettings, ScepSettings

    scep = ScepSettings("https://acme.okta.com/pki/scep/x", "very-secret-key")
    settings = PssoSettings(org_host="acme.okta.com", client_id="0oa" + "c" * 17, macos_min=14, scep=scep)
    assert "very-secret-key" not in repr(scep) + repr(settings) + str(settings)


@pytest.mark.parametrize("table, field, value, must", [
    ("okta", "scep_url", "http://acme.okta.com/pki/scep", "https"),
    ("okta", "scep_url", "acme.okta.com/pki/scep", "https"),
    ("rollout", "scep", "dynamic", "static"),
    ("okta", "scep_challenge", "abc", "secret"),
])
def test_config_refuses_bad_scep_values_in_one_line(table, field, value, must):
    from odatui.core.config import parse_config
    from odatui.core.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        parse_config({table: {field: value}})
    assert f"{table}.{field}" in info.value.message and must in str(info.value)
    assert info.value.exit_code == 2
