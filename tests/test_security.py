"""The security pass: TLS is verified (an untrusted certificate is refused with a clear message, the right
ca_bundle is accepted), http:// is refused, no secret reaches any file odatui writes (config, state, logs, the
support bundle, exports, snapshots, tmux captures), secrets never appear in process arguments, and `odatui serve`
binds only to loopback.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FAKE_TOKEN = "00fakeRegisteredToken-do-not-leak-7f3a9c"  # registered like a real token would be


def sandbox_secrets() -> list[str]:
    from odatui.sandbox import server

    return [server.OKTA_TOKEN, server.WS1_PASSWORD, server.WS1_TENANT_CODE, server.WS1_OAUTH_SECRET,
            server.OKTA_SCEP_CHALLENGE]


def odatui(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odatui", *args], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture
def wrong_ca(tmp_path) -> str:
    """A real CA that did not sign the sandbox's certificate (what a TLS-inspecting proxy's CA looks like)."""
    import trustme

    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


# ------------------------------------------------------------------------------------------ TLS


@pytest.mark.parametrize("trust", ["system-store", "wrong-ca"])
async def test_ws1_client_refuses_an_untrusted_certificate(trust, sandbox, wrong_ca):
    from odatui.core.http import RetryPolicy
    from odatui.sandbox.server import WS1_GROUP_ID, WS1_PASSWORD, WS1_TENANT_CODE, WS1_USER
    from odatui.mdm.ws1.api.client import Ws1Client, _BasicAuth

    ca = None if trust == "system-store" else wrong_ca
    async with Ws1Client(sandbox.url, _BasicAuth(WS1_USER, WS1_PASSWORD, WS1_TENANT_CODE), ca_bundle=ca,
                         policy=RetryPolicy(attempts=2, base=0.01)) as client:
        with pytest.raises(Exception) as caught:
            await client.find_org_group(WS1_GROUP_ID)
    text = str(caught.value)
    assert "certificate" in text.lower() and "not trusted" in text, text
    assert "ca_bundle" in text and "never turn verification off" in text
    assert caught.value.retryable is False  # retrying cannot fix trust
    assert sandbox.state()["requests_total"] == 0, "no request may reach the server over an untrusted connection"


async def test_ws1_client_accepts_the_right_ca_bundle(sandbox):
    from odatui.sandbox.server import WS1_GROUP_ID, WS1_PASSWORD, WS1_TENANT_CODE, WS1_USER
    from odatui.mdm.ws1.api.client import Ws1Client, _BasicAuth

    async with Ws1Client(sandbox.url, _BasicAuth(WS1_USER, WS1_PASSWORD, WS1_TENANT_CODE),
                         ca_bundle=str(sandbox.ca_path)) as client:
        group = await client.find_org_group(WS1_GROUP_ID)
    assert group is not None and group.group_id == WS1_GROUP_ID


@pytest.mark.parametrize("trust", ["system-store", "wrong-ca"])
async def test_okta_client_refuses_an_untrusted_certificate(trust, sandbox, wrong_ca):
    from odatui.core.http import RetryPolicy
    from odatui.okta.client import OktaClient
    from odatui.sandbox.server import OKTA_TOKEN

    ca = None if trust == "system-store" else wrong_ca
    async with OktaClient(sandbox.url, api_token=OKTA_TOKEN, ca_bundle=ca,
                          policy=RetryPolicy(attempts=2, base=0.01)) as client:
        with pytest.raises(Exception) as caught:
            await client.org_metadata()
    text = str(caught.value)
    assert "not trusted" in text and "ca_bundle" in text, text
    assert OKTA_TOKEN not in text
    assert sandbox.state()["requests_total"] == 0


async def test_okta_client_accepts_the_right_ca_bundle(sandbox):
    from odatui.okta.client import OktaClient
    from odatui.sandbox.server import OKTA_TOKEN

    async with OktaClient(sandbox.url, api_token=OKTA_TOKEN, ca_bundle=str(sandbox.ca_path)) as client:
        meta = await client.org_metadata()
    assert meta.get("pipeline") == "idx"


async def test_preflight_step_reports_untrusted_tls_as_a_failed_step(sandbox, sandbox_env, wrong_ca):
    from odatui.core.config import parse_config
    from odatui.engine.scheduler import Engine
    from odatui.core.secrets import SecretStore
    from odatui.core.state import StateStore
    from odatui.steps.okta import STEPS

    data = sandbox.config_dict()
    data["okta"]["ca_bundle"] = wrong_ca
    config = parse_config(data)
    step = next(s for s in STEPS if s.id == "preflight.okta")
    engine = Engine(config, SecretStore(use_keychain=False), StateStore(config.target_key()), steps=[step],
                    retry_limit=1, retry_backoff=(0.01, 0.02))
    result = await engine.run()
    assert result.exit_code == 1 and result.summary["preflight.okta"] == "failed"
    record = engine.state.steps["preflight.okta"]
    assert "not trusted" in (record.last_error or "") and "ca_bundle" in (record.hint or "")


@pytest.mark.parametrize("field,url", [
    ("okta.org_url", "http://acme.okta.com"),
    ("ws1.api_url", "http://as135.awmdm.com"),
    ("ws1.oauth_token_url", "http://na.uemauth.workspaceone.com/connect/token"),
])
def test_plain_http_urls_are_refused(field, url):
    from odatui.core.config import parse_config
    from odatui.core.errors import ConfigError

    table, name = field.split(".")
    with pytest.raises(ConfigError) as caught:
        parse_config({table: {name: url}})
    assert "must use https" in str(caught.value) and field in str(caught.value)


def test_plain_http_org_url_is_refused_by_the_cli(tmp_path):
    config = tmp_path / "answers.toml"
    config.write_text("[okta]\norg_url = 'http://acme.okta.com'\n")
    command = ["plan"]
    proc = odatui(*command, "--config", str(config))
    assert proc.returncode == 2
    assert "must use https" in proc.stderr and "Traceback" not in proc.stderr


def test_http_factory_never_turns_verification_off():
    import ssl

    from odatui.core.http import make_client, ssl_context

    ctx = ssl_context(None)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    source = (REPO / "odatui").rglob("*.py")
    offenders = [str(p.relative_to(REPO)) for p in source
                 if "verify=False" in p.read_text(encoding="utf-8") or "CERT_NONE" in p.read_text(encoding="utf-8")]
    assert offenders == [], f"TLS verification turned off in {offenders}"
    assert make_client("https://example.invalid")._transport is not None


# ------------------------------------------------------------------------------------------ redaction scan


def _scan(root: Path, secrets: list[str]) -> list[str]:
    """Every file under `root` (zip members too) that contains any secret, as 'path: secret'."""
    hits = []
    if not root.exists():
        return hits
    for path in [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        blobs = [(str(path), data)]
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                blobs += [(f"{path}!{name}", zf.read(name)) for name in zf.namelist()]
        for where, blob in blobs:
            for secret in secrets:
                if secret.encode() in blob:
                    hits.append(f"{where}: {secret[:6]}…")
    return hits


def _written_dirs(home: Path) -> list[Path]:
    return [home / d for d in ("xdg_config_home", "xdg_state_home", "xdg_cache_home", "xdg_data_home")]


async def test_no_secret_in_any_file_after_a_full_run_and_bundle(tmp_path, isolated_home):
    from odatui.cli.demo import start_demo
    from odatui.engine.scheduler import Engine
    from odatui.mdm import run_order
    from odatui.service.profiles import export_from_values
    from odatui.core.log import get_logger, register_secret, setup_logging
    from odatui.core.state import StateStore

    setup_logging()
    register_secret(FAKE_TOKEN)
    get_logger("test").info("a registered token must be removed from the log: %s", FAKE_TOKEN)
    session = await asyncio.to_thread(start_demo, psso_app="present")
    try:
        engine = Engine(session.config, session.secrets, StateStore(session.config.target_key()),
                        steps=run_order(session.config))
        result = await engine.run()
        assert result.exit_code == 0, result.summary
        client_id = engine.state.outputs()["okta.app"]["client_id"]
        export_dir = tmp_path / "export"
        export_from_values(session.config.okta.org_url, client_id, session.config.rollout.macos_min, "",
                           export_dir, None, None)
        # The support bundle, through the real CLI (its own process reads the same dirs).
        bundle = tmp_path / "support.zip"
        proc = await asyncio.to_thread(
            odatui, "bundle", "--out", str(bundle), "--config", str(session.config_path),
            env={**{k: v for k, v in os.environ.items()}, "ODATUI_OKTA__API_TOKEN": sandbox_secrets()[0]})
        assert proc.returncode == 0, proc.stderr
        assert zipfile.is_zipfile(bundle)
        secrets = [*sandbox_secrets(), FAKE_TOKEN]
        scanned = [*_written_dirs(isolated_home), export_dir, bundle, session.config_path]
        hits = [hit for root in scanned for hit in _scan(root, secrets)]
        assert hits == [], hits
        assert (proc.stdout + proc.stderr).count(sandbox_secrets()[0]) == 0
    finally:
        await asyncio.to_thread(session.close)


def test_scep_challenge_only_in_the_0600_export_files_never_on_the_terminal(tmp_path, sandbox, isolated_home):
    """`odatui plan` and `odatui export` with the Device Access SCEP secret key in the environment: the key reaches
    the exported files that must hold it (0600), and no terminal line, log, state file or other export file."""
    import tomli_w

    from odatui.sandbox.server import OKTA_SCEP_CHALLENGE, Sandbox

    data = sandbox.config_dict()
    data["okta"]["client_id"] = "0oa" + "b" * 17
    data["okta"]["auth"] = "none"
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(data))
    env = {**Sandbox.secret_env(), "ODATUI_OKTA__SCEP_CHALLENGE": OKTA_SCEP_CHALLENGE}
    out_dir = tmp_path / "export"
    exported = odatui("export", "--out", str(out_dir), "--config", str(config), env=env)
    assert exported.returncode == 0, exported.stderr
    planned = odatui("plan", "--config", str(config), env=env)
    assert "Traceback" not in planned.stderr
    for proc in (exported, planned):
        assert OKTA_SCEP_CHALLENGE not in proc.stdout + proc.stderr
    holding = sorted(p.name for p in out_dir.iterdir() if OKTA_SCEP_CHALLENGE.encode() in p.read_bytes())
    assert holding and all("0600" in line for line in exported.stdout.splitlines() if any(h in line for h in holding))
    assert all((out_dir / name).stat().st_mode & 0o077 == 0 for name in holding)
    others = [p for p in out_dir.iterdir() if p.name not in holding]
    hits = [hit for p in others for hit in _scan(p, [OKTA_SCEP_CHALLENGE])]
    hits += [hit for root in _written_dirs(isolated_home) for hit in _scan(root, [OKTA_SCEP_CHALLENGE])]
    assert hits == [], hits


def test_no_secret_in_snapshots_or_tmux_captures():
    """Whatever the TUI tests left behind: snapshot SVGs and tmux screen captures."""
    roots = [REPO / "tests" / "__snapshots__"]
    roots += [p for p in (REPO / "tests").glob("**/*capture*") if p.is_file() or p.is_dir()]
    roots += [Path(p) for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("odatui-tmux-*")]
    files = [p for r in roots if r.exists() for p in ([r] if r.is_file() else r.rglob("*")) if p.is_file()]
    if not files:
        pytest.skip("no snapshot SVGs or tmux captures yet (odatui.tui tests have not written any)")
    hits = [hit for p in files for hit in _scan(p, [*sandbox_secrets(), FAKE_TOKEN])]
    assert hits == [], hits


# ------------------------------------------------------------------------------------------ process arguments


def _cmdlines() -> list[tuple[int, str]]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                out.append((int(entry.name), (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")))
            except OSError:
                continue
    return out


def test_secrets_never_appear_in_process_arguments(tmp_path, sandbox_factory):
    import tomli_w

    from odatui.sandbox.samplepkg import make_sample_pkg
    from odatui.sandbox.server import Sandbox

    sb = sandbox_factory(latency_ms=20)  # long enough to sample the process table many times
    data = sb.config_dict()
    data["rollout"]["package"] = str(make_sample_pkg(tmp_path / "OktaVerify-9.52.0.pkg"))
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(data))
    env = {**os.environ, **Sandbox.secret_env()}
    proc = subprocess.Popen([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(config)], cwd=REPO,
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen, samples = [], 0
    secrets = sandbox_secrets()
    while proc.poll() is None:
        for pid, cmdline in _cmdlines():
            samples += 1
            seen += [f"pid {pid}: {s[:6]}…" for s in secrets if s in cmdline]
        time.sleep(0.02)
    out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert samples > 0
    assert seen == [], seen
    assert not any(s.encode() in out + err for s in secrets)


# ------------------------------------------------------------------------------------------ serve binds loopback only


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_serve_refuses_non_loopback_binds(host):
    proc = odatui("serve", "--host", host, "--port", "0", timeout=30)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert host in proc.stderr and "127.0.0.1" in proc.stderr
