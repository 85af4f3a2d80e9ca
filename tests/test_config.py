"""Config: TOML round trip, every validation rule, shape checks ("did you mean"), env overrides, and bad config
through the real CLI (exit 2, one line, no traceback, nothing written)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import trustme

from odatui.core.config import Config, load_config, parse_config, save_config
from odatui.core.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ca_pem(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def pkg(tmp_path) -> Path:
    path = tmp_path / "OktaVerify-9.52.0.pkg"
    path.write_bytes(b"xar!" + bytes(60))
    return path


def bad(data: dict, field: str, *fix: str) -> str:
    """Parse `data`, expect a ConfigError whose single line names `field` and contains every `fix` fragment."""
    with pytest.raises(ConfigError) as err:
        parse_config(data, source="test.toml")
    text = str(err.value)
    assert err.value.exit_code == 2
    assert "\n" not in err.value.message, text
    assert field in text, text
    for fragment in fix:
        assert fragment in text, text
    return text


def okta(**kw) -> dict:
    return {"okta": kw}


def ws1(**kw) -> dict:
    return {"ws1": kw}


# --- round trip --------------------------------------------------------------------------------------------------

def test_save_then_load_gives_the_same_config(tmp_path, pkg, ca_pem):
    config = parse_config({
        "okta": {"org_url": "https://acme.okta.com", "auth": "service_app",
                 "service_app_client_id": "0oa1234567890abcdefG", "client_id": "0oaABCDEFGHIJ1234567",
                 "groups": ["Mac Pilot", "IT"], "ca_bundle": ca_pem},
        "ws1": {"api_url": "https://as1234.awmdm.com", "auth": "oauth", "oauth_client_id": "cid",
                "oauth_region": "emea", "group_id": "ACME", "smart_group": "Okta PSSO Macs"},
        "rollout": {"package": str(pkg), "macos_min": 13, "profile_name": "PSSO", "user_principal_name": "{EmailAddress}"},
    })
    path = save_config(config, tmp_path / "sub" / "odatui.toml")
    again = load_config(path)
    assert again == config
    assert again.to_toml_dict() == config.to_toml_dict()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(path.parent.glob(".*.tmp"))  # the temp file was renamed, not left behind


def test_default_path_round_trip_and_missing():
    config = Config()
    path = save_config(config)
    assert path == Path(os.environ["XDG_CONFIG_HOME"]) / "odatui" / "config.toml"
    assert load_config() == config
    assert config.missing("okta.org_url", "okta.groups", "rollout.macos_min") == ["okta.org_url", "okta.groups"]


def test_example_config_in_assets_is_valid(monkeypatch, tmp_path):
    example = REPO / "assets" / "odatui.example.toml"
    text = example.read_text().replace("~/Downloads/OktaVerify-9.52.0.pkg", "")
    (tmp_path / "x.toml").write_text(text)
    load_config(tmp_path / "x.toml")


# --- Okta org URL ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("given", [
    "https://acme.okta.com", "acme.okta.com", "https://acme.okta.com/", "https://ACME.okta.com/app/UserHome?fromLogin=true",
    "  https://acme.okta.com/#frag  ", "https://acme.okta.com:443",
])
def test_org_url_is_reduced_to_the_host(given):
    assert parse_config(okta(org_url=given)).okta.org_url == "https://acme.okta.com"


def test_org_url_must_be_https():
    bad(okta(org_url="http://acme.okta.com"), "okta.org_url", "https", "use https://acme.okta.com")


@pytest.mark.parametrize("admin, fix", [
    ("https://acme-admin.okta.com", "use https://acme.okta.com"),
    ("acme-admin.oktapreview.com/admin/dashboard", "use https://acme.oktapreview.com"),
    ("https://acme-admin.okta-emea.com", "use https://acme.okta-emea.com"),
])
def test_admin_console_host_is_refused(admin, fix):
    bad(okta(org_url=admin), "okta.org_url", "Admin Console", fix)


def test_custom_domain_is_allowed():
    assert parse_config(okta(org_url="https://login.acme.com/")).okta.org_url == "https://login.acme.com"


@pytest.mark.parametrize("junk", ["https://", "https://user:pw@acme.okta.com", "https://acme..okta.com",
                                  "https://acme.okta.com:99999", "https://acme okta.com"])
def test_org_url_junk_is_refused(junk):
    bad(okta(org_url=junk), "okta.org_url")


@pytest.mark.parametrize("host", ["https://127.0.0.1:8443", "https://localhost:9000", "https://[::1]:8443"])
def test_loopback_needs_a_ca_bundle(host, ca_pem):
    bad(okta(org_url=host), "okta", "okta.ca_bundle")
    assert parse_config(okta(org_url=host, ca_bundle=ca_pem)).okta.org_url == host
    bad(ws1(api_url=host), "ws1", "ws1.ca_bundle")
    assert parse_config(ws1(api_url=host, ca_bundle=ca_pem)).ws1.api_url == host


def test_ca_bundle_must_be_a_pem_file(tmp_path):
    bad(okta(ca_bundle=str(tmp_path / "nope.pem")), "okta.ca_bundle", "no CA bundle")
    (tmp_path / "x.pem").write_text("not a cert")
    bad(okta(ca_bundle=str(tmp_path / "x.pem")), "okta.ca_bundle", "BEGIN CERTIFICATE")


def test_client_id_shape():
    bad(okta(client_id="abc"), "okta.client_id", "0oa", "Sign On tab")
    assert parse_config(okta(client_id=" 0oa1234567890abcdefG ")).okta.client_id == "0oa1234567890abcdefG"


def test_okta_auth_choice():
    bad(okta(auth="token"), "okta.auth", "api_token", "service_app")


# --- Workspace ONE -----------------------------------------------------------------------------------------------

def test_ws1_console_host_gets_the_api_host_hint():
    bad(ws1(api_url="https://cn1234.awmdm.com/AirWatch/"), "ws1.api_url", "console", "use https://as1234.awmdm.com")
    assert parse_config(ws1(api_url="as1234.awmdm.com/API")).ws1.api_url == "https://as1234.awmdm.com"


@pytest.mark.parametrize("region", ["na", "emea", "apac", "uat"])
def test_oauth_regions(region):
    config = parse_config(ws1(oauth_region=region))
    assert config.ws1.token_url == f"https://{region}.uemauth.workspaceone.com/connect/token"


def test_unknown_region_is_refused():
    bad(ws1(oauth_region="eu"), "ws1.oauth_region", "'na'", "'emea'", "'apac'", "'uat'")


def test_token_url_for_on_premises_drops_the_trailing_slash():
    config = parse_config(ws1(oauth_token_url="https://uem.acme.example/connect/token/", oauth_region="na"))
    assert config.ws1.token_url == "https://uem.acme.example/connect/token"
    assert parse_config(ws1(oauth_token_url="https://uem.acme.example")).ws1.token_url == \
        "https://uem.acme.example/connect/token"
    bad(ws1(oauth_token_url="http://uem.acme.example/connect/token"), "ws1.oauth_token_url", "https")


# --- names are trimmed, never blank --------------------------------------------------------------------------------

def test_names_are_trimmed():
    config = parse_config({"ws1": {"group_id": "  ACME ", "smart_group": "\tOkta PSSO Macs  "},
                           "okta": {"groups": ["  Mac Pilot ", "IT", "IT"]}})
    assert config.ws1.group_id == "ACME"
    assert config.ws1.smart_group == "Okta PSSO Macs"
    assert config.okta.groups == ["Mac Pilot", "IT"]


def test_blank_names_are_refused_or_reported_missing():
    bad(okta(groups=["Mac Pilot", "   "]), "okta.groups", "must not be empty")
    bad({"rollout": {"profile_name": "  "}}, "rollout.profile_name", "must not be empty")
    bad(okta(app_label=""), "okta.app_label", "must not be empty")
    # Whitespace-only IDs are "not given yet": commands that need them name them as missing.
    config = parse_config(ws1(group_id="   ", smart_group=" "))
    assert config.missing("ws1.group_id", "ws1.smart_group") == ["ws1.group_id", "ws1.smart_group"]


# --- rollout -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("floor", [13, 14, 15, 26, "14"])
def test_macos_floors(floor):
    assert parse_config({"rollout": {"macos_min": floor}}).rollout.macos_min == int(floor)


@pytest.mark.parametrize("floor", [12, 16, 25, "fourteen", 14.5])
def test_other_macos_floors_are_refused(floor):
    bad({"rollout": {"macos_min": floor}}, "rollout.macos_min", "13, 14, 15, 26")


def test_package_must_exist_and_be_a_file(tmp_path, pkg):
    assert parse_config({"rollout": {"package": str(pkg)}}).rollout.package == str(pkg)
    bad({"rollout": {"package": str(tmp_path / "missing.pkg")}}, "rollout.package", "no file at", "Okta Verify .pkg")
    bad({"rollout": {"package": str(tmp_path)}}, "rollout.package", "no file at")


def test_package_path_expands_the_home_dir(monkeypatch, tmp_path, pkg):
    monkeypatch.setenv("HOME", str(pkg.parent))
    assert parse_config({"rollout": {"package": "~/" + pkg.name}}).rollout.package == str(pkg)


def test_unreadable_package_is_refused(tmp_path):
    if os.geteuid() != 0:
        path = tmp_path / "locked.pkg"
        path.write_bytes(b"xar!")
        path.chmod(0)
        bad({"rollout": {"package": str(path)}}, "rollout.package", "not readable", "chmod")
        return
    # Root reads everything, so check as `nobody` for a moment: real and effective uid drop, the saved uid stays 0
    # so we can come back. The file sits in a folder `nobody` may traverse (pytest's tmp dirs are 0700).
    import pwd

    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no `nobody` user to check an unreadable file as")
    folder = Path(tempfile.mkdtemp(prefix="odatui-unreadable-"))
    path = folder / "locked.pkg"
    try:
        folder.chmod(0o755)
        path.write_bytes(b"xar!")
        path.chmod(0)
        os.setresgid(nobody.pw_gid, nobody.pw_gid, 0)
        os.setresuid(nobody.pw_uid, nobody.pw_uid, 0)
        try:
            with pytest.raises(ConfigError) as err:
                parse_config({"rollout": {"package": str(path)}}, source="t.toml")
        finally:
            os.setresuid(0, 0, 0)
            os.setresgid(0, 0, 0)
        assert "rollout.package" in str(err.value) and "not readable" in str(err.value), str(err.value)
    finally:
        path.unlink(missing_ok=True)
        folder.rmdir()


# --- shape: unknown keys, tables and secrets -----------------------------------------------------------------------

def test_unknown_key_gets_a_did_you_mean():
    text = bad(okta(org_ur="https://acme.okta.com"), "okta.org_ur", "did you mean okta.org_url?")
    assert text.count("\n") == 1  # the message, then the hint


def test_unknown_table_gets_a_did_you_mean():
    bad({"okat": {"org_url": "x"}}, "[okat]", "did you mean [okta]?")
    bad({"fleet": {}}, "[fleet]", "[okta], [ws1] and [rollout]")
    bad({"okta": "https://acme.okta.com"}, "okta", "must be a table")


@pytest.mark.parametrize("table, key", [("okta", "api_token"), ("okta", "private_key"), ("ws1", "password"),
                                        ("ws1", "tenant_code"), ("ws1", "client_secret")])
def test_a_secret_in_the_file_is_refused(table, key):
    with pytest.raises(ConfigError) as err:
        parse_config({table: {key: "s3cr3t-value-123"}}, source="test.toml")
    assert f"{table}.{key} is a secret" in err.value.message
    assert f"odatui secrets set {table}.{key}" in err.value.hint
    assert "s3cr3t-value-123" not in str(err.value)


def test_invalid_toml_names_the_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('[okta]\norg_url = "https://acme.okta.com\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "not valid TOML" in err.value.message and "line 2" in err.value.message


# --- environment overrides ---------------------------------------------------------------------------------------

def test_env_overrides_win_over_the_file(tmp_path, monkeypatch):
    path = tmp_path / "odatui.toml"
    path.write_text('[okta]\norg_url = "https://acme.okta.com"\n[rollout]\nmacos_min = 14\n[ws1]\ngroup_id = "ACME"\n')
    monkeypatch.setenv("ODATUI_OKTA__ORG_URL", "https://acme.oktapreview.com/")
    monkeypatch.setenv("ODATUI_ROLLOUT__MACOS_MIN", "15")
    config = load_config(path)
    assert config.okta.org_url == "https://acme.oktapreview.com"
    assert config.rollout.macos_min == 15
    assert config.ws1.group_id == "ACME"  # untouched fields keep the file's value


def test_a_bad_env_value_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("ODATUI_ROLLOUT__MACOS_MIN", "12")
    text = bad({}, "rollout.macos_min", "ODATUI_ROLLOUT__MACOS_MIN", "13, 14, 15, 26")
    monkeypatch.setenv("ODATUI_ROLLOUT__MACOS_MIN", "14")
    monkeypatch.setenv("ODATUI_OKTA__ORG_URL", "https://acme-admin.okta.com")
    text = bad({}, "okta.org_url", "ODATUI_OKTA__ORG_URL", "use https://acme.okta.com")
    assert "\n" not in text


def test_secret_env_vars_never_enter_the_saved_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ODATUI_OKTA__API_TOKEN", "env-token-abcdef123456")
    monkeypatch.setenv("ODATUI_WS1__PASSWORD", "env-password-abcdef")
    config = load_config(tmp_path / "absent.toml")
    path = save_config(config, tmp_path / "out.toml")
    text = path.read_text()
    assert "env-token" not in text and "env-password" not in text
    assert "api_token =" not in text and "password =" not in text


# --- through the CLI ---------------------------------------------------------------------------------------------

BAD_CONFIGS = {
    "admin host": ('[okta]\norg_url = "https://acme-admin.okta.com"\n', "okta.org_url"),
    "console host": ('[ws1]\napi_url = "https://cn135.awmdm.com"\n', "ws1.api_url"),
    "floor": ("[rollout]\nmacos_min = 12\n", "rollout.macos_min"),
    "typo": ('[okta]\norg_ulr = "https://acme.okta.com"\n', "okta.org_ulr"),
}


def _commands():
    import importlib.util

    out = [("secrets", "status"), ("export", "--out", "{out}")]
    if importlib.util.find_spec("odatui.cli.runner") is not None:
        out.insert(0, ("plan",))
    return out


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c[:1]))
@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config_through_the_cli(tmp_path, command, case):
    text, field = BAD_CONFIGS[case]
    config = tmp_path / "bad.toml"
    config.write_text(text)
    out = tmp_path / "export"
    args = [a.format(out=out) for a in command]
    done = subprocess.run([sys.executable, "-m", "odatui", *args, "--config", str(config)], capture_output=True,
                          text=True, cwd=REPO, env=os.environ.copy(), timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("odatui: ") and field in lines[0], done.stderr
    # One line for a bad value; a typo adds its "did you mean" hint on a second, indented line.
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].lstrip().startswith("→")), done.stderr
    assert config.read_text() == text
    assert not out.exists()
    state_root = Path(os.environ["XDG_STATE_HOME"]) / "odatui"
    assert not list(state_root.rglob("*.json")) if state_root.exists() else True



def test_config_file_in_the_config_dir_is_not_world_readable(tmp_path):
    path = save_config(parse_config(okta(org_url="https://acme.okta.com")))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert textwrap.dedent(path.read_text()).startswith("# odatui answers file")
