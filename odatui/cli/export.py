"""`odatui export --out DIR`: write the Platform SSO configuration as files any MDM can take, and say what was
written. The files are odatui.service.profiles'; which settings go in is odatui.service.export's."""

from __future__ import annotations

from pathlib import Path

from odatui.core.config import load_config
from odatui.core.secrets import SecretStore
from odatui.service.export import cli_export


def cmd_export(args) -> int:
    """`odatui export --out DIR`: the org from the config; the client ID from okta.app's last run, else the config."""
    config = load_config(Path(args.config) if args.config else None)
    paths, scep_settings = cli_export(config, SecretStore(), Path(args.out).expanduser(),
                                      Path(args.sign_cert).expanduser() if args.sign_cert else None,
                                      Path(args.sign_key).expanduser() if args.sign_key else None)
    print(f"Wrote {len(paths)} files to {Path(args.out).expanduser()}:")
    for path in paths:
        held = scep_settings is not None and path.stat().st_mode & 0o077 == 0  # written 0600 because it holds it
        private = " (0600: holds the SCEP secret key)" if held else ""
        print(f"  {path.name}{private}")
    if config.rollout.macos_min >= 14 and config.rollout.scep == "elsewhere":
        print('No Device Access SCEP payload (rollout.scep = "elsewhere"): another profile must deploy it.')
    elif config.rollout.macos_min >= 14 and config.rollout.scep == "ws1_ca" and scep_settings is None:
        print("No Device Access certificate profile for other MDMs: it needs okta.scep_url and the secret key "
              "(`odatui secrets set okta.scep_challenge`). On Workspace ONE, ws1.certificate deploys it without them.")
    return 0
