"""The bad-input corpus: malformed config fields, CLI arguments, env overrides, package files and server answers.

Each one must give one clear message that names the thing and the fix, never a traceback, exit code 2 from the
CLI (the documented "bad usage or config"), and nothing written to the tenant or to the run state beyond the
failed step's error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from odatui.core.config import load_config, parse_config
from odatui.core.errors import ConfigError, OdatuiError, PackageError

from tests.pkgs import Comp, component_pkg, header, needs_bsdtar, product_pkg, rewrite_toc

REPO = Path(__file__).resolve().parents[1]


def assert_clear(text: str, *must: str, max_lines: int = 8) -> None:
    """One readable message: no traceback, short, and naming each of `must` (the thing, the fix)."""
    assert "Traceback" not in text, text
    assert text.strip(), "no message at all"
    lines = text.strip().splitlines()
    assert len(lines) <= max_lines, f"{len(lines)} lines is not one clear message:\n{text}"
    for fragment in must:
        assert fragment.lower() in text.lower(), f"{fragment!r} not in:\n{text}"


def odatui(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odatui", *args], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, env={**os.environ, **(env or {})})


def state_files(home: Path) -> list[Path]:
    runs = home / "xdg_state_home" / "odatui" / "runs"
    return sorted(p for p in runs.glob("*.json")) if runs.exists() else []


# ------------------------------------------------------------------------------------------ files the cases use


def _ca_not_pem(tmp: Path) -> str:
    (tmp / "ca.pem").write_text("this is not a certificate\n")
    return str(tmp / "ca.pem")


def _pem(tmp: Path) -> str:
    import trustme

    path = tmp / "real-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


# ------------------------------------------------------------------------------------------ config fields

# (id, [table] fields or a builder of them, fragments the message must contain: the field and the fix)
CONFIG_CASES: list[tuple[str, Any, tuple[str, ...]]] = [
    ("okta-http-url", {"okta": {"org_url": "http://acme.okta.com"}}, ("org url", "https://acme.okta.com")),
    ("okta-admin-host", {"okta": {"org_url": "https://acme-admin.okta.com"}}, ("admin console", "https://acme.okta.com")),
    ("okta-url-with-credentials", {"okta": {"org_url": "https://bob:pw@acme.okta.com"}}, ("org url", "user name")),
    ("okta-url-bad-port", {"okta": {"org_url": "https://acme.okta.com:99999"}}, ("org url", "port")),
    ("okta-url-no-host", {"okta": {"org_url": "https://"}}, ("org url", "host")),
    ("okta-url-junk-host", {"okta": {"org_url": "https://acme okta com"}}, ("org url", "https://host")),
    ("okta-auth-unknown", {"okta": {"auth": "password"}}, ("okta.auth", "api_token")),
    ("okta-client-id-short", {"okta": {"client_id": "0oa123"}}, ("okta.client_id", "sign on tab")),
    ("okta-client-id-wrong-prefix", {"okta": {"client_id": "abc4567890123456789x"}}, ("client_id", "0oa")),
    ("okta-service-app-id", {"okta": {"service_app_client_id": "my-service-app"}}, ("service_app_client_id", "0oa")),
    ("okta-groups-string", {"okta": {"groups": "Mac Pilot"}}, ("okta.groups", "list")),
    ("okta-groups-blank", {"okta": {"groups": ["Mac Pilot", "  "]}}, ("okta.groups", "remove the blank")),
    ("okta-app-label-blank", {"okta": {"app_label": "  "}}, ("app_label", "must not be empty")),
    ("okta-ca-missing", {"okta": {"ca_bundle": "/nonexistent/ca.pem"}}, ("ca_bundle", "PEM file")),
    ("okta-ca-not-pem", lambda tmp: {"okta": {"ca_bundle": _ca_not_pem(tmp)}}, ("ca_bundle", "BEGIN CERTIFICATE")),
    ("okta-loopback-no-ca", {"okta": {"org_url": "https://127.0.0.1:8443"}}, ("loopback", "okta.ca_bundle")),
    ("ws1-console-host", {"ws1": {"api_url": "https://cn135.awmdm.com"}}, ("console host", "https://as135.awmdm.com")),
    ("ws1-http-url", {"ws1": {"api_url": "http://as135.awmdm.com"}}, ("api url", "https://as135.awmdm.com")),
    ("ws1-auth-unknown", {"ws1": {"auth": "kerberos"}}, ("ws1.auth", "basic")),
    ("ws1-auth-number", {"ws1": {"auth": 5}}, ("ws1.auth", "oauth")),
    ("ws1-region-unknown", {"ws1": {"oauth_region": "mars"}}, ("oauth_region", "emea")),
    ("ws1-token-url-http", {"ws1": {"oauth_token_url": "http://uem.example.com/connect/token"}}, ("token url", "https")),
    ("ws1-loopback-no-ca", {"ws1": {"api_url": "https://localhost:9443"}}, ("loopback", "ws1.ca_bundle")),
    ("rollout-floor-12", {"rollout": {"macos_min": 12}}, ("macos_min", "13, 14, 15, 26")),
    ("rollout-floor-word", {"rollout": {"macos_min": "fourteen"}}, ("macos_min", "13, 14, 15, 26")),
    ("rollout-package-missing", {"rollout": {"package": "/nonexistent/OktaVerify.pkg"}}, ("rollout.package", "download")),
    ("rollout-package-folder", lambda tmp: {"rollout": {"package": str(tmp)}}, ("rollout.package", "no file")),
    ("rollout-profile-blank", {"rollout": {"profile_name": ""}}, ("profile_name", "must not be empty")),
    ("unknown-table", {"okat": {"org_url": "https://acme.okta.com"}}, ("[okat]", "did you mean [okta]")),
    ("unknown-key", {"okta": {"org_ulr": "https://acme.okta.com"}}, ("okta.org_ulr", "did you mean okta.org_url")),
    ("table-as-value", {"okta": "https://acme.okta.com"}, ("okta", "must be a table")),
    ("secret-in-file", {"okta": {"api_token": "00abcdefghijklmnop"}}, ("okta.api_token", "odatui secrets set")),
    ("ws1-password-in-file", {"ws1": {"password": "hunter2hunter2"}}, ("ws1.password", "ODATUI_WS1__PASSWORD")),
]


@pytest.mark.parametrize("data,must", [pytest.param(d, m, id=i) for i, d, m in CONFIG_CASES])
def test_config_field_gives_one_clear_message(data, must, tmp_path):
    data = data(tmp_path) if callable(data) else data
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="answers.toml")
    assert caught.value.exit_code == 2
    assert_clear(str(caught.value), "answers.toml", *must)
    for secret in ("00abcdefghijklmnop", "hunter2hunter2"):  # a secret put in the file is named, never echoed
        assert secret not in str(caught.value)


# ------------------------------------------------------------------------------------------ config files via the CLI

TOML_CASES = [
    ("not-toml", "[okta\norg_url = 'https://acme.okta.com'\n", ("not valid TOML", "line")),
    ("http-org-url", "[okta]\norg_url = 'http://acme.okta.com'\n", ("okta.org_url", "https://acme.okta.com")),
    ("console-host", "[ws1]\napi_url = 'https://cn135.awmdm.com'\n", ("ws1.api_url", "as135")),
    ("floor-string", "[rollout]\nmacos_min = 'abc'\n", ("rollout.macos_min", "13, 14, 15, 26")),
    ("token-in-file", "[okta]\napi_token = 'SSWS-00secretvalue123'\n", ("okta.api_token", "odatui secrets set")),
    ("typo-table", "[rolout]\nmacos_min = 14\n", ("[rolout]", "[rollout]")),
    ("not-utf8", b"[okta]\norg_url = '\xff\xfe'\n", ("cannot read", "config")),
]


def config_command(tmp_path: Path) -> list[str]:
    return ["plan"]  # the command that only reads


@pytest.mark.parametrize("text,must", [pytest.param(t, m, id=i) for i, t, m in TOML_CASES])
def test_config_file_via_cli_exits_2_with_one_message(text, must, tmp_path, isolated_home):
    path = tmp_path / "answers.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    proc = odatui(*config_command(tmp_path), "--config", str(path))
    assert proc.returncode == 2, proc.stderr
    assert_clear(proc.stderr, str(path), *must)
    assert "SSWS-00secretvalue123" not in proc.stderr + proc.stdout
    assert state_files(isolated_home) == []  # a refused config never starts a run
    assert not (tmp_path / "export").exists()


# ------------------------------------------------------------------------------------------ environment overrides

ENV_CASES = [
    pytest.param({"ODATUI_ROLLOUT__MACOS_MIN": "abc"}, ("rollout.macos_min", "13, 14, 15, 26"), id="macos-min-abc"),
    pytest.param({"ODATUI_OKTA__ORG_URL": "http://acme.okta.com"}, ("okta.org_url", "https://acme.okta.com"),
                 id="org-url-http"),
    pytest.param({"ODATUI_WS1__AUTH": "kerberos"}, ("ws1.auth", "oauth"), id="ws1-auth"),
    pytest.param({"ODATUI_WS1__OAUTH_REGION": "mars"}, ("ws1.oauth_region", "apac"), id="ws1-region"),
    pytest.param({"ODATUI_WS1__API_URL": "https://cn800.awmdm.com"}, ("ws1.api_url", "as800"), id="ws1-console"),
    pytest.param({"ODATUI_OKTA__CLIENT_ID": "not-a-client-id"}, ("okta.client_id", "0oa"), id="client-id"),
    pytest.param({"ODATUI_ROLLOUT__PACKAGE": "/nope/OktaVerify.pkg"}, ("rollout.package", "/nope/OktaVerify.pkg"),
                 id="package-missing"),
    pytest.param({"ODATUI_OKTA__GROUPS": '["Mac Pilot", ""]'}, ("okta.groups", "blank"), id="groups-blank"),
    pytest.param({"ODATUI_OKTA__GROUPS": "Mac Pilot"}, ("ODATUI_OKTA__GROUPS", "JSON"), id="groups-not-json"),
]


@pytest.mark.parametrize("env,must", ENV_CASES)
def test_env_override_names_the_variable(env, must, monkeypatch):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        parse_config({}, source="env")
    assert_clear(str(caught.value), *must)
    assert next(iter(env)) in str(caught.value)  # the message says where the bad value came from


def test_env_override_via_cli_exits_2(tmp_path, isolated_home):
    proc = odatui(*config_command(tmp_path), "--config", str(tmp_path / "none.toml"),
                  env={"ODATUI_ROLLOUT__MACOS_MIN": "abc"})
    assert proc.returncode == 2, proc.stderr
    assert_clear(proc.stderr, "ODATUI_ROLLOUT__MACOS_MIN", "13, 14, 15, 26")
    assert state_files(isolated_home) == []


# ------------------------------------------------------------------------------------------ CLI arguments

CLI_CASES = [
    ("unknown-option", ["--bogus"], ("--bogus", "--help")),
    ("unknown-command", ["frobnicate"], ("frobnicate", "--help")),
    ("only-without-ids", ["apply", "--only"], ("--only", "--help")),
    ("port-not-a-number", ["sandbox", "--port", "abc"], ("--port", "abc")),
    ("psso-app-choice", ["sandbox", "--psso-app", "maybe"], ("--psso-app", "present")),
    ("latency-not-a-number", ["sandbox", "--latency-ms", "fast"], ("--latency-ms", "fast")),
    ("export-without-out", ["export"], ("--out", "--help")),
    ("secrets-unknown-action", ["secrets", "rotate"], ("rotate", "set")),
    ("secrets-unknown-name", ["secrets", "set", "okta.password"], ("okta.password", "okta.api_token")),
    ("secrets-no-name", ["secrets", "delete"], ("secret name", "ws1.password")),
    ("status-stray-arg", ["status", "everything"], ("everything", "--help")),
]


@pytest.mark.parametrize("args,must", [pytest.param(a, m, id=i) for i, a, m in CLI_CASES])
def test_cli_argument_exits_2_with_one_message(args, must, isolated_home):
    proc = odatui(*args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert_clear(proc.stderr, *must)
    assert state_files(isolated_home) == []


@pytest.mark.parametrize("args,must", [
    pytest.param(["apply", "--only", "okta.frobnicate", "--yes"], ("okta.frobnicate", "okta.app"), id="only-unknown-step"),
    pytest.param(["apply", "--from", "nowhere", "--yes"], ("nowhere", "preflight.okta"), id="from-unknown-step"),
])
def test_cli_step_ids_are_checked(args, must, tmp_path, isolated_home):
    proc = odatui(*args, "--config", str(tmp_path / "none.toml"))
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert_clear(proc.stderr, *must)
    assert state_files(isolated_home) == []


# ------------------------------------------------------------------------------------------ package files


def _truncated_header(tmp: Path) -> Path:
    path = product_pkg(tmp / "OktaVerify.pkg")
    path.write_bytes(path.read_bytes()[:20])
    return path


def _truncated_toc(tmp: Path) -> Path:
    path = product_pkg(tmp / "OktaVerify.pkg")
    size, toc_len, _, _ = header(path)
    path.write_bytes(path.read_bytes()[: size + toc_len // 2])
    return path


def _truncated_heap(tmp: Path) -> Path:
    path = product_pkg(tmp / "OktaVerify.pkg", payload=os.urandom(64 * 1024))
    path.write_bytes(path.read_bytes()[:-4096])
    return path


def _wrong_toc_checksum(tmp: Path) -> Path:
    path = product_pkg(tmp / "OktaVerify.pkg")
    size, toc_len, _, _ = header(path)
    data = bytearray(path.read_bytes())
    data[size + toc_len] ^= 0xFF  # the stored TOC checksum sits at heap offset 0
    path.write_bytes(bytes(data))
    return path


def _toc_not_xml(tmp: Path) -> Path:
    path = product_pkg(tmp / "OktaVerify.pkg")
    rewrite_toc(path, lambda xml: xml.replace("</toc>", "<toc", 1))
    return path


def _text_file(tmp: Path) -> Path:
    path = tmp / "OktaVerify.pkg"
    path.write_text("<html><body>Please sign in to download</body></html>\n" * 20)
    return path


def _zip_file(tmp: Path) -> Path:
    import zipfile

    path = tmp / "OktaVerify.pkg.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("OktaVerify.pkg", b"xar!....")
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "OktaVerify.pkg"
    path.write_bytes(b"")
    return path


def _other_product(tmp: Path) -> Path:
    return product_pkg(tmp / "Teams.pkg", Comp(identifier="com.microsoft.teams2", version="24.1", dirname="Teams.pkg"),
                       title="Microsoft Teams")


def _other_component(tmp: Path) -> Path:
    return component_pkg(tmp / "zoom.pkg", Comp(identifier="us.zoom.xos", version="6.0.2"))


def _app_store(tmp: Path) -> Path:
    return product_pkg(tmp / "OktaVerify.pkg", extra={"OktaVerify.pkg/_MASReceipt/receipt": b"receipt"})


def _folder(tmp: Path) -> Path:
    path = tmp / "OktaVerify.pkg"
    (path / "Contents").mkdir(parents=True)
    return path


PACKAGE_CASES: list[tuple[str, Callable[[Path], Path], tuple[str, ...]]] = [
    ("truncated-header", _truncated_header, ("truncated", "download")),
    ("truncated-toc", _truncated_toc, ("truncated", "download")),
    ("truncated-heap", _truncated_heap, ("OktaVerify.pkg", "download")),
    ("wrong-toc-checksum", _wrong_toc_checksum, ("checksum", "download")),
    ("toc-not-xml", _toc_not_xml, ("not valid XML", "download")),
    ("html-saved-as-pkg", _text_file, ("not a flat package", "Settings → Downloads")),
    ("zip-archive", _zip_file, ("zip archive", "unzip")),
    ("empty-file", _empty, ("empty", "download")),
    ("another-product", _other_product, ("com.microsoft.teams2", "com.okta.mobile")),
    ("another-component", _other_component, ("us.zoom.xos", "Okta Verify")),
    ("app-store-build", _app_store, ("App Store", "Settings → Downloads")),
    ("bundle-folder", _folder, ("folder", "flat")),
]


@needs_bsdtar
@pytest.mark.parametrize("make,must", [pytest.param(f, m, id=i) for i, f, m in PACKAGE_CASES])
def test_package_file_gives_one_clear_message(make, must, tmp_path):
    from odatui.macos.pkg import read_package

    path = make(tmp_path)
    with pytest.raises(PackageError) as caught:
        read_package(path)
    assert caught.value.exit_code == 2
    assert caught.value.hint, "a package problem must say what to do"
    assert_clear(str(caught.value), str(path), *must)


@needs_bsdtar
async def test_old_okta_verify_for_macos_14_is_refused_by_the_step(tmp_path):
    from odatui.core.secrets import SecretStore
    from odatui.steps.base import Context
    from odatui.steps.package import PackagePreflight

    path = product_pkg(tmp_path / "OktaVerify-9.10.pkg", Comp(version="9.10.0"))
    config = parse_config({"rollout": {"package": str(path), "macos_min": 14}})
    with pytest.raises(PackageError) as caught:
        await PackagePreflight().inspect(Context(config, SecretStore(use_keychain=False)))
    assert_clear(str(caught.value), "9.10.0", "9.19", "macos_min = 13")


# The same package problems through the real CLI: the run records only preflight.package's error.
CLI_PACKAGE_CASES = ["truncated-toc", "wrong-toc-checksum", "another-product", "html-saved-as-pkg"]


@needs_bsdtar
@pytest.mark.parametrize("case", CLI_PACKAGE_CASES)
def test_bad_package_through_apply_touches_nothing(case, tmp_path, sandbox_factory, isolated_home):
    import json
    import tomli_w

    make, must = next((f, m) for i, f, m in PACKAGE_CASES if i == case)
    sb = sandbox_factory()
    before = sb.state()
    path = make(tmp_path)
    data = sb.config_dict()
    data["rollout"]["package"] = str(path)
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(data))
    from odatui.sandbox.server import Sandbox

    proc = odatui("apply", "--yes", "--only", "preflight.package", "--config", str(config), env=Sandbox.secret_env())
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert must[0].lower() in (proc.stdout + proc.stderr).lower()
    after = sb.state()
    for side in ("okta", "ws1"):
        assert after.get(side) == before.get(side), f"the {side} tenant changed"
    files = state_files(isolated_home)
    if files:  # only the failed step's error may have been recorded
        steps = json.loads(files[0].read_text())["steps"]
        touched = {sid: rec for sid, rec in steps.items() if rec["status"] not in ("pending", "skipped")}
        assert set(touched) <= {"preflight.package"}, touched
        assert touched.get("preflight.package", {}).get("status") in (None, "failed")


def test_everything_user_facing_is_an_odatui_error():
    # The corpus relies on these mapping to exit code 2 ("bad usage or config").
    assert ConfigError("x").exit_code == 2 and PackageError("x").exit_code == 2
    assert issubclass(PackageError, OdatuiError)


def test_load_config_reports_the_file(tmp_path):
    path = tmp_path / "answers.toml"
    path.write_text("[rollout]\nmacos_min = 12\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert_clear(str(caught.value), str(path), "rollout.macos_min")


# ------------------------------------------------------------------------------------------ server answers

# A tiny real HTTPS server on loopback (trustme CA) that answers each request with the canned reply for its
# path: what a proxy, a captive portal or a half-broken tenant sends instead of the vendor's JSON.
PROXY_502 = ("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>"
             "<hr>corp-proxy</body></html>")
LOGIN_PORTAL = "<!DOCTYPE html><html><head><title>Sign in to continue</title></head><body>portal</body></html>"


@pytest.fixture(scope="module")
def canned_server(tmp_path_factory):
    import http.server
    import ssl
    import threading

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    replies: dict[str, tuple[int, str, bytes]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            path = self.path.split("?", 1)[0]
            status, ctype, body = replies.get(path, (404, "application/json", b'{"message":"not canned"}'))
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ca_path = tmp_path_factory.mktemp("canned") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    url = f"https://127.0.0.1:{server.server_address[1]}"
    yield url, str(ca_path), replies
    server.shutdown()


def _json(data: Any) -> bytes:
    import json

    return json.dumps(data).encode()


# (id, path, (status, content type, body), client call, fragments the message must name)
OKTA_ANSWERS = [
    ("okta-invalid-json", "/.well-known/okta-organization", (200, "application/json", b'{"pipeline": "idx",'),
     "org_metadata", ("not valid JSON", "org metadata")),
    ("okta-proxy-html-502", "/.well-known/okta-organization", (502, "text/html", PROXY_502.encode()),
     "org_metadata", ("502 Bad Gateway", "proxy")),
    ("okta-login-portal-200", "/api/v1/authenticators", (200, "text/html", LOGIN_PORTAL.encode()),
     "authenticators", ("Sign in to continue", "okta.org_url")),
    ("okta-apps-not-a-list", "/api/v1/apps", (200, "application/json", _json({"apps": []})),
     "list_apps", ("list apps", "list")),
    ("okta-error-without-summary", "/api/v1/authenticators", (403, "application/json", _json({"errorCode": 7})),
     "authenticators", ("403", "list authenticators")),
    ("okta-empty-body-500", "/api/v1/apps", (500, "application/json", b""), "list_apps", ("500", "list apps")),
]

WS1_ANSWERS = [
    ("ws1-invalid-json", "/api/system/groups/search", (200, "application/json", b'{"OrganizationGroups": ['),
     ("find_org_group", "ACME"), ("not JSON", "organization group")),
    ("ws1-proxy-html-502", "/api/system/groups/search", (502, "text/html", PROXY_502.encode()),
     ("find_org_group", "ACME"), ("not JSON", "proxy")),
    ("ws1-console-login-page", "/api/system/groups/search", (200, "text/html", LOGIN_PORTAL.encode()),
     ("find_org_group", "ACME"), ("not JSON", "as…, not cn…")),
    ("ws1-v1-shape", "/api/system/groups/search",
     (200, "application/json", _json({"LocationGroups": [{"Id": {"Value": 7}, "GroupId": "ACME"}]})),
     ("find_org_group", "ACME"), ("unexpected shape", "Accept version")),
    ("ws1-id-not-a-number", "/api/system/groups/search",
     (200, "application/json", _json({"OrganizationGroups": [{"Id": {"Value": 7}, "GroupId": "ACME"}]})),
     ("find_org_group", "ACME"), ("Id is not a number", "ACME")),
    pytest.param("/api/system/groups/search", (200, "application/json", _json({"OrganizationGroups": "ACME"})),
                 ("find_org_group", "ACME"), ("org group", "unexpected shape"), id="ws1-list-not-a-list"),
    ("ws1-body-is-array", "/api/mdm/smartgroups/search", (200, "application/json", _json([1, 2, 3])),
     ("search_smart_groups", "Okta PSSO Macs"), ("unexpected shape", "smart group")),
    ("ws1-401-1005", "/api/mdm/smartgroups/search",
     (401, "application/json", _json({"errorCode": 1005, "message": "Error while validating remote service client "
                                      "credentials."})),
     ("search_smart_groups", "Okta PSSO Macs"), ("1005", "directory")),
]


@pytest.mark.parametrize("path,reply,call,must", [pytest.param(*c[1:], id=c[0]) for c in OKTA_ANSWERS])
async def test_odd_okta_answer_gives_one_clear_message(path, reply, call, must, canned_server):
    from odatui.okta.client import OktaClient

    url, ca, replies = canned_server
    replies.clear()
    replies[path] = reply
    from odatui.core.http import RetryPolicy

    async with OktaClient(url, api_token="00-canned-token-value", ca_bundle=ca,
                          policy=RetryPolicy(attempts=1)) as client:
        with pytest.raises(OdatuiError) as caught:
            await getattr(client, call)()
    assert_clear(str(caught.value), *must)
    assert "00-canned-token-value" not in str(caught.value)


@pytest.mark.parametrize("path,reply,call,must", [c if not isinstance(c, tuple) or len(c) != 5 else
                                                  pytest.param(*c[1:], id=c[0]) for c in WS1_ANSWERS])
async def test_odd_ws1_answer_gives_one_clear_message(path, reply, call, must, canned_server):
    from odatui.core.http import RetryPolicy
    from odatui.mdm.ws1.api.auth import BasicAuth as _BasicAuth
    from odatui.mdm.ws1.api.client import Ws1Client

    url, ca, replies = canned_server
    replies.clear()
    replies[path] = reply
    async with Ws1Client(url, _BasicAuth("api-user", "canned-password", "canned-tenant-code"), ca_bundle=ca,
                         policy=RetryPolicy(attempts=1)) as client:
        method, arg = call
        with pytest.raises(OdatuiError) as caught:
            await getattr(client.groups, method)(arg)
    assert_clear(str(caught.value), *must)
    assert "canned-password" not in str(caught.value) and "canned-tenant-code" not in str(caught.value)


# ================================================================================= hardening corpus (issue 15)
# Hostile or careless inputs that used to hang, eat memory, leak the token or destroy a file. Every case runs the
# real thing (a CLI subprocess, a real HTTPS server, a real package) and must end within 5 s with one clear line
# and the documented exit code (2: unusable input or folder).

import base64  # noqa: E402
import contextlib  # noqa: E402
import time  # noqa: E402

# 785 bytes of bzip2 that expand to 1 GiB of zeros (made once with bz2.BZ2Compressor(9); cheaper to keep than to
# compress a GiB in every run).
BZIP2_BOMB_1GIB = base64.b64decode(
    "QlpoOTFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kO"
    "CeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAA"
    "CCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWp"
    "CoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J"
    "4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAI"
    "IAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakK"
    "gJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni"
    "3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqAlzFBWSZTWQ4J4t8BX45AAMAAAAgg"
    "ADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1kOCeLfAV+OQADAAAAIIAAwgE1GQqAlqQqA"
    "lzFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZDgni3wFfjkAAwAAACCAAMIBNRkKgJakKgJcxQVkmU1lIfF/J"
    "AIpSyADAAAAEAAggADDMBSmmkSJDYUSJDxdyRThQkPaI5AI="
)

FAST = 5.0  # seconds every case must end within


def timed_odatui(*args: str, stdin: Any = subprocess.DEVNULL, env: dict[str, str] | None = None,
                 prefix: tuple[str, ...] = (), **kw: Any) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    if "input" in kw:
        stdin = None
    proc = subprocess.run([*prefix, sys.executable, "-m", "odatui", *args], cwd=REPO, capture_output=True,
                          text=True, stdin=stdin, timeout=30, env={**os.environ, **(env or {})}, **kw)
    took = time.monotonic() - started
    assert took < FAST, f"took {took:.1f}s: {args}\n{proc.stderr}"
    return proc


def one_line_exit_2(proc: subprocess.CompletedProcess[str], *must: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert_clear(proc.stderr, *must, max_lines=3)


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "answers.fifo"
    os.mkfifo(path)
    return path


# ---------------------------------------------------------------- FIFO, /dev/zero, oversize, deep nesting (files)


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "oversize", "folder"])
def test_config_path_that_is_not_a_small_regular_file(kind, tmp_path, fifo, isolated_home):
    path = {"fifo": fifo, "dev-zero": Path("/dev/zero"), "folder": tmp_path}.get(kind, tmp_path / "big.toml")
    if kind == "oversize":
        path.write_text("# padding\n" * 120_000)  # 1.2 MB of comments: valid TOML, but no answers file is this big
    proc = timed_odatui("plan", "--config", str(path))
    must = {"fifo": "FIFO", "dev-zero": "character device", "oversize": "1 MiB limit", "folder": "folder"}[kind]
    one_line_exit_2(proc, str(path), must)
    assert state_files(isolated_home) == []


def test_deeply_nested_toml_is_one_line(tmp_path, isolated_home):
    path = tmp_path / "answers.toml"
    path.write_text("x = " + "[" * 50_000 + "]" * 50_000 + "\n")
    one_line_exit_2(timed_odatui("plan", "--config", str(path)), str(path), "nested too deeply")


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "oversize"])
def test_secret_from_file_that_is_not_a_small_regular_file(kind, tmp_path, fifo, isolated_home):
    path = {"fifo": fifo, "dev-zero": Path("/dev/zero")}.get(kind, tmp_path / "key.pem")
    if kind == "oversize":
        path.write_bytes(b"A" * (65 * 1024))
    proc = timed_odatui("secrets", "set", "okta.private_key", "--from-file", str(path))
    one_line_exit_2(proc, str(path), {"fifo": "FIFO", "dev-zero": "character device", "oversize": "64 KiB"}[kind])


def test_secret_piped_from_dev_zero_is_capped(isolated_home):
    with open("/dev/zero", "rb") as zero:
        proc = timed_odatui("secrets", "set", "okta.api_token", stdin=zero)
    one_line_exit_2(proc, "64 KiB limit", "standard input")


def test_ca_bundle_that_is_a_fifo(tmp_path, fifo):
    with pytest.raises(ConfigError) as caught:
        parse_config({"okta": {"ca_bundle": str(fifo)}}, source="answers.toml")
    assert_clear(str(caught.value), "ca_bundle", str(fifo), "not a regular file")


# ---------------------------------------------------------------- decompression bombs in a .pkg


def _bomb_pkg(tmp: Path, kind: str) -> Path:
    """A real product archive whose Distribution member is replaced by a bomb: a TOC that announces 375 bytes,
    a heap that expands to 1 GiB (bzip2) or 48 MiB (xz, gzip — made here, fast to build)."""
    import lzma
    import re
    import zlib

    from tests.pkgs import heap_start

    bomb = {"bzip2": lambda: BZIP2_BOMB_1GIB,
            "xz": lambda: lzma.compress(b"\0" * (48 << 20), preset=0),
            "gzip": lambda: zlib.compress(b"\0" * (48 << 20), 1)}[kind]()
    path = product_pkg(tmp / "OktaVerify.pkg", compression="none")
    heap_len = path.stat().st_size - heap_start(path)

    def edit(xml: str) -> str:
        start = xml.index("<name>Distribution</name>")
        end = xml.index("</data>", start)
        entry = re.sub(r"<length>\d+</length>", f"<length>{len(bomb)}</length>", xml[start:end])
        entry = re.sub(r"<offset>\d+</offset>", f"<offset>{heap_len}</offset>", entry)
        entry = re.sub(r'<encoding style="[^"]+"/>', f'<encoding style="application/x-{kind}"/>', entry)
        entry = re.sub(r"<(archived|extracted)-checksum[^>]*>[0-9a-f]+</\1-checksum>", "", entry)
        return xml[:start] + entry + xml[end:]

    rewrite_toc(path, edit)
    with path.open("ab") as fh:
        fh.write(bomb)
    return path


@needs_bsdtar
@pytest.mark.parametrize("kind", ["bzip2", "xz", "gzip"])
def test_package_decompression_bomb_is_capped(kind, tmp_path):
    import tracemalloc

    from odatui.macos.pkg import read_package

    path = _bomb_pkg(tmp_path, kind)
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(PackageError) as caught:
            read_package(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < FAST
    assert peak < 32 << 20, f"peak {peak >> 20} MiB: the member was expanded past its cap"
    assert caught.value.exit_code == 2
    assert_clear(str(caught.value), "Distribution", "decompression bomb", "16 MiB")


# ---------------------------------------------------------------- hostile servers: Link, loops, silence


@pytest.fixture
def hostile(tmp_path):
    """Two real HTTPS servers on loopback (one CA): `main` answers from a script, `other` (another origin: another
    port) records whoever calls it. Each script entry: path → callable(handler) writing the answer."""
    import http.server
    import ssl
    import threading

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    servers, hits = [], {"main": [], "other": []}
    script: dict[str, Any] = {}

    def make(name: str):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                hits[name].append((self.path, self.headers.get("Authorization")))
                answer = script.get(self.path.split("?", 1)[0]) if name == "main" else None
                if answer is None:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"[]")
                    return
                answer(self)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"https://127.0.0.1:{server.server_address[1]}"

    urls = {"main": make("main"), "other": make("other")}
    yield urls, str(ca_path), script, hits
    for server in servers:
        server.shutdown()
        server.server_close()


def _page_with_link(link: str):
    def answer(handler) -> None:
        body = b'[{"id": "0oa1", "label": "x"}]'
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Link", f'<{link}>; rel="next"')
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return answer


async def test_okta_link_to_another_origin_never_receives_the_token(hostile):
    from odatui.core.http import RetryPolicy
    from odatui.okta.client import OktaClient

    urls, ca, script, hits = hostile
    script["/api/v1/apps"] = _page_with_link(f"{urls['other']}/api/v1/apps?after=0oa1")
    started = time.monotonic()
    async with OktaClient(urls["main"], api_token="00-hostile-link-token", ca_bundle=ca,
                          policy=RetryPolicy(attempts=1)) as client:
        with pytest.raises(OdatuiError) as caught:
            await client.list_apps()
    assert time.monotonic() - started < FAST
    assert hits["other"] == [], "the other origin was called"
    assert len(hits["main"]) == 1
    assert_clear(str(caught.value), "another origin", "refusing to send the API token")
    assert not caught.value.retryable and "00-hostile-link-token" not in str(caught.value)


async def test_okta_link_back_to_itself_stops_paging(hostile):
    from odatui.core.http import RetryPolicy
    from odatui.okta.client import OktaClient

    urls, ca, script, hits = hostile
    script["/api/v1/apps"] = _page_with_link(f"{urls['main']}/api/v1/apps?after=same")
    async with OktaClient(urls["main"], api_token="00-hostile-link-token", ca_bundle=ca,
                          policy=RetryPolicy(attempts=1)) as client:
        with pytest.raises(OdatuiError) as caught:
            await client.list_apps()
    assert len(hits["main"]) == 2  # the first page and the linked one, then the repeat is noticed
    assert_clear(str(caught.value), "repeats a page already read", "stopped paging")


async def test_ws1_total_that_never_ends_is_capped(hostile):
    import json

    from odatui.core.http import RetryPolicy
    from odatui.core.paging import MAX_PAGES
    from odatui.mdm.ws1.api.auth import BasicAuth as _BasicAuth
    from odatui.mdm.ws1.api.client import Ws1Client

    urls, ca, script, hits = hostile

    def endless(handler) -> None:  # every page full, and a Total of a trillion
        body = json.dumps({"SmartGroups": [], "Total": 10**12}).encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    script["/api/mdm/smartgroups/search"] = endless
    script["/api/mdm/smartgroups/7/devices"] = endless
    async with Ws1Client(urls["main"], _BasicAuth("api-user", "pw-hostile", "tc-hostile"), ca_bundle=ca,
                         policy=RetryPolicy(attempts=1)) as client:
        sem = __import__("asyncio").Semaphore(4)
        started = time.monotonic()
        with pytest.raises(OdatuiError) as caught:
            await client.rollout._paged_ids("/api/mdm/smartgroups/7/devices", {}, list_key="SmartGroups", total_key="Total",
                                    id_of=int, what="listing devices", sem=sem)
    assert time.monotonic() - started < FAST and len(hits["main"]) == 1
    assert_clear(str(caught.value), f"{MAX_PAGES}-page limit")


async def test_endpoint_that_never_answers_hits_the_overall_deadline(hostile):
    """Accepts the request and stays silent: the per-operation read timeout would be reset by a drip; the overall
    deadline (one request, retries included) ends it and names the limit. Production: 180 s; here 1.5 s."""
    from odatui.core.http import REQUEST_DEADLINE, RetryPolicy
    from odatui.mdm.ws1.api.auth import BasicAuth as _BasicAuth
    from odatui.mdm.ws1.api.client import Ws1Client

    urls, ca, script, hits = hostile

    def drip(handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(60):
            with contextlib.suppress(OSError):
                handler.wfile.write(b" ")
                handler.wfile.flush()
            time.sleep(0.2)

    script["/api/system/groups/search"] = drip
    assert REQUEST_DEADLINE <= 180
    started = time.monotonic()
    async with Ws1Client(urls["main"], _BasicAuth("api-user", "pw-hostile", "tc-hostile"), ca_bundle=ca,
                         policy=RetryPolicy(attempts=3, base=0.01, deadline=1.5)) as client:
        with pytest.raises(OdatuiError) as caught:
            await client.groups.find_org_group("ACME")
    took = time.monotonic() - started
    assert 1.4 < took < FAST, took
    assert_clear(str(caught.value), "1.5 s limit", "retries included")
    assert not caught.value.retryable


# ---------------------------------------------------------------- secrets with control characters


@pytest.mark.parametrize("value, what", [("00abc\ndef-token-value", "line break"),
                                         ("00abc\x1b]52;c;ZXZpbA==\x07def", "escape character"),
                                         ("00abc\rdef-token-value", "carriage return")])
def test_secret_with_control_character_refused_at_secrets_set(value, what, isolated_home):
    proc = timed_odatui("secrets", "set", "okta.api_token", input=value + "\n")
    one_line_exit_2(proc, "Okta API token", what, "refusing")
    for piece in ("00abc", "def-token-value", "ZXZpbA"):
        assert piece not in proc.stdout + proc.stderr


def test_secret_with_control_character_refused_from_env(monkeypatch):
    from odatui.core.secrets import SecretStore

    monkeypatch.setenv("ODATUI_WS1__TENANT_CODE", "TENANT\r\nCODE-1234567890")
    with pytest.raises(OdatuiError) as caught:
        SecretStore(use_keychain=False).get("ws1.tenant_code")
    assert caught.value.exit_code == 2
    assert_clear(str(caught.value), "ODATUI_WS1__TENANT_CODE", "carriage return")
    assert "CODE-1234567890" not in str(caught.value)


def test_env_secret_with_escape_fails_the_step_with_exit_2(tmp_path, isolated_home, sandbox, sandbox_env,
                                                           monkeypatch):
    """Through the real CLI: the preflight that needs the token fails on its input, nothing else runs, and the
    escape sequence (here an OSC 52 clipboard write) never reaches the terminal, the log or the state."""
    import tomli_w

    monkeypatch.setenv("ODATUI_OKTA__API_TOKEN", "00abc\x1b]52;c;ZXZpbA==\x07defghijkl")
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(sandbox.config_dict()))
    proc = timed_odatui("apply", "--yes", "--only", "preflight.okta", "--config", str(config))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "ODATUI_OKTA__API_TOKEN" in proc.stdout and "escape character" in proc.stdout
    written = proc.stdout + proc.stderr + "".join(p.read_text() for p in state_files(isolated_home))
    logs = isolated_home / "xdg_state_home" / "odatui" / "log"
    written += "".join(p.read_text() for p in logs.glob("odatui.log*")) if logs.exists() else ""
    assert "\x1b" not in written and "ZXZpbA" not in written and "defghijkl" not in written


def test_wizard_secret_field_refuses_control_characters():
    from odatui.tui.validators import SecretPresent

    check = SecretPresent("API token", lambda: True)
    assert not check.validate("00abc\x1b]52;c;ZXZpbA==\x07").is_valid
    assert check.validate("00abcdefghijklmnop").is_valid


def test_private_key_keeps_its_line_breaks():
    from odatui.core.secrets import control_character

    pem = "-----BEGIN PRIVATE KEY-----\r\nMIIE\n-----END PRIVATE KEY-----"
    assert control_character("okta.private_key", pem) is None
    assert control_character("okta.private_key", "-----BEGIN\x1b[2J") is not None


@pytest.mark.parametrize("text", ["token 00-split-secret-Zq… (truncated)", "…plit-secret-Zq9x8y7w6v tail",
                                  "head 00-split-secret\n-Zq9x8y7w6v", "a\r00-split-secret-Zq9x8y7w6v\rb"])
def test_redaction_survives_any_split(text):
    from odatui.core.log import redact, register_secret

    register_secret("00-split-secret-Zq9x8y7w6v")
    out = redact(text)
    for piece in ("00-split-secret", "plit-secret-Zq", "Zq9x8y7w6v"):
        assert piece not in out, out


# ---------------------------------------------------------------- writes that destroy


def _answers(tmp_path: Path) -> Path:
    path = tmp_path / "answers.toml"
    path.write_text("[okta]\norg_url = 'https://acme.okta.com'\n")
    return path


def test_bundle_out_onto_the_config_file_refuses_without_force(tmp_path, isolated_home):
    config = _answers(tmp_path)
    before = config.read_bytes()
    proc = timed_odatui("bundle", "--config", str(config), "--out", str(config))
    one_line_exit_2(proc, str(config), "not an odatui support bundle", "--force")
    assert config.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["answers.toml"]  # no temp file either
    # An earlier bundle is ours: replaced without --force. Anything else only with --force.
    out = tmp_path / "support.zip"
    assert timed_odatui("bundle", "--config", str(config), "--out", str(out)).returncode == 0
    assert timed_odatui("bundle", "--config", str(config), "--out", str(out)).returncode == 0
    forced = timed_odatui("bundle", "--config", str(config), "--out", str(config), "--force")
    assert forced.returncode == 0 and config.read_bytes()[:2] == b"PK"


def test_sandbox_write_config_onto_a_folder_leaves_nothing(tmp_path, isolated_home):
    folder = tmp_path / "configs"
    folder.mkdir()
    proc = timed_odatui("sandbox", "--port", "0", "--write-config", str(folder))
    one_line_exit_2(proc, str(folder), "folder")
    assert list(folder.iterdir()) == [] and [p.name for p in tmp_path.iterdir()] == ["configs"]


def test_sandbox_write_config_onto_a_foreign_file_refuses(tmp_path, isolated_home):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    proc = timed_odatui("sandbox", "--port", "0", "--write-config", str(notes))
    one_line_exit_2(proc, str(notes), "not an odatui sandbox config", "--force")
    assert notes.read_text() == "my notes\n"


def test_atomic_write_cleans_up_on_every_error_path(tmp_path):
    from odatui.core.files import atomic_writer

    target = tmp_path / "out.toml"
    with pytest.raises(RuntimeError), atomic_writer(target, what="answers file") as fh:
        fh.write(b"half")
        raise RuntimeError("the caller failed mid-write")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "dir").mkdir()
    with pytest.raises(OdatuiError), atomic_writer(tmp_path / "dir", what="answers file") as fh:
        fh.write(b"x")
    assert [p.name for p in tmp_path.iterdir()] == ["dir"]


# ---------------------------------------------------------------- disk full, read-only folder, unreadable parents


@contextlib.contextmanager
def tmpfs(path: Path, options: str):
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(folder: Path) -> None:
    with contextlib.suppress(OSError), open(folder / "filler", "wb") as fh:
        while True:
            fh.write(b"\0" * 4096)
            fh.flush()


def test_disk_full_while_writing_the_bundle(tmp_path, isolated_home):
    config = _answers(tmp_path)
    with tmpfs(tmp_path / "full", "size=64k") as full:
        _fill(full)
        proc = timed_odatui("bundle", "--config", str(config), "--out", str(full / "support.zip"))
        one_line_exit_2(proc, str(full / "support.zip"), "No space left on device", "free some disk space")
        assert [p.name for p in full.iterdir()] == ["filler"]  # no temp file left behind


def test_disk_full_while_the_sandbox_writes_its_config(tmp_path, isolated_home):
    with tmpfs(tmp_path / "full", "size=64k") as full:
        _fill(full)
        proc = timed_odatui("sandbox", "--port", "0", "--write-config", str(full / "demo.toml"))
        assert proc.returncode == 2, proc.stderr
        assert_clear(proc.stderr, str(full / "demo.toml"), "No space left on device")
        assert [p.name for p in full.iterdir()] == ["filler"]


def test_read_only_state_folder(tmp_path, isolated_home, sandbox, sandbox_env):
    import tomli_w

    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(sandbox.config_dict()))
    with tmpfs(tmp_path / "ro-state", "ro,size=64k") as ro:
        proc = timed_odatui("apply", "--yes", "--config", str(config), env={"XDG_STATE_HOME": str(ro)})
    assert proc.returncode == 2, proc.stderr
    assert_clear(proc.stderr, str(ro), "Read-only file system")


def test_unreadable_parent_of_the_config(tmp_path, isolated_home):
    """A folder on the way that odatui may not search. The tests run as root, which reads everything: the child
    runs without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (setpriv), and the folder belongs to another user."""
    import shutil

    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux)")
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "answers.toml").write_text("[okta]\norg_url = 'https://acme.okta.com'\n")
    os.chown(locked, 65534, 65534)
    os.chmod(locked, 0o700)
    proc = timed_odatui("plan", "--config", str(locked / "answers.toml"),
                        prefix=("setpriv", "--bounding-set=-dac_override,-dac_read_search"))
    one_line_exit_2(proc, str(locked / "answers.toml"), "Permission denied")


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8 \x80", b'{"schema": 1, "target": "x", "steps": [1, 2]}',
                                     b'{"schema": 1, "target": "x", "steps": {"okta.app": {"status": "exploded"}}}',
                                     b'{"schema": 1, "target": "x", "steps": {"okta.app": "succeeded"}}'],
                         ids=["not-utf8", "steps-a-list", "unknown-status", "record-a-string"])
def test_broken_state_file_is_set_aside_and_rebuilt(content, tmp_path, isolated_home, sandbox, sandbox_env):
    import tomli_w

    from odatui.core.config import parse_config

    data = sandbox.config_dict()
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(data))
    key = parse_config(data, source="sandbox").target_key()
    runs = isolated_home / "xdg_state_home" / "odatui" / "runs"
    runs.mkdir(parents=True)
    (runs / f"{key}.json").write_bytes(content)
    proc = timed_odatui("apply", "--yes", "--only", "preflight.okta", "--config", str(config))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    kept = list(runs.glob(f"{key}.unreadable-*.json"))
    assert len(kept) == 1 and kept[0].read_bytes() == content  # set aside as it was, never overwritten
    import json

    assert json.loads((runs / f"{key}.json").read_text())["steps"]["preflight.okta"]["status"] == "succeeded"


# ---------------------------------------------------------------- malformed URLs are refused, never rewritten


@pytest.mark.parametrize("url, must", [
    ("https://acme.okta.com\n.evil.example", "U+000A"),
    ("https://acme\t.okta.com", "U+0009"),
    ("https://ac\x00me.okta.com", "U+0000"),
    ("https://acme.okta.com:0", "port"),
    ("https://acme.okta.com:", "port"),
    ("https://acme.okta.com/\r\nX-Injected: 1", "U+000D"),
])
@pytest.mark.parametrize("field", [("okta", "org_url"), ("ws1", "api_url")])
def test_malformed_url_is_refused_not_rewritten(url, must, field):
    table, key = field
    if table == "ws1":
        url = url.replace("acme.okta.com", "as1234.awmdm.com")
    with pytest.raises(ConfigError) as caught:
        parse_config({table: {key: url}}, source="answers.toml")
    assert caught.value.exit_code == 2
    assert_clear(str(caught.value), f"{table}.{key}", must)
