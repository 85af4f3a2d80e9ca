"""`odatui sandbox` in a child process, as a tenant would be: it does not share odatui's interpreter (GIL), so a
benchmark measures odatui's own work, not the emulator's. Shared by the benchmarks; not a benchmark itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


class SandboxProcess:
    """`odatui sandbox --write-config` in a child process; the config it wrote, the package and the secrets."""

    def __init__(self, work: Path, latency_ms: int = 0, psso_app: str = "present", devices: int = 36) -> None:
        self.work = work
        self.devices = devices
        self.latency_ms = latency_ms
        self.psso_app = psso_app
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> SandboxProcess:
        from odatui.core.config import load_config, parse_config
        from odatui.sandbox.samplepkg import make_sample_pkg

        self.work.mkdir(parents=True, exist_ok=True)
        config_path = self.work / "sandbox.toml"
        env = {**os.environ, "XDG_CACHE_HOME": str(self.work / "cache"), "XDG_STATE_HOME": str(self.work / "state"),
               "XDG_CONFIG_HOME": str(self.work / "config"), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "odatui", "sandbox", "--latency-ms", str(self.latency_ms), "--psso-app",
             self.psso_app, "--devices", str(self.devices), "--write-config", str(config_path)],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        try:
            for line in self.proc.stdout:
                if "config written" in line:
                    break
            else:
                raise RuntimeError("the sandbox process ended before writing its config")
            data = load_config(config_path).to_toml_dict()
            data["rollout"]["package"] = str(make_sample_pkg(self.work / "OktaVerify-9.52.0.pkg", version="9.52.0"))
            self.config = parse_config(data, source="bench")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def secrets(self) -> Any:
        from odatui.sandbox.server import Sandbox
        from odatui.core.secrets import SecretStore

        # Every secret the sandbox's demo config needs, read from the one list the sandbox gives (its env vars),
        # so a secret a later default needs (okta.scep_challenge for PSSO 2.0) is never missing here again.
        values = {name.removeprefix("ODATUI_").lower().replace("__", "."): value
                  for name, value in Sandbox.secret_env().items()}
        return SecretStore(use_keychain=False, values=values)

    def engine(self, runs_dir: Path) -> Any:
        from odatui.engine.scheduler import Engine
        from odatui.core.state import StateStore
        from odatui.mdm import run_order

        return Engine(self.config, self.secrets(), StateStore(self.config.target_key(), runs_dir),
                      steps=run_order(self.config))

    def requests_total(self) -> int:
        import httpx

        from odatui.core.http import ssl_context

        with httpx.Client(verify=ssl_context(self.config.ws1.ca_bundle), timeout=10) as client:
            return int(client.get(f"{self.config.ws1.api_url}/_sandbox/requests").json()["requests_total"])
