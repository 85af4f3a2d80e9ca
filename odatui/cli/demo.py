"""The demo session: an in-process sandbox, a sample Okta Verify package and a config that points at both — and
`odatui demo`, which makes it on the CLI side and hands it to the wizard (odatui/tui never imports the sandbox).

No tenant, keychain or network is needed; the sandbox credentials live in memory only.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from odatui.core.config import Config
    from odatui.core.secrets import SecretStore


@dataclass
class DemoSession:
    sandbox: Any  # odatui.sandbox.server.Sandbox
    config: Config
    config_path: Path
    package: Path
    secrets: SecretStore

    @property
    def url(self) -> str:
        return self.sandbox.url

    @property
    def runs_dir(self) -> Path:
        """The demo's run states: in the sandbox's folder, never among real targets'."""
        return Path(self.sandbox.data_dir) / "runs"

    def add_psso_app(self) -> None:
        """Do what the admin would do in the Okta Admin Console: add the PSSO app from the catalog."""
        import httpx  # deferred: start-up (the wizard's first paint comes before httpx)

        from odatui.core.http import ssl_context

        with httpx.Client(verify=ssl_context(str(self.sandbox.ca_path)), timeout=10) as client:
            client.post(f"{self.sandbox.url}/_sandbox/okta/psso-app").raise_for_status()

    def close(self) -> None:
        self.sandbox.stop()


def start_demo(*, psso_app: str = "absent", latency_ms: int = 0, fault_rate: float = 0.0, seed: int = 0,
               devices: int = 36, fault_rules: list[dict[str, Any]] | None = None) -> DemoSession:
    # deferred: start-up (`odatui demo` paints its first screen before pydantic, keyring and the sandbox load)
    from odatui.core.config import parse_config, save_config
    from odatui.sandbox.samplepkg import make_sample_pkg
    from odatui.sandbox.server import Sandbox, SandboxOptions
    from odatui.core.secrets import SecretStore

    sandbox = Sandbox(SandboxOptions(psso_app=psso_app, latency_ms=latency_ms, fault_rate=fault_rate, seed=seed,
                                     devices=devices, fault_rules=list(fault_rules or []))).start()
    try:
        package = sandbox.data_dir / "OktaVerify-9.52.0.pkg"
        make_sample_pkg(package, version="9.52.0")
        data = sandbox.config_dict()
        data["rollout"]["package"] = str(package)
        config = parse_config(data, source="demo")
        config_path = save_config(config, sandbox.data_dir / "demo.toml")
        env = Sandbox.secret_env()
        values = {"okta.api_token": env["ODATUI_OKTA__API_TOKEN"], "ws1.password": env["ODATUI_WS1__PASSWORD"],
                  "ws1.tenant_code": env["ODATUI_WS1__TENANT_CODE"],
                  "ws1.client_secret": env["ODATUI_WS1__CLIENT_SECRET"],
                  "okta.scep_challenge": env["ODATUI_OKTA__SCEP_CHALLENGE"]}
        return DemoSession(sandbox, config, config_path, package, SecretStore(use_keychain=False, values=values))
    except BaseException:
        sandbox.stop()
        raise


def demo_factory(**options: Any) -> Callable[[], DemoSession]:
    """What the wizard calls in its start-up worker (after the first paint) to start the sandbox: the PSSO app
    absent, so the demo shows the admin's one manual step."""
    return functools.partial(start_demo, **{"psso_app": "absent", **options})


def run_demo(args: Any) -> int:
    """`odatui demo`: the wizard on the sandbox; `--unattended`: the whole plan headless, plain lines."""
    if getattr(args, "unattended", False):
        return run_unattended()
    from odatui.tui.launch import run_app  # deferred: start-up (--unattended never loads Textual)
    from odatui.tui.session import Session

    return run_app(Session(demo_factory=demo_factory()), demo=True)


def run_unattended() -> int:
    """`odatui demo --unattended`: the whole plan against an in-process sandbox, plain lines, a summary."""
    from odatui.cli.runner import run_and_report  # deferred: start-up (the wizard never needs it)
    from odatui.service.run import open_run

    session = start_demo(psso_app="present")
    try:
        print(f"odatui demo: sandbox (Okta + Workspace ONE emulators) at {session.url}; nothing leaves this machine")
        run = open_run(session.config, session.secrets, directory=session.runs_dir)
        started = time.monotonic()
        result = run_and_report(run)
        print(f"Demo finished in {time.monotonic() - started:.1f} s.")
        return result.exit_code
    finally:
        session.close()
