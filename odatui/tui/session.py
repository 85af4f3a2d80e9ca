"""What the wizard works on: the config being collected, the secrets typed so far, the demo sandbox (if any) and
the engine. No Textual here, and every heavy import (pydantic, keyring, httpx, the sandbox) happens inside a
method, so the first screen paints before any of it loads. Blocking methods are called from thread workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

STEP_TITLES = {
    "preflight.okta": "Okta org",
    "preflight.ws1": "Workspace ONE tenant",
    "preflight.package": "Okta Verify package",
    "okta.app": "Platform SSO app",
    "okta.assign": "Assign Okta groups",
    "ws1.upload": "Upload Okta Verify",
    "ws1.assign": "Assign app to smart group",
    "ws1.profile": "Platform SSO profile",
    "verify": "Verify",
}
STEP_IDS = tuple(STEP_TITLES)

# Secret name → where the wizard asks for it (table, input id); values stay in memory until Next stores them.
SECRET_FIELDS = ("okta.api_token", "okta.private_key", "ws1.password", "ws1.tenant_code", "ws1.client_secret",
                 "okta.scep_challenge")
PER_DEVICE_MAX = 2_000  # above this, the wizard's device table shows bulk states (seconds, not minutes)


@dataclass
class Loaded:
    """What the Welcome screen reports after start-up work."""

    config_path: str
    config_found: bool
    config_error: str | None
    probe_ok: bool
    probe_text: str
    probe_fix: str


class Session:
    """One wizard session. `demo=True` starts the in-process sandbox in `load()` and pre-fills from it."""

    def __init__(self, config_path: str | None = None, *, demo: bool = False,
                 demo_options: dict[str, Any] | None = None, demo_session: Any = None,
                 engine_options: dict[str, Any] | None = None) -> None:
        self.config_path = config_path
        self.is_demo = demo or demo_session is not None
        self.demo_options = dict(demo_options or {})
        self.engine_options = dict(engine_options or {})  # e.g. shorter back-off and polling in tests
        self.demo: Any = demo_session  # odatui.demo.DemoSession; a given one is reused (same sandbox)
        self.config: Any = None  # odatui.config.Config
        self.secrets: Any = None  # odatui.secrets.SecretStore
        self.typed: dict[str, str] = {}  # secrets typed in this session (never written anywhere but the keychain)
        self.found: dict[str, str] = {}  # secret name → where it already was ("keychain", "env ODATUI_…")
        self.keychain_ok = False
        self.engine: Any = None
        self.export_paths: list[Path] = []
        self.baseline: dict[str, Any] = {}  # the answers as loaded (odatui.answers.snapshot): what "changed" means
        self.file_existed = False  # an existing answers file is written only after asking; a new one freely

    # --- start-up (thread worker) ---
    def load(self) -> Loaded:
        from odatui.config import Config, load_config
        from odatui.errors import OdatuiError
        from odatui.paths import default_config_path
        from odatui.secrets import SecretStore

        if self.is_demo:
            if self.demo is None:
                from odatui.demo import start_demo

                self.demo = start_demo(**{"psso_app": "absent", **self.demo_options})
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
        from odatui.config import load_config

        self.config = load_config(Path(path).expanduser(), must_exist=True)
        self.config_path = str(Path(path).expanduser())
        self._baseline(existed=True)
        return f"Loaded {self.config_path}"

    # --- the answers file ---
    def _baseline(self, *, existed: bool) -> None:
        from odatui.answers import snapshot

        self.baseline = snapshot(self.config)
        self.file_existed = existed

    def unsaved(self) -> dict[tuple[str, str], Any]:
        """Fields the admin changed in the wizard and the file does not hold yet (never ODATUI_* values)."""
        from odatui.answers import changes

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
        import os

        from odatui.secrets import SECRETS, target_for

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
        from odatui.secrets import target_for

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
        from odatui.answers import write_answers
        from odatui.paths import default_config_path

        path = Path(self.config_path).expanduser() if self.config_path else default_config_path()
        write_answers(path, self.unsaved())
        self.config_path = str(path)
        self._baseline(existed=True)
        return str(path)

    # --- engine ---
    def store(self) -> Any:
        from odatui.state import StateStore

        directory = None
        if self.is_demo and self.demo is not None:
            directory = Path(self.demo.sandbox.data_dir) / "runs"  # a demo never mixes with real targets
        return StateStore(self.config.target_key(), directory)

    def previous_run(self) -> dict[str, str]:
        """step id → status of the last run on this target ({} when there is none)."""
        state = self.store().load()
        return {sid: rec.status for sid, rec in state.steps.items()}

    def make_engine(self, **kwargs: Any) -> Any:
        from odatui.engine import Engine

        kwargs = {"interactive": True, **self.engine_options, **kwargs}
        return Engine(self.config, self.secrets, self.store(), **kwargs)

    async def plan(self) -> list[Any]:
        engine = self.make_engine()
        try:
            return await engine.plan()
        finally:
            await _close(engine)

    async def test_connection(self, step_id: str) -> tuple[bool, str]:
        """Run one preflight step's inspect against the tenant; (ok, one readable answer)."""
        from odatui.errors import OdatuiError
        from odatui.steps import all_steps
        from odatui.steps.base import Context

        step = next((s for s in all_steps() if s.id == step_id), None)
        if step is None:
            return False, f"{step_id} is not available in this build"
        ctx = Context(self.config, self.secrets)
        try:
            # Keychain reads and the TLS context happen in a thread: the screen stays responsive.
            await ctx.prepare_clients("okta" if step_id.startswith("preflight.okta") else "ws1")
            change = await step.inspect(ctx)
            return True, change.summary or "connected"
        except OdatuiError as exc:
            return False, str(exc)
        except Exception as exc:  # a readable line, never a traceback on screen
            return False, f"{type(exc).__name__}: {exc}"
        finally:
            await ctx.aclose()

    async def removal_plan(self) -> Any:
        """`odatui remove`'s plan for this target (odatui.remove.RemovalPlan): what odatui created, checked live."""
        from odatui.remove import removal_plan

        return await removal_plan(self.config, self.secrets, self.store().load())

    async def remove(self) -> tuple[int, str]:
        """Remove what odatui created (the plan afresh, under the target's lock); (items that failed, report)."""
        import io

        from odatui.remove import remove_planned, removal_plan

        out = io.StringIO()
        with self.store() as store:
            state = store.load()
            plan = await removal_plan(self.config, self.secrets, state)
            failed = await remove_planned(self.config, self.secrets, store, state, plan, out)
        return failed, out.getvalue()

    def outputs(self) -> dict[str, dict[str, Any]]:
        return self.store().load().outputs()

    def export_profiles(self, out_dir: Path | None = None) -> list[Path]:
        from odatui.export import export_from_values

        client_id = self.outputs().get("okta.app", {}).get("client_id") or self.config.okta.client_id
        if out_dir is None:
            if self.config.rollout.export_dir:
                out_dir = Path(self.config.rollout.export_dir).expanduser()
            elif self.is_demo:
                from odatui.paths import state_dir

                # Not in the sandbox's temporary folder: the exported profiles outlive the demo for a look later.
                out_dir = state_dir() / "demo-export"
            else:
                from odatui.paths import state_dir

                out_dir = state_dir() / "export"
        rollout = self.config.rollout
        self.export_paths = export_from_values(self.config.okta.org_url, client_id, rollout.macos_min,
                                               rollout.user_principal_name, out_dir)
        return self.export_paths

    async def rollout_status(self) -> dict[str, Any]:
        """Devices in the smart group and install counts, read live from WS1."""
        from odatui.steps.base import Context

        outs = self.outputs()
        ctx = Context(self.config, self.secrets, outs)
        try:
            await ctx.prepare_clients("ws1")
            ws1 = ctx.ws1()
            pre = outs.get("preflight.ws1", {})
            group = pre.get("smart_group_id")
            if group is None:
                raise RuntimeError("the smart group is not known yet (preflight.ws1 has not succeeded)")
            app = outs.get("ws1.upload", {}).get("app_id")
            profile = outs.get("ws1.profile", {}).get("profile_id")
            status = await ws1.rollout_status(group, app, profile, og_id=pre.get("og_id"))
            if isinstance(status, dict):
                return status
            import dataclasses

            return {k: v for k, v in dataclasses.asdict(status).items() if k != "requests_made"}
        finally:
            await ctx.aclose()

    async def device_rows(self, on_rows: Any, *, only: set[int] | None = None, per_device: bool | None = None) -> Any:
        """Every Mac of the smart group with its state and reasons (as `odatui status --devices`); `on_rows(rows,
        problems)` gets each page as it arrives. Returns the summary. Per-Mac lookups (profile failures,
        certificates: a request per Mac) only for smart groups up to PER_DEVICE_MAX Macs unless asked."""
        from odatui.devices_cli import wave_groups
        from odatui.scep import scep_wanted
        from odatui.steps.base import Context
        from odatui.ws1.devices import DeviceLister

        outs = self.outputs()
        pre = outs.get("preflight.ws1", {})
        if pre.get("smart_group_id") is None:
            raise RuntimeError("the smart group is not known yet (preflight.ws1 has not succeeded)")
        ctx = Context(self.config, self.secrets, outs)
        try:
            await ctx.prepare_clients("ws1")
            groups = wave_groups(pre)  # every wave's smart group
            if per_device is None:
                per_device = sum(int(g.get("devices") or 0) for g in groups) <= PER_DEVICE_MAX
            lister = DeviceLister(ctx.ws1(), [int(g["id"]) for g in groups], scep=scep_wanted(self.config),
                                  og_id=int(pre["og_id"]), macos_min=self.config.rollout.macos_min,
                                  profile_id=outs.get("ws1.profile", {}).get("profile_id"),
                                  app_id=outs.get("ws1.upload", {}).get("app_id"), only=only, per_device=per_device)
            return await lister.run(on_rows)
        finally:
            await ctx.aclose()

    async def repush(self, device_ids: list[int]) -> str:
        """Ask WS1 to install the profile again on these Macs; one line saying what happened."""
        from odatui.errors import OdatuiError
        from odatui.steps.base import Context

        outs = self.outputs()
        profile = outs.get("ws1.profile", {}).get("profile_id")
        if profile is None:
            return "no profile to re-push yet (ws1.profile has not run)"
        ctx = Context(self.config, self.secrets, outs)
        try:
            await ctx.prepare_clients("ws1")
            done, failed = 0, []
            for device_id in device_ids:
                try:
                    await ctx.ws1().install_profile(int(profile), device_id)
                    done += 1
                except OdatuiError as exc:
                    failed.append(f"{device_id}: {exc.message}")
            return f"profile re-pushed to {done} Mac(s)" + (f"; failed: {'; '.join(failed)}" if failed else "")
        finally:
            await ctx.aclose()

    def close(self) -> None:
        if self.demo is not None:
            self.demo.close()
            self.demo = None


async def _close(engine: Any) -> None:
    close = getattr(engine, "aclose", None)
    if close is not None:
        await close()
