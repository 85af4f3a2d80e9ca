"""Exporting the .mobileconfig files for any MDM, for both faces: the folder, the client ID (odatui.values) and
which settings go in (the files themselves: odatui.service.profiles)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from odatui import scep
from odatui.errors import UsageError
from odatui.paths import state_dir
from odatui.service.profiles import export_from_values
from odatui.state import StateStore
from odatui.values import client_id


def default_dir(config: Any, *, demo: bool = False) -> Path:
    """[rollout] export_dir, else a folder under odatui's state directory (the demo's outlives its sandbox)."""
    if config.rollout.export_dir:
        return Path(config.rollout.export_dir).expanduser()
    # Not in the sandbox's temporary folder: the exported profiles outlive the demo for a look later. One folder
    # per target (the run state's key: Okta org + WS1 organization group), so two targets never overwrite each
    # other's files.
    return state_dir() / ("demo-export" if demo else "export") / config.target_key()


def wizard_export(config: Any, outputs: dict[str, dict[str, Any]], out_dir: Path) -> list[Path]:
    """The wizard's export: the profiles from the org, the client ID and the rollout's floor and UPN."""
    rollout = config.rollout
    return export_from_values(config.okta.org_url, client_id(outputs, config), rollout.macos_min,
                              rollout.user_principal_name, out_dir)


def cli_export(config: Any, secrets: Any, out_dir: Path, sign_cert: Path | None,
               sign_key: Path | None) -> tuple[list[Path], Any]:
    """`odatui export`: every setting of the config (PSSO options, SCEP), optionally signed; (paths, the SCEP
    settings written, or None). Missing inputs are usage errors (exit 2) and nothing is written."""
    if not config.okta.org_url:
        raise UsageError("okta.org_url is not set", hint="run `odatui` (the wizard) or set [okta] org_url in the config")

    found = client_id(StateStore(config.target_key()).load().outputs(), config)
    if not found:
        raise UsageError(
            "the Platform SSO app's client ID is not known yet",
            hint="run `odatui apply --only preflight.okta okta.app`, or set [okta] client_id from the app's Sign On tab",
        )
    if bool(sign_cert) != bool(sign_key):
        raise UsageError("--sign-cert and --sign-key go together", hint="give both PEM files, or neither")
    scep_settings = scep.settings(config, secrets)  # missing URL / secret key → exit 2, nothing written
    paths = export_from_values(
        config.okta.org_url, found, config.rollout.macos_min, config.rollout.user_principal_name, out_dir,
        sign_cert, sign_key, psso=config.rollout.psso, scep=scep_settings,
        scep_elsewhere=config.rollout.macos_min >= 14 and config.rollout.scep == "elsewhere",
    )
    return paths, scep_settings
