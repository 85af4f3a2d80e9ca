"""The sandbox server: one Starlette app (Okta + WS1 emulators + `/_sandbox` admin routes) served by uvicorn over
real HTTPS on 127.0.0.1 with a throwaway CA, in a background thread with its own event loop.

Usable from the CLI (`odatui sandbox`), in-process (`odatui demo`) and as a pytest fixture:

    with Sandbox(SandboxOptions(psso_app="absent")) as sb:
        sb.url, sb.ca_path, sb.state()
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from odatui.sandbox.credentials import (
    OKTA_SCEP_CHALLENGE,
    OKTA_TOKEN,
    WS1_GROUP_ID,
    WS1_OAUTH_SECRET,
    WS1_PASSWORD,
    WS1_SMART_GROUP,
    WS1_TENANT_CODE,
    WS1_USER,
)


@dataclass
class SandboxOptions:
    port: int = 0
    latency_ms: int = 0
    fault_rate: float = 0.0
    seed: int = 0
    devices: int = 36
    psso_app: str = "present"  # or "absent"
    custom_domain: str | None = None
    service_app_key: str = "ec"  # the Okta service app's key pair: "ec" (P-256) or "rsa" (2048, the Admin Console's)
    dpop: str = "off"  # "required": the service app's tokens must be DPoP-bound (RFC 9449)
    # Per-route fault rules for tests: [{"method": "PUT", "path": "/api/v1/apps/.*/groups/.*", "fault": "503",
    # "times": 1}]; see faults.py.
    fault_rules: list[dict[str, Any]] = field(default_factory=list)
    data_dir: Path | None = None  # where blobs and the CA go; a temp dir by default
    # One more listener each for the Okta org, the WS1 API and the WS1 token service, as three hosts are for real;
    # `config_dict` then points each client at its own (the combined `url` still serves everything).
    split_hosts: bool = False


class Sandbox:
    def __init__(self, options: SandboxOptions | None = None) -> None:
        self.options = options or SandboxOptions()
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.data_dir = self.options.data_dir
        self.url = ""
        self.okta_url = self.ws1_url = self.ws1_token_url = ""
        self.ca_path: Path | None = None
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self.world: Any = None

    # --- lifecycle ---
    def start(self) -> Sandbox:
        # deferred: start-up (the demo imports this module before the first paint; TLS and ASGI load on start)
        import trustme
        import uvicorn

        from odatui.sandbox.app import build_app

        if self.data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="odatui-sandbox-")
            self.data_dir = Path(self._tmp.name)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="odatui sandbox CA")
        leaf = ca.issue_cert("127.0.0.1", "localhost", "::1")
        self.ca_path = self.data_dir / "sandbox-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        key_path, cert_path = self.data_dir / "server.key", self.data_dir / "server.pem"
        leaf.private_key_pem.write_to_path(str(key_path))
        os.chmod(key_path, 0o600)  # throwaway, but a private key all the same
        with open(cert_path, "wb") as fh:
            for blob in leaf.cert_chain_pems:
                fh.write(blob.bytes())

        sock = _listen(self.options.port)
        port = sock.getsockname()[1]
        self.url = f"https://127.0.0.1:{port}"
        sockets = [sock]
        roles: dict[int, str] = {}
        self.okta_url = self.ws1_url = self.ws1_token_url = self.url
        if self.options.split_hosts:
            from odatui.sandbox.hosts import OKTA, WS1_API, WS1_TOKEN  # deferred: start-up (Starlette)

            for role in (OKTA, WS1_API, WS1_TOKEN):
                extra = _listen(0)
                sockets.append(extra)
                roles[extra.getsockname()[1]] = role
            urls = {role: f"https://127.0.0.1:{p}" for p, role in roles.items()}
            self.okta_url, self.ws1_url, self.ws1_token_url = urls[OKTA], urls[WS1_API], urls[WS1_TOKEN]

        app, self.world = build_app(self.options, self.data_dir, base_url=self.url, roles=roles or None,
                                    ws1_url=self.ws1_url)
        config = uvicorn.Config(
            app, ssl_keyfile=str(key_path), ssl_certfile=str(cert_path), log_level="warning",
            access_log=False, lifespan="off", timeout_keep_alive=30, limit_concurrency=512,
        )
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # noqa: E731 - runs in a thread

        def serve() -> None:
            asyncio.run(self._server.serve(sockets=sockets))

        self._thread = threading.Thread(target=serve, name="odatui-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- for callers in the same process (tests, demo) ---
    def state(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.world.snapshot()))

    def okta_service_app(self) -> tuple[str, Path]:
        """The OAuth service app the Okta emulator registered: (client id, path of its private key PEM)."""
        okta = self.world.emulators["okta"]
        return okta.service_app_client_id, okta.service_app_key_path

    def config_dict(self, okta_auth: str = "api_token") -> dict[str, Any]:
        """A config (TOML tables) that points odatui at this sandbox. `okta_auth`: api_token, service_app or none."""
        # scep_url: Okta's static SCEP URLs live under the org's /pki/ path (Fleet's Okta example profile shows
        # https://ORG/pki/…); the rest of the path is unverified and only ever read by a Mac.
        okta_url = self.okta_url or self.url
        okta: dict[str, Any] = {"org_url": okta_url, "auth": okta_auth, "groups": ["Mac Pilot"],
                                "ca_bundle": str(self.ca_path), "scep_url": f"{okta_url}/pki/scep/sandbox"}
        emulator = self.world.emulators.get("okta") if self.world is not None else None
        if okta_auth == "service_app" and emulator is not None:
            okta["service_app_client_id"] = emulator.service_app_client_id
        if okta_auth == "none" and emulator is not None:
            # Without API access the admin types the client ID from the app's Sign On tab.
            ids = [a["id"] for a in emulator.apps.values() if a["label"] == "Platform Single Sign-On for macOS"]
            if ids:
                okta["client_id"] = ids[0]
        return {
            "okta": okta,
            "ws1": {"api_url": self.ws1_url or self.url, "auth": "basic", "username": WS1_USER,
                    "group_id": WS1_GROUP_ID, "smart_group": WS1_SMART_GROUP, "ca_bundle": str(self.ca_path),
                    "oauth_token_url": f"{self.ws1_token_url or self.url}/connect/token"},
            # scep "static": the sandbox's written config keeps the SCEP payload in the SSO profile so a fresh
            # sandbox applies without the console step the WS1 CA needs (add one with POST
            # /_sandbox/ws1/certificate-authorities and set scep = "ws1_ca", the default outside the sandbox).
            "rollout": {"macos_min": 14, "profile_name": "Okta Platform SSO", "scep": "static"},
        }

    @staticmethod
    def secret_env() -> dict[str, str]:
        """The demo credentials as the env vars odatui reads in unattended runs."""
        return {"ODATUI_OKTA__API_TOKEN": OKTA_TOKEN, "ODATUI_WS1__PASSWORD": WS1_PASSWORD,
                "ODATUI_WS1__TENANT_CODE": WS1_TENANT_CODE, "ODATUI_WS1__CLIENT_SECRET": WS1_OAUTH_SECRET,
                "ODATUI_OKTA__SCEP_CHALLENGE": OKTA_SCEP_CHALLENGE}


def _listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Small header and body writes must not wait for delayed ACKs (~40 ms per request otherwise).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    return sock


def make_rng(seed: int) -> random.Random:
    return random.Random(seed)
