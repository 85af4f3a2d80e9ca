"""Loading the config, checking a run's inputs and making the engine: the same for every command and the wizard."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from odatui.core.errors import ConfigError, UsageError


def load_config_at(path: str | Path | None) -> Any:
    """The config at `path` (or the default one) with ODATUI_* overrides; a mistyped path is named (exit 2)."""
    from odatui.core.config import load_config  # deferred: start-up (pydantic)

    config = load_config(Path(path) if path else None)  # a bad ODATUI_* override is named even without a file
    if path and not Path(path).expanduser().exists():
        load_config(Path(path), must_exist=True)  # raises: no config file at PATH (a mistyped --config)
    if not (config.okta.org_url or config.ws1.api_url):
        # An empty (or tenant-less) config is a usage error (exit 2), named before secrets are opened (exit 4).
        from odatui.core.errors import ConfigError

        where = Path(path).expanduser() if path else "the config"
        raise ConfigError(f"{where} names no tenant: neither okta.org_url nor ws1.api_url is set",
                          hint="run `odatui` for the wizard, or set [okta] org_url and [ws1] api_url "
                               "(or ODATUI_OKTA__ORG_URL / ODATUI_WS1__API_URL)")
    return config


def check_step_ids(ids: list[str]) -> None:
    """Unknown --only/--from ids are named before anything else is loaded (exit 2)."""
    from odatui.mdm import step_ids  # deferred: start-up

    known = step_ids()
    for sid in ids:
        if sid not in known:
            guess = difflib.get_close_matches(sid, known, n=1)
            raise UsageError(f"unknown step id {sid!r}" + (f" (did you mean {guess[0]}?)" if guess else ""),
                             hint="step ids: " + ", ".join(known))


def require_fields(config: Any, engine: Any, step_ids: list[str], where: str | None = None) -> None:
    """The config fields these steps (and the steps they need) require, all named in one line (exit 2)."""
    from odatui.macos import scep
    from odatui.engine.graph import missing_fields

    wanted = set(step_ids)
    for sid in step_ids:
        wanted.update(engine.ancestors(sid))
    missing = missing_fields(config, wanted, engine.steps.values())
    scep_gaps: list[str] = []
    if "ws1.profile" in wanted:
        scep_gaps = scep.missing(config, getattr(engine, "secrets", None))
        missing += scep_gaps
    if missing:
        where = where or "the config file"
        envs = ", ".join("ODATUI_" + m.upper().replace(".", "__") for m in missing)
        hint = f"set them in {where} (run `odatui` for the wizard), or set {envs}"
        if scep_gaps:
            hint += (f"\nDevice Access SCEP (Platform SSO 2.0): {scep.ADMIN_CONSOLE_CLICKS}; keep the secret key in "
                     "the keychain with `odatui secrets set okta.scep_challenge`, or set [rollout] scep = "
                     '"elsewhere" if another profile deploys that certificate')
        raise ConfigError(f"the config is missing {', '.join(missing)}", hint=hint)
    if "ws1.profile" in wanted:
        scep.settings(config, getattr(engine, "secrets", None))  # a malformed secret key: one line, exit 2


def check_start(config: Any, engine: Any, where: str | None = None) -> None:
    """Everything `odatui plan` / `apply` refuse a whole run for, before any request (exit 2 in the CLI): the
    wizard's Review runs exactly this, so Start never begins a run the CLI would refuse (e.g. floor 14 without the
    Device Access SCEP values: the run would upload and assign Okta Verify, then fail at the profile)."""
    require_fields(config, engine, list(engine.order), where)


def make_engine(config: Any, secrets: Any = None, *, directory: Path | None = None, **kw: Any) -> Any:
    from odatui.engine.scheduler import Engine
    from odatui.core.secrets import SecretStore
    from odatui.core.state import StateStore

    from odatui.service.remove import undo_entry

    store = StateStore(config.target_key(), directory)
    from odatui.mdm import run_order

    kw.setdefault("undo", undo_entry)  # a replaced object goes the way `odatui remove` removes it
    kw.setdefault("steps", run_order(config))
    return Engine(config, secrets if secrets is not None else SecretStore(), store, **kw)
