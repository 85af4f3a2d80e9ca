"""Exporting the .mobileconfig files for any MDM, for both faces: the folder, the client ID (odatui.core.values) and
which settings go in (the files themselves: odatui.service.profiles)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from odatui.macos import scep
from odatui.core.domain import load_ca_certificate
from odatui.core.errors import UsageError
from odatui.core.paths import state_dir
from odatui.service.profiles import PASSPHRASE_ENV, export
from odatui.macos.sso_profile import sso_settings
from odatui.core.state import StateStore
from odatui.core.values import client_id


def default_dir(config: Any, *, demo: bool = False) -> Path:
    """[rollout] export_dir, else a folder under odatui's state directory (the demo's outlives its sandbox)."""
    if config.rollout.export_dir:
        return Path(config.rollout.export_dir).expanduser()
    # Not in the sandbox's temporary folder: the exported profiles outlive the demo for a look later. One folder
    # per target (the run state's key: Okta org + WS1 organization group), so two targets never overwrite each
    # other's files.
    return state_dir() / ("demo-export" if demo else "export") / config.target_key()


def wizard_export(config: Any, outputs: dict[str, dict[str, Any]], out_dir: Path, secrets: Any = None) -> list[Path]:
    """The wizard's export: every setting of the config, as `odatui export` and `ws1.profile` build it
    (odatui.macos.sso_profile), unsigned."""
    settings, apart, ca_der = _settings(config, secrets, client_id(outputs, config), outputs)
    return export(settings, out_dir, scep_elsewhere=_scep_elsewhere(config), certificate_apart=apart, ca_der=ca_der)


def _settings(config: Any, secrets: Any, found: str, outputs: dict[str, dict[str, Any]]) -> tuple[Any, bool, Any]:
    """(the SSO settings, whether the certificate goes in its own file, Okta's intermediate CA as DER or None).
    rollout.scep = "ws1_ca": the SSO profile holds no SCEP (as ws1.profile sends it); the export adds the separate
    certificate profile for other MDMs when the SCEP URL and secret key are at hand (odatui.macos.scep.export_settings)."""
    settings = sso_settings(config, secrets, found, _org_host(outputs))
    if not scep.ws1_ca(config):
        return settings, False, None
    path = config.okta.scep_ca_certificate
    return (dataclasses.replace(settings, scep=scep.export_settings(config, secrets)), True,
            load_ca_certificate(path) if path else None)


def _org_host(outputs: dict[str, dict[str, Any]]) -> str | None:
    """The host okta.app found (as ws1.profile uses it), else None: the config's org URL."""
    return (outputs.get("okta.app") or {}).get("org_host") or None


def _scep_elsewhere(config: Any) -> bool:
    return config.rollout.macos_min >= 14 and config.rollout.scep == "elsewhere"


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
    outputs = StateStore(config.target_key()).load().outputs()
    # missing SCEP URL / secret key → exit 2, nothing written
    settings, apart, ca_der = _settings(config, secrets, found, outputs)
    paths = export(settings, out_dir, sign_cert, sign_key, sign_key_passphrase=os.environ.get(PASSPHRASE_ENV),
                   scep_elsewhere=_scep_elsewhere(config), certificate_apart=apart, ca_der=ca_der)
    return paths, settings.scep
