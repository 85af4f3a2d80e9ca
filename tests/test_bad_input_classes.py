"""The bad-input corpus, second pass (issue 27): one case per class the hostile review found ending in "unexpected
error", a traceback or the wrong exit. Each must end in one clear line naming the thing and the fix, with the
documented exit code; timed_odatui keeps every CLI case under its time limit. Hostile HTTP answers are in
test_hostile_answers.py, planted links in test_bundle.py and test_locks.py, the edited ledger in
test_ledger_markers.py."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from rollout import demo_factory  # noqa: F401 - demo_factory is a fixture

from odatui.core.config import parse_config
from odatui.core.errors import ConfigError, PackageError, UsageError
from tests.pkgs import Comp, component_pkg, needs_bsdtar, product_pkg
from tests.test_bad_input import _fill, assert_clear, one_line_exit_2, timed_odatui, tmpfs

NOT_SAID = ("unexpected error", "Traceback")


def clean(text: str) -> None:
    for bad in NOT_SAID:
        assert bad not in text, text


# ------------------------------------------------------------------------------------------ crafted packages


@needs_bsdtar
def test_a_table_of_contents_that_inflates_past_its_header_is_one_line(tmp_path):
    """The `_TooLarge` regression: the TOC's announced size is smaller than what it inflates to."""
    from odatui.macos.pkg import read_package

    path = product_pkg(tmp_path / "OktaVerify.pkg")
    raw = bytearray(path.read_bytes())
    struct.pack_into(">Q", raw, 16, 64)  # toc_length_uncompressed: 64 bytes (it is several KB)
    path.write_bytes(bytes(raw))
    with pytest.raises(PackageError) as caught:
        read_package(path)
    assert_clear(str(caught.value), str(path), "table of contents", "64 bytes")
    clean(str(caught.value))


@needs_bsdtar
def test_a_5000_digit_version_is_one_line(tmp_path):
    from odatui.macos.pkg import read_package

    path = product_pkg(tmp_path / "OktaVerify.pkg", Comp(version="9" * 5000))
    with pytest.raises(PackageError) as caught:
        read_package(path)
    assert_clear(str(caught.value), "version is not a version", "5,000 characters")


@needs_bsdtar
async def test_a_package_without_its_distribution_is_refused_by_the_step(tmp_path):
    from odatui.core.secrets import SecretStore
    from odatui.steps.base import Context
    from odatui.steps.package import PackagePreflight

    path = component_pkg(tmp_path / "OktaVerify.pkg", Comp(version="9.52.0"))
    config = parse_config({"rollout": {"package": str(path), "macos_min": 14}})
    with pytest.raises(PackageError) as caught:
        await PackagePreflight().inspect(Context(config, SecretStore(use_keychain=False)))
    assert_clear(str(caught.value), str(path), "no Distribution", "as downloaded")


# ------------------------------------------------------------------------------------------ files and permissions


def test_a_file_name_too_long(tmp_path, isolated_home):
    long = tmp_path / ("a" * 300 + ".toml")
    proc = timed_odatui("plan", "--config", str(long))
    one_line_exit_2(proc, "File name too long")
    out = timed_odatui("bundle", "--config", str(long), "--out", str(tmp_path / ("b" * 300 + ".zip")))
    assert out.returncode == 2 and "File name too long" in out.stderr, out.stderr
    clean(proc.stderr + out.stderr)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root to run as nobody")
def test_a_config_this_user_may_not_read(tmp_path):
    folder = Path("/tmp") / f"odatui-perm-{os.getpid()}"
    folder.mkdir(mode=0o755, exist_ok=True)
    config = folder / "answers.toml"
    config.write_text("[okta]\norg_url = 'https://acme.okta.com'\n")
    config.chmod(0o600)  # root's; nobody may not read it
    try:
        proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                               "odatui", "plan", "--config", str(config)], capture_output=True, text=True,
                              timeout=30, cwd="/tmp", env={**os.environ, "HOME": str(folder),
                                                           "XDG_STATE_HOME": str(folder / "state"),
                                                           "XDG_CACHE_HOME": str(folder / "cache")})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    assert proc.returncode == 2, proc.stderr
    assert "cannot read the config file" in proc.stderr and "Permission denied" in proc.stderr, proc.stderr
    clean(proc.stderr)


def test_the_disk_fills_up_while_a_run_writes_its_state(tmp_path, isolated_home, demo_factory,  # noqa: F811
                                                       sandbox_env):
    config = demo_factory().config_path
    with tmpfs(tmp_path / "state", "size=64k") as state:
        (state / "odatui" / "runs").mkdir(parents=True)
        _fill(state)
        proc = timed_odatui("apply", "--yes", "--config", str(config), env={"XDG_STATE_HOME": str(state)})
    said = proc.stdout + proc.stderr
    assert proc.returncode == 2, said
    assert "No space left on device" in said and "free some disk space" in said, said
    assert "failed on its input (config or package)" not in said, said
    clean(said)


# ------------------------------------------------------------------------------------------ config values


@pytest.mark.parametrize("data,must", [
    pytest.param({"ws1": {"create_smart_groups": "yes"}}, ("create_smart_groups", "true or false", "'yes'"),
                 id="bool-yes"),
    pytest.param({"ws1": {"create_smart_groups": 1}}, ("create_smart_groups", "true or false"), id="bool-1"),
    pytest.param({"okta": {"scep_url": "https://svc:hunter2@acme.okta.com/scep"}},
                 ("scep_url", "user name or password", "every Mac"), id="scep-url-credentials"),
    pytest.param({"okta": {"org_url": "https://0x7f.0.0.1"}}, ("org_url", "0x7f.0.0.1", "host name"),
                 id="host-hex"),
    pytest.param({"ws1": {"api_url": "https://2130706433:8443"}}, ("api_url", "2130706433"), id="host-decimal"),
    pytest.param({"okta": {"org_url": "https://127.1"}}, ("org_url", "127.1"), id="host-short"),
    pytest.param({"rollout": {"macos_min": 15, "psso": {"offline_grace_period": 2 ** 70}}},
                 ("offline_grace_period", "largest number"), id="psso-integer-overflow"),
])
def test_a_config_value_that_must_be_refused(data, must):
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source="answers.toml")
    assert caught.value.exit_code == 2
    assert_clear(str(caught.value), "answers.toml", *must)
    assert "hunter2" not in str(caught.value)


def test_an_env_override_that_cannot_be_read_names_the_variable(tmp_path, isolated_home):
    proc = timed_odatui("plan", "--config", str(tmp_path / "none.toml"),
                        env={"ODATUI_WS1__CREATE_SMART_GROUPS": "yes", "ODATUI_OKTA__ORG_URL": "https://acme.okta.com"})
    one_line_exit_2(proc, "ODATUI_WS1__CREATE_SMART_GROUPS", "true or false")


def test_an_empty_config_is_exit_2_not_4(tmp_path, isolated_home):
    empty = tmp_path / "answers.toml"
    empty.write_text("")
    proc = timed_odatui("plan", "--config", str(empty))
    one_line_exit_2(proc, str(empty), "names no tenant", "org_url")


# ------------------------------------------------------------------------------------------ secrets


@pytest.mark.parametrize("name,value", [("okta.api_token", "00ab\u00f6cdef"), ("ws1.tenant_code", "t\u2019code")])
def test_a_non_ascii_header_secret_is_refused_without_echoing_it(name, value):
    from odatui.core.secrets import check_secret

    with pytest.raises(UsageError) as caught:
        check_secret(name, value, source="ODATUI_X")
    assert_clear(str(caught.value), name, "non-ASCII", "ODATUI_X")
    assert value not in str(caught.value)


def test_a_fake_pem_private_key_is_one_line(tmp_path, isolated_home, demo_factory, sandbox_env):  # noqa: F811
    session = demo_factory()
    data = session.sandbox.config_dict()
    data["rollout"]["package"] = str(session.package)
    data["okta"].update({"auth": "service_app", "service_app_client_id": "0oa1234567890abcdefg"})
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(data))
    fake = "-----BEGIN PRIVATE KEY-----\nAAAAnotakey\n-----END PRIVATE KEY-----\n"
    proc = timed_odatui("plan", "--config", str(config),
                        env={"ODATUI_OKTA__PRIVATE_KEY": fake})
    said = proc.stdout + proc.stderr
    assert "not an unencrypted PEM private key" in said and "odatui secrets set okta.private_key" in said, said
    assert "AAAAnotakey" not in said
    clean(said)


# ------------------------------------------------------------------------------------------ server answers


def test_a_cross_origin_redirect_is_named_not_reported_as_bad_json(tmp_path, isolated_home, demo_factory,  # noqa: F811
                                                                  sandbox_env):
    import httpx

    from odatui.core.http import ssl_context

    session = demo_factory()
    sandbox = session.sandbox
    with httpx.Client(verify=ssl_context(str(sandbox.ca_path)), timeout=10) as c:
        c.post(f"{sandbox.url}/_sandbox/faults", json={
            "method": "GET", "path": "/api/system/groups/search", "status": 302, "times": None,
            "headers": {"Location": "https://login.evil.example/steal"}}).raise_for_status()
    config = session.config_path
    proc = timed_odatui("plan", "--config", str(config))
    said = proc.stdout + proc.stderr
    assert "redirect to another origin (https://login.evil.example)" in said, said
    assert "not valid JSON" not in said and "steal" not in said
    clean(said)


@pytest.mark.parametrize("kind", ["host-name-mismatch", "expired"])
async def test_the_tls_hint_fits_the_failure(kind, tmp_path):
    """Not "set ca_bundle" for a certificate of another host or one past its dates: the CA is trusted there."""
    import datetime
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import trustme

    from odatui.core.http import NetworkError, make_client, send

    ca = trustme.CA()
    if kind == "expired":
        cert = ca.issue_cert("127.0.0.1", not_after=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc),
                             not_before=datetime.datetime(2019, 1, 1, tzinfo=datetime.timezone.utc))
    else:
        cert = ca.issue_cert("other.example.com")
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    class Quiet(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        async with make_client(f"https://127.0.0.1:{server.server_address[1]}", ca_bundle=str(ca_file)) as client:
            with pytest.raises(NetworkError) as caught:
                await send(client, "GET", "/")
    finally:
        server.shutdown()
    hint = caught.value.hint or ""
    assert "ca_bundle cannot fix this" in hint, (caught.value.message, hint)
    assert ("another host name" if kind == "host-name-mismatch" else "clock") in hint


# ------------------------------------------------------------------------------------------ the ledger


def test_a_ledger_id_that_is_not_a_number_is_named_and_nothing_is_removed(demo_factory, sandbox_env):  # noqa: F811
    import json

    session = demo_factory()
    assert timed_odatui("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    runs = Path(os.environ["XDG_STATE_HOME"]) / "odatui" / "runs"
    path = next(p for p in runs.glob("*.json") if not p.is_symlink())
    state = json.loads(path.read_text())
    state["steps"]["ws1.profile"]["created"][0]["id"] = "abc"
    path.write_text(json.dumps(state))
    before = session.sandbox.state()["ws1"]
    proc = timed_odatui("remove", "--yes", "--config", str(session.config_path))
    said = proc.stdout + proc.stderr
    assert proc.returncode == 1, said
    assert "(id abc): cannot check: the run state's record of it is damaged" in said, said
    assert "Nothing was changed" in said and session.sandbox.state()["ws1"] == before
    clean(said)


def test_an_oversized_run_state_is_set_aside_never_blocking(tmp_path):
    from odatui.core.state import STATE_LIMIT, StateStore

    store = StateStore("okta-x__ws1-y", tmp_path)
    with open(store.path, "wb") as fh:  # sparse: 17 MiB without writing them
        fh.truncate(STATE_LIMIT + (1 << 20))
    state = store.load()
    assert state.steps == {} and not store.path.exists()
    (note,) = state.notes
    assert "16 MiB limit for a run state" in note and "unreadable" in note
    kept = list(tmp_path.glob("okta-x__ws1-y.unreadable-*.json"))
    assert len(kept) == 1 and kept[0].stat().st_size == STATE_LIMIT + (1 << 20)


def test_the_wizard_never_writes_an_answers_file_odatui_would_refuse(tmp_path):
    from odatui.core.answers import write_answers
    from odatui.core.config import load_config

    path = tmp_path / "answers.toml"
    path.write_text("[okta]\norg_url = 'https://acme.okta.com'\n")
    huge = [f"Group {n:07d} of the whole company, pasted by mistake" for n in range(40_000)]
    with pytest.raises(UsageError) as caught:
        write_answers(path, {("okta", "groups"): huge})
    assert_clear(str(caught.value), "1 MiB limit", str(path), "was not changed")
    assert load_config(path).okta.org_url == "https://acme.okta.com"  # still the file it was, still readable
