"""The support bundle for both faces: the zip of the redacted config, run states, logs and versions
(odatui.bundle builds and checks it)."""

from __future__ import annotations

from pathlib import Path

from odatui.errors import OdatuiError, UsageError


def write_bundle(out: Path, config_path: Path | None, *, force: bool = False, all_targets: bool = False) -> list[str]:
    """Write the bundle to `out`; its member names. Only the config's target's run state unless `all_targets`."""
    from odatui.bundle import build_bundle, is_bundle
    from odatui.config import load_config
    from odatui.files import refuse_overwrite
    from odatui.secrets import SecretStore

    if out.is_dir():
        raise UsageError(f"{out} is a folder", hint="give a file name, e.g. --out odatui-support.zip")
    # `--out` onto the config file (or any file that is not an earlier bundle) would destroy it.
    refuse_overwrite(out, what="support bundle", ours=is_bundle, force=force)
    config, error = None, None
    try:
        config = load_config(config_path)
    except OdatuiError as exc:  # a broken config is a reason to ask for support, not to refuse the bundle
        error = exc.message
        if config_path is None:
            from odatui.paths import default_config_path

            config_path = default_config_path()
    targets = None if all_targets else ([config.target_key()] if config is not None else [])
    return build_bundle(out, config=config, secrets=SecretStore(), config_path=config_path, config_error=error,
                        targets=targets)
