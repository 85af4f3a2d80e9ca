"""What the wizard works on: the config being collected, the secrets typed so far, the demo sandbox (if any) and
the run it opens (odatui.service.run). No Textual here, and every heavy import (pydantic, keyring, httpx) happens
inside a method, so the first screen paints before any of it loads. Blocking methods are called from thread
workers. Everything that is not the wizard's own (plan, test connection, status, devices, repush, export, bundle, remove) is odatui.service's;
the demo sandbox is made by the CLI side (odatui.cli.demo) and handed in.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

# Secret name → where the wizard asks for it (table, input id); values stay in memory until Next stores them.
SECRET_FIELDS = ("okta.api_token", "okta.private_key", "ws1.password", "ws1.tenant_code", "ws1.client_secret",
                 "okta.scep_challenge")


@dataclass
class Loaded:
    """What the Welcome screen reports after start-up work."""

    config_path: str
    config_found: bool
    config_error: str | None
    probe_ok: bool
    probe_text: str
    probe_fix: str


class WizardSession(Protocol):
    """Everything the app and the screens ask of a session: the real one (`Session`) and the tests' fixed one
    (tests/support/static_session.py) both implement it, with the same signatures (tests/test_tui_session.py)."""

    config: Any  # odatui.core.config.Config, or None before load()
    secrets: Any  # odatui.core.secrets.SecretStore
    config_path: str | None
    file_existed: bool
    is_demo: bool
    typed: dict[str, str]

    def load(self) -> Loaded: ...
    def load_other(self, path: str) -> str: ...
    def secret(self, name: str) -> str: ...
    def secret_source(self, name: str) -> str: ...
    def keep(self, name: str, value: str) -> None: ...
    def remember(self, values: dict[str, str]) -> list[str]: ...
    def save(self) -> str: ...
    def unsaved(self) -> dict[tuple[str, str], Any]: ...
    def must_ask_to_save(self) -> bool: ...
    def previous_run(self) -> dict[str, str]: ...
    def steps(self) -> list[Any]: ...
    async def plan(self) -> list[Any]: ...
    def check_start(self, run: Any = None) -> None: ...
    def open_run(self, **kwargs: Any) -> Any: ...
    async def test_connection(self, step_id: str) -> tuple[bool, str]: ...
    async def removal_plan(self) -> Any: ...
    async def remove(self) -> tuple[int, str]: ...
    def export_profiles(self, out_dir: Path | None = None) -> list[Path]: ...
    def write_bundle(self, out: Path) -> list[str]: ...
    async def rollout_status(self) -> dict[str, Any]: ...
    async def device_rows(self, on_rows: Any, *, only: set[int] | None = None, per_device: bool | None = None,
                          progress: Any = None) -> Any: ...
    async def repush(self, device_ids: list[int]) -> str: ...
    def demo_admin_action(self) -> None: ...
    def close(self) -> None: ...


class Session:
    """One wizard session. With `demo_factory` (odatui.cli.demo.demo_factory: starts the in-process sandbox, called in
    `load()`, after the first paint) or a running `demo_session`, it works on the sandbox and pre-fills from it."""

    def __init__(self, config_path: str | None = None, *, demo_factory: Callable[[], Any] | None = None,
                 demo_session: Any = None, engine_options: dict[str, Any] | None = None) -> None:
        self.config_path = config_path
        self.is_demo = demo_factory is not None or demo_session is not None
        self.demo_factory = demo_factory
        self.engine_options = dict(engine_options or {})  # e.g. shorter back-off and polling in tests
        self.demo: Any = demo_session  # odatui.cli.demo.DemoSession; a given one is reused (same sandbox)
        self.config: Any = None  # odatui.core.config.Config
        self.secrets: Any = None  # odatui.core.secrets.SecretStore
        self.typed: dict[str, str] = {}  # secrets typed in this session (never written anywhere but the keychain)
        self.found: dict[str, str] = {}  # secret name → where it already was ("keychain", "env ODATUI_…")
        self.keychain_ok = False
        self.export_paths: list[Path] = []
        self.baseline: dict[str, Any] = {}  # the answers as loaded (odatui.core.answers.snapshot): what "changed" means
        self.file_existed = False  # an existing answers file is written only after asking; a new one freely

    # --- start-up (thread worker) ---
    def load(self) -> Loaded:
        from odatui.core.config import Config, load_config  # deferred: start-up
        from odatui.core.errors import OdatuiError
        from odatui.core.paths import default_config_path
        from odatui.core.secrets import SecretStore

        if self.is_demo:
            if self.demo is None and self.demo_factory is not None:
                self.demo = self.demo_factory()
            self.config = self.demo.config
            self.secrets = self.demo.secrets
            # Pre-filled sandbox credentials, in memory only (the demo's store never uses the keychain).
            self.typed = {name: value for name in SECRET_FIELDS if (value := self.secrets.get(name))}
            self.config_path = str(self.demo.config_path)
            self._baseline(existed=False)  # the demo made this file: the wizard may write it without asking
            self.keychain_ok = False
            return Loaded(str(self.demo.config_path), True, None, True,
                          "Sandbox: credentials are kept in memory; the keychain is not used.", "")
        path = Path(self.config_path).expanduser() if self.config_path else default_config_path()
        self.config_path = str(path)
        error = None
        try:
            self.config = load_config(path)
        except OdatuiError as exc:
            error = str(exc)
            self.config = Config()
        self._baseline(existed=path.exists())
        self.secrets = SecretStore()
        probe = self.secrets.probe()
        self.keychain_ok = probe.ok
        self._prefill_known_secrets()
        if probe.ok:
            text = f"Keychain available ({probe.backend}); secrets are stored there, never in the config file."
            fix = ""
        else:
            text = f"Keychain {probe.state.value}: {probe.detail}. Secrets will be kept for this session only."
            fix = probe.fix
        return Loaded(str(path), path.exists(), error, probe.ok, text, fix)

    def load_other(self, path: str) -> str:
        """Load another answers file; returns a one-line result (raises OdatuiError with the fix)."""
        from odatui.core.config import load_config  # deferred: start-up

        self.config = load_config(Path(path).expanduser(), must_exist=True)
        self.config_path = str(Path(path).expanduser())
        self._baseline(existed=True)
        return f"Loaded {self.config_path}"

    # --- the answers file ---
    def _baseline(self, *, existed: bool) -> None:
        from odatui.core.answers import snapshot  # deferred: start-up

        self.baseline = snapshot(self.config)
        self.file_existed = existed

    def unsaved(self) -> dict[tuple[str, str], Any]:
        """Fields the admin changed in the wizard and the file does not hold yet (never ODATUI_* values)."""
        from odatui.core.answers import changes  # deferred: start-up

        if self.config is None:
            return {}
        return changes(self.baseline, self.config)

    def must_ask_to_save(self) -> bool:
        """An existing file is the admin's: changes go into it only when they say so."""
        return self.file_existed and not self.is_demo and bool(self.unsaved())

    # --- secrets ---
    def _prefill_known_secrets(self) -> None:
        """Secrets already in the environment or the keychain pre-fill their (masked) fields, so an admin who
        exported ODATUI_* variables or stored them earlier is not asked again. Runs in the load worker: keychain
        reads are bounded but may take a moment."""
        from odatui.core.secrets import SECRETS, target_for  # deferred: start-up

        for name in SECRET_FIELDS:
            env = os.environ.get(SECRETS[name][0])
            if not env and not self.keychain_ok:
                continue
            value = self.secrets.get(name, target_for(name, self.config))
            if value:
                self.typed[name] = value
                self.found[name] = f"env {SECRETS[name][0]}" if env else "keychain"

    def secret(self, name: str) -> str:
        """The value to pre-fill: typed this session, or (thread) what the store already has."""
        if name in self.typed:
            return self.typed[name]
        return ""

    def keep(self, name: str, value: str) -> None:
        """Use a typed secret for this session (the store reads it before env and keychain; redacted in logs)."""
        self.secrets.remember(name, value)
        self.typed[name] = value

    def remember(self, values: dict[str, str]) -> list[str]:
        """Keep typed secrets for this session and, when the keychain works, store them there (thread)."""
        from odatui.core.secrets import target_for  # deferred: start-up

        stored = []
        for name, value in values.items():
            if not value:
                continue
            if name in self.found and self.typed.get(name) == value:
                continue  # unchanged since it was found in the env or keychain: nothing to store
            self.found.pop(name, None)
            self.keep(name, value)
            if self.keychain_ok and not self.is_demo:
                self.secrets.set(name, value, target_for(name, self.config))
                stored.append(name)
        return stored

    def secret_source(self, name: str) -> str:
        if name in self.found:
            return self.found[name]
        if name in self.typed:
            if self.is_demo:
                return "memory (sandbox)"
            return "keychain" if self.keychain_ok else "this session only"
        return "not set"

    def save(self) -> str:
        """Write the changed fields into the one answers file (comments and the rest kept); thread."""
        from odatui.core.answers import write_answers  # deferred: start-up
        from odatui.core.paths import default_config_path

        path = Path(self.config_path).expanduser() if self.config_path else default_config_path()
        write_answers(path, self.unsaved())
        self.config_path = str(path)
        self._baseline(existed=True)
        return str(path)

    # --- the run ---
    def _runs_dir(self) -> Path | None:
        return self.demo.runs_dir if self.demo is not None else None  # a demo never mixes with real targets

    def store(self) -> Any:
        from odatui.core.state import StateStore  # deferred: start-up

        return StateStore(self.config.target_key(), self._runs_dir())

    def previous_run(self) -> dict[str, str]:
        """step id → status of the last run on this target ({} when there is none)."""
        state = self.store().load()
        return {sid: rec.status for sid, rec in state.steps.items()}

    def open_run(self, **kwargs: Any) -> Any:
        """A run of this session's answers on its target (odatui.service.run.RunSession); thread (it reads the run
        state and imports every step)."""
        from odatui.service.run import open_run  # deferred: start-up

        kwargs = {"interactive": True, **self.engine_options, **kwargs}
        return open_run(self.config, self.secrets, directory=self._runs_dir(), **kwargs)

    def steps(self) -> list[Any]:
        """The steps a run of these answers has (odatui.service.types.StepView: id, title, needs), in run order."""
        from odatui.service.run import step_views  # deferred: start-up (imports every step)

        return step_views(self.config)

    async def plan(self) -> list[Any]:
        """The plan, after the same checks as `odatui plan` (a refused config raises its UsageError, no request)."""
        run = await asyncio.to_thread(self.open_run)  # off the event loop
        await asyncio.to_thread(self.check_start, run)
        try:
            return await run.plan()
        finally:
            await run.aclose()  # the wizard plans more than once: each plan's clients are closed

    def check_start(self, run: Any = None) -> None:
        """Raise the UsageError `odatui apply` would refuse this config with (odatui.service.setup.check_start)."""
        (run or self.open_run()).check_start(self.config_path)

    async def test_connection(self, step_id: str) -> tuple[bool, str]:
        """Run one preflight step's inspect against the tenant; (ok, one readable answer)."""
        from odatui.service.connection import test_connection  # deferred: start-up

        return await test_connection(self.config, self.secrets, step_id)

    async def removal_plan(self) -> Any:
        """`odatui remove`'s plan for this target (odatui.service.remove.removal_plan): what odatui created, checked
        live."""
        from odatui.service.remove import removal_plan  # deferred: start-up

        state = await asyncio.to_thread(lambda: self.store().load())  # a file read: off the event loop
        return await removal_plan(self.config, self.secrets, state)

    async def remove(self) -> tuple[int, str]:
        """Remove what odatui created (the plan afresh, under the target's lock); (items that failed, report)."""
        from odatui.service.remove import remove_now  # deferred: start-up

        return await remove_now(self.config, self.secrets, self.store())

    def outputs(self) -> dict[str, dict[str, Any]]:
        return self.store().load().outputs()

    def export_profiles(self, out_dir: Path | None = None) -> list[Path]:
        from odatui.service.export import default_dir, wizard_export  # deferred: start-up

        out_dir = out_dir if out_dir is not None else default_dir(self.config, demo=self.is_demo)
        self.export_paths = wizard_export(self.config, self.outputs(), out_dir, self.secrets)
        return self.export_paths

    def write_bundle(self, out: Path) -> list[str]:
        """The support bundle (as `odatui bundle --out OUT --config` this session's file); its member names."""
        from odatui.service.bundle import write_bundle  # deferred: start-up

        return write_bundle(out, Path(self.config_path).expanduser() if self.config_path else None)

    async def rollout_status(self) -> dict[str, Any]:
        """Devices in the smart group and install counts, read live from WS1."""
        from odatui.service.status import rollout_status  # deferred: start-up

        outputs = await asyncio.to_thread(self.outputs)  # a file read, every 15 s: off the event loop
        status = await rollout_status(self.config, self.secrets, outputs, okta=False)
        return {key: status[key] for key in ("devices", "profile_installed", "app_installed")}  # the screen's line

    async def device_rows(self, on_rows: Any, *, only: set[int] | None = None, per_device: bool | None = None,
                          progress: Any = None) -> Any:
        """Every Mac of the smart group with its state and reasons (as `odatui status --devices`); `on_rows(rows,
        problems)` gets each page as it arrives, `progress(summary)` the counts. Returns the summary."""
        from odatui.service.devices import ids_from_outputs, list_devices  # deferred: start-up

        ids = ids_from_outputs(self.outputs())
        if ids is None:
            raise RuntimeError("the smart group is not known yet (preflight.ws1 has not succeeded)")
        return await list_devices(self.config, self.secrets, ids, on_rows, only=only, per_device=per_device,
                                  progress=progress)

    async def repush(self, device_ids: list[int]) -> str:
        """Ask WS1 to install the profile again on these Macs; one line saying what happened."""
        from odatui.service.devices import push_profile  # deferred: start-up

        profile = (await asyncio.to_thread(self.outputs)).get("ws1.profile", {}).get("profile_id")
        if profile is None:
            return "no profile to re-push yet (ws1.profile has not run)"
        done, failed = await push_profile(self.config, self.secrets, int(profile), device_ids)
        return f"profile re-pushed to {done} Mac(s)" + (f"; failed: {'; '.join(failed)}" if failed else "")

    def demo_admin_action(self) -> None:
        """The demo's stand-in for the admin's console work (given by odatui.cli.demo): add the PSSO app."""
        self.demo.add_psso_app()

    def close(self) -> None:
        if self.demo is not None:
            self.demo.close()
            self.demo = None
