"""Secrets through a real Secret Service (gnome-keyring on a private D-Bus), env overrides, and the probe's three
outcomes: available, no backend (keyring's fail backend) and locked (a locked collection, a keyring that cannot
prompt, and a Secret Service that never answers)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from keyring_session import KeyringSession, keyring_session, point_at, real_keyring, require_binaries  # noqa: F401

from odatui.core.errors import SecretsUnavailable, UsageError
from odatui.core.secrets import PROBE_TIMEOUT, SECRETS, KeychainState, SecretStore, probe

REPO = Path(__file__).resolve().parents[1]
TOKEN = "00aBcD-real-okta-token-9f8e7d6c5b4a"
ORG = "acme.okta.com"
MARGIN = 2.0  # seconds on top of the probe's limit: a bound on a hang, not a speed test


def lookup(name: str, target: str) -> str | None:
    """Read an entry with libsecret's own tool, not through odatui or keyring."""
    if shutil.which("secret-tool") is None:
        pytest.skip("install libsecret-tools (secret-tool) to read the entry independently")
    out = subprocess.run(["secret-tool", "lookup", "service", "odatui", "username", f"{name}@{target}"],
                         capture_output=True, text=True, timeout=10)
    return out.stdout if out.returncode == 0 else None


def run_cli(*args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odatui", *args], input=stdin, capture_output=True, text=True,
                          cwd=REPO, env=os.environ.copy(), timeout=timeout)


# --- the real Secret Service -------------------------------------------------------------------------------------

@pytest.mark.keychain
def test_set_get_delete_through_the_real_secret_service(real_keyring):
    store = SecretStore()
    assert store.probe().state is KeychainState.AVAILABLE
    assert "SecretService" in store.probe().backend

    store.set("okta.api_token", TOKEN, ORG)
    assert store.get("okta.api_token", ORG) == TOKEN
    assert lookup("okta.api_token", ORG) == TOKEN  # really in gnome-keyring
    # One entry per target: another org has none.
    assert SecretStore().get("okta.api_token", "acme.oktapreview.com") is None

    assert store.delete("okta.api_token", ORG) is True
    assert store.get("okta.api_token", ORG) is None
    assert lookup("okta.api_token", ORG) is None
    assert store.delete("okta.api_token", ORG) is False


@pytest.mark.keychain
def test_env_var_overrides_the_keychain(real_keyring, monkeypatch):
    store = SecretStore()
    store.set("ws1.password", "keychain-password-1234", "as1234.awmdm.com")
    monkeypatch.setenv("ODATUI_WS1__PASSWORD", "env-password-5678")
    assert SecretStore().get("ws1.password", "as1234.awmdm.com") == "env-password-5678"
    monkeypatch.delenv("ODATUI_WS1__PASSWORD")
    assert SecretStore().get("ws1.password", "as1234.awmdm.com") == "keychain-password-1234"
    store.delete("ws1.password", "as1234.awmdm.com")


@pytest.mark.keychain
def test_cli_secrets_set_reads_stdin_and_status_shows_keychain(real_keyring, tmp_path, monkeypatch):
    config = tmp_path / "odatui.toml"
    config.write_text(f'[okta]\norg_url = "https://{ORG}"\n[ws1]\napi_url = "https://as1234.awmdm.com"\n')

    done = run_cli("secrets", "set", "okta.api_token", "--config", str(config), stdin=TOKEN + "\n")
    assert done.returncode == 0, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    assert lookup("okta.api_token", ORG) == TOKEN

    status = run_cli("secrets", "status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("keychain: available")
    rows = {line.split()[0]: line.split()[1] for line in status.stdout.splitlines()[1:] if line.strip()}
    assert rows["okta.api_token"] == "keychain"
    assert rows["ws1.password"] == "missing"
    assert TOKEN not in status.stdout

    monkeypatch.setenv("ODATUI_WS1__TENANT_CODE", "tenant-code-from-env")
    rows = {line.split()[0]: line.split()[1]
            for line in run_cli("secrets", "status", "--config", str(config)).stdout.splitlines()[1:] if line.strip()}
    assert rows["ws1.tenant_code"] == "env"

    gone = run_cli("secrets", "delete", "okta.api_token", "--config", str(config))
    assert gone.returncode == 0 and "deleted" in gone.stdout
    assert lookup("okta.api_token", ORG) is None


# --- no backend --------------------------------------------------------------------------------------------------

def test_probe_without_a_backend_says_what_to_do():
    # conftest puts keyring's fail backend in place for unmarked tests (what an SSH session on Linux gets).
    result = probe()
    assert result.state is KeychainState.NO_BACKEND
    assert "dbus-run-session" in result.fix and "gnome-keyring-daemon --unlock" in result.fix
    for env, _ in SECRETS.values():
        assert env in result.fix


def test_without_a_backend_env_vars_still_work_and_storing_refuses(monkeypatch):
    monkeypatch.setenv("ODATUI_OKTA__API_TOKEN", TOKEN)
    store = SecretStore()
    assert store.get("okta.api_token", ORG) == TOKEN
    assert store.get("ws1.password", "as1.awmdm.com") is None
    with pytest.raises(SecretsUnavailable) as err:
        store.set("ws1.password", "pw-1234", "as1.awmdm.com")
    assert err.value.exit_code == 4 and "ODATUI_WS1__PASSWORD" in err.value.hint
    with pytest.raises(SecretsUnavailable) as err:
        store.require("ws1.password", "as1.awmdm.com")
    assert "odatui secrets set ws1.password" in err.value.hint


def test_unknown_secret_name_is_a_usage_error():
    with pytest.raises(UsageError) as err:
        SecretStore().get("okta.apitoken")
    assert "okta.api_token" in err.value.hint


def test_cli_set_without_a_backend_exits_4_and_never_echoes(tmp_path):
    config = tmp_path / "odatui.toml"
    config.write_text(f'[okta]\norg_url = "https://{ORG}"\n')
    done = run_cli("secrets", "set", "okta.api_token", "--config", str(config), stdin=TOKEN)
    assert done.returncode == 4
    assert "Traceback" not in done.stderr and TOKEN not in done.stdout + done.stderr
    assert done.stderr.startswith("odatui: the OS keychain is unavailable (no backend")


# --- locked ------------------------------------------------------------------------------------------------------

@pytest.fixture
def session_factory(tmp_path_factory):
    require_binaries()
    started: list[KeyringSession] = []

    def start(**kwargs) -> KeyringSession:
        session = KeyringSession(tmp_path_factory.mktemp("kr"), **kwargs).start()
        started.append(session)
        return session

    yield start
    for session in started:
        session.stop()


def timed_probe() -> tuple[object, float]:
    began = time.monotonic()
    result = probe()
    return result, time.monotonic() - began


@pytest.mark.keychain
def test_probe_reports_a_locked_collection(session_factory, monkeypatch):
    session = session_factory()
    session.lock_default()
    point_at(session, monkeypatch)
    result, elapsed = timed_probe()
    assert result.state is KeychainState.LOCKED, result
    assert elapsed < PROBE_TIMEOUT + MARGIN
    assert "locked" in result.fix and "gnome-keyring-daemon --unlock" in result.fix
    with pytest.raises(SecretsUnavailable):
        SecretStore().set("okta.api_token", TOKEN, ORG)


@pytest.mark.keychain
def test_probe_reports_a_keyring_that_was_never_unlocked_as_locked(session_factory, monkeypatch):
    # gnome-keyring started without --unlock (e.g. over SSH): it would have to prompt, and nobody can answer.
    point_at(session_factory(unlock=False), monkeypatch)
    result, elapsed = timed_probe()
    assert result.state is KeychainState.LOCKED, result
    assert elapsed < PROBE_TIMEOUT + MARGIN


SILENT_SERVICE = """
import sys, time
from jeepney import DBusAddress, new_method_call
from jeepney.io.blocking import open_dbus_connection
conn = open_dbus_connection(sys.argv[1])
bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
conn.send_and_get_reply(new_method_call(bus, "RequestName", "su", ("org.freedesktop.secrets", 4)))
print("owned", flush=True)
time.sleep(600)  # owns the name and never answers a call: a keychain stuck behind an unlock prompt
"""


@pytest.mark.keychain
def test_probe_gives_up_on_a_secret_service_that_never_answers(session_factory, monkeypatch):
    session = session_factory()
    session._keyring.terminate()  # keep the bus, replace the keyring with one that hangs
    session._keyring.wait(5)
    hang = subprocess.Popen([sys.executable, "-c", SILENT_SERVICE, session.address], stdout=subprocess.PIPE, text=True)
    try:
        assert hang.stdout.readline().strip() == "owned"
        point_at(session, monkeypatch)
        result, elapsed = timed_probe()
        assert result.state is KeychainState.LOCKED, result
        assert "did not answer" in result.detail
        assert PROBE_TIMEOUT - 0.5 < elapsed < PROBE_TIMEOUT + MARGIN
    finally:
        hang.kill()
        hang.wait(5)


# --- the scan: no secret in any file odatui wrote ---------------------------------------------------------------

@pytest.mark.keychain
def test_no_secret_value_in_any_file_after_a_run(real_keyring, sandbox, monkeypatch):
    import base64
    import importlib.util
    import logging

    import httpx

    from odatui.core.config import parse_config, save_config
    from odatui.core.http import make_client, send
    from odatui.core.log import get_logger, setup_logging
    from odatui.core.paths import default_config_path
    from odatui.sandbox.server import Sandbox
    from odatui.core.state import SUCCEEDED, StateStore

    keychain_token, keychain_password = "kc-okta-token-Zq81mWn2", "kc-ws1-Passw0rd-x7Y"
    env_secrets = Sandbox.secret_env()
    secrets = [keychain_token, keychain_password, *env_secrets.values()]
    config = parse_config(sandbox.config_dict(), source="sandbox")
    config_path = save_config(config)
    assert config_path == default_config_path()

    # 1. Secrets stored through the CLI, the value on stdin; status read back.
    for name, value in (("okta.api_token", keychain_token), ("ws1.password", keychain_password)):
        done = run_cli("secrets", "set", name, stdin=value)
        assert done.returncode == 0, done.stderr
    assert "keychain" in run_cli("secrets", "status").stdout

    # 2. A run in this process: secrets read (keychain, then env), used in real HTTPS calls, logged carelessly.
    log_path = setup_logging(logging.DEBUG)
    store = SecretStore()
    okta_host = config.okta.host
    assert store.get("okta.api_token", okta_host) == keychain_token
    for key, value in env_secrets.items():
        monkeypatch.setenv(key, value)
    assert store.get("okta.api_token", okta_host) == env_secrets["ODATUI_OKTA__API_TOKEN"]
    tenant = store.require("ws1.tenant_code", okta_host)
    monkeypatch.delenv("ODATUI_WS1__PASSWORD")  # this one from the keychain, as stored above
    assert store.require("ws1.password", config.ws1.api_url.removeprefix("https://")) == keychain_password
    monkeypatch.setenv("ODATUI_WS1__PASSWORD", env_secrets["ODATUI_WS1__PASSWORD"])
    log = get_logger("scan")
    basic = base64.b64encode(f"sandbox-admin:{keychain_password}".encode()).decode()
    secrets.append(basic)

    async def calls() -> None:
        headers = {"Authorization": f"SSWS {keychain_token}", "aw-tenant-code": tenant}
        async with make_client(sandbox.url, ca_bundle=config.okta.ca_bundle, headers=headers) as client:
            response = await send(client, "GET", "/api/v1/groups")
            log.debug("GET /api/v1/groups -> %s with %s", response.status_code, response.request.headers)
            response = await send(client, "GET", "/API/system/info", headers={"Authorization": f"Basic {basic}"})
            log.debug("request headers %s", dict(response.request.headers))

    import asyncio

    asyncio.run(calls())
    for value in secrets[:-1]:
        log.info("using %s", value)
    try:
        raise httpx.HTTPStatusError(f"401 for token {keychain_token}", request=httpx.Request("GET", sandbox.url),
                                    response=httpx.Response(401))
    except httpx.HTTPStatusError:
        log.exception("okta refused")
    with StateStore(config.target_key()) as state_store:
        state = state_store.load()
        state.step("okta.app").status = SUCCEEDED
        state.step("okta.app").outputs = {"client_id": "0oaABCDEFGHIJ1234567"}
        state_store.save(state)

    # 3. The real engine, when it has landed: plan and apply against the sandbox, secrets from env and keychain.
    if importlib.util.find_spec("odatui.cli.runner") is not None:
        for args in (("plan",), ("apply", "--yes")):
            done = run_cli(*args, timeout=300)
            assert "Traceback" not in done.stderr, done.stderr

    for handler in logging.getLogger("odatui").handlers:
        handler.flush()
    roots = [Path(os.environ[v]) for v in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")]
    files = [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]
    assert config_path in files and log_path in files and state_store.path in files
    assert log_path.stat().st_size > 0
    leaks = [(str(p), s) for p in files for s in secrets if s.encode() in p.read_bytes()]
    assert leaks == [], "\n".join(map(str, leaks))


def test_probe_gives_up_on_a_session_bus_that_never_answers(tmp_path, monkeypatch):
    """A D-Bus address whose socket accepts and then says nothing (a wedged bus): bounded, reported, no hang."""
    import socket

    path = tmp_path / "bus"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(8)
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={path}")
        monkeypatch.delenv("PYTHON_KEYRING_BACKEND")
        result, elapsed = timed_probe()
        # jeepney gives up on the handshake after 1 s, so keyring finds no usable backend: either way, an answer
        # in time that is not "available".
        assert result.state in (KeychainState.NO_BACKEND, KeychainState.LOCKED), result
        assert elapsed < PROBE_TIMEOUT + MARGIN
    finally:
        listener.close()
