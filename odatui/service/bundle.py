"""The support bundle (`odatui bundle --out FILE`, the wizard's palette): a zip for support — the redacted config,
the run states, the last logs and the versions of odatui, Python, Textual, httpx and the OS.

Everything goes through the log's redaction first; then the finished zip is read back and searched for every
secret value odatui knows (registered ones and the secret store's). One hit and the zip is deleted: a bundle
is mailed around, so it must never be the place a token leaks.
"""

from __future__ import annotations

import json
import os
import platform
import time
import zipfile
from pathlib import Path
from typing import Any

from odatui.core.errors import OdatuiError, UsageError
from odatui.core.log import known_secrets, redact

LOG_FILES = ("odatui.log", "odatui.log.1")  # the current log and the one before it (≤ 2 MB)


def versions() -> dict[str, str]:
    from importlib import metadata

    from odatui import __version__

    out = {"odatui": __version__, "python": platform.python_version(),
           "python_implementation": platform.python_implementation(), "os": platform.platform(),
           "machine": platform.machine()}
    for dist in ("textual", "httpx", "pydantic", "keyring"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _config_member(config: Any, config_path: Path | None, config_error: str | None) -> str:
    if config is not None:
        import tomli_w

        return "# odatui config as loaded (file + ODATUI_* overrides); redacted\n" + tomli_w.dumps(config.to_toml_dict())
    text = f"# the config could not be loaded: {config_error}\n"
    if config_path is not None and config_path.is_file():
        try:
            text += config_path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            text += f"# and could not be read: {exc.strerror}\n"
    return text


def without_mac_users(text: str) -> str:
    """A run state without the enrolled users of each wave's Macs (preflight.ws1 keeps up to 2,000 per wave for the
    Okta-group check): support needs the counts, not the people. Text that is not a run state goes as it is."""
    try:
        data = json.loads(text)
        for step in (data.get("steps") or {}).values():
            for group in ((step or {}).get("outputs") or {}).get("smart_groups") or []:
                if isinstance(group, dict) and "users" in group:
                    group["users"] = f"{len(group['users'])} users left out of the bundle"
    except (ValueError, AttributeError, TypeError):
        return text
    return json.dumps(data, indent=2) + "\n"


def secret_values(config: Any, secrets: Any) -> dict[str, str]:
    """Every secret value odatui can know of (value → what it is): registered in the log, in the environment,
    in the secret store (whose in-memory values, e.g. the demo's, are never registered)."""
    from odatui.core.secrets import SECRETS, target_for

    found = {v: "a registered secret" for v in known_secrets()}
    for name, (env, _) in SECRETS.items():
        if os.environ.get(env):
            found[os.environ[env]] = name
        if secrets is None:
            continue
        try:
            value = secrets.get(name, target_for(name, config) if config is not None else "")
        except OdatuiError:
            value = None  # a locked keychain: its values cannot be in our files either
        if value:
            found[value] = name
    return {v: k for v, k in found.items() if v and len(v) >= 4}


def scan(path: Path, secrets: dict[str, str]) -> list[str]:
    """`member: what` for every secret value found inside the zip's files."""
    hits = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            for value, name in secrets.items():
                if value.encode() in data:
                    hits.append(f"{info.filename}: {name}")
    return hits


def build_bundle(out: Path, *, config: Any, secrets: Any, config_path: Path | None = None,
                 config_error: str | None = None, state_dir: Path | None = None, log_dir: Path | None = None,
                 targets: list[str] | None = None) -> list[str]:
    """Write the zip to `out`; returns its member names. Raises OdatuiError (and leaves no file) on a secret.
    `targets`: the run states to include (None: every target's). Another customer's tenant names and ids are not
    this support case's business, so the CLI passes only the `--config` target unless `--all`."""
    from odatui.core import paths

    state_dir = state_dir or paths.state_dir() / "runs"
    log_dir = log_dir or paths.log_dir()
    members: dict[str, str] = {"config.toml": _config_member(config, config_path, config_error)}
    # A target's run state is kept under its canonical identity and its config spelling links to it (odatui.core.identity):
    # follow the link, so `--config` brings its tenant's history whatever the spelling.
    wanted: set[str] = set()
    for t in targets or ():
        spelled = state_dir / f"{t}.json"
        wanted.add(spelled.name)
        if spelled.is_symlink():
            wanted.add(Path(os.readlink(spelled)).name)
    for state in sorted(state_dir.glob("*.json")) if state_dir.is_dir() else []:
        if state.is_symlink():
            continue  # a config spelling's link to its target's state (odatui.core.identity): that file is included
        if targets is not None and not state.name.startswith(tuple(f"{w.removesuffix('.json')}." for w in wanted)):
            continue  # another target's (its state, or one set aside next to it)
        members[f"state/{state.name}"] = without_mac_users(state.read_text(encoding="utf-8", errors="replace"))
    for name in LOG_FILES:
        log = log_dir / name
        if log.is_file():
            members[f"logs/{name}"] = log.read_text(encoding="utf-8", errors="replace")
    members["versions.json"] = json.dumps(versions(), indent=2) + "\n"
    if secrets is not None and config is not None:
        try:
            # Where each secret comes from, never its value (a list: `"x.api_token": …` would read as a secret).
            sources = [{"name": k, "source": v} for k, v in secrets.status_for(config).items()]
            members["secrets.json"] = json.dumps(sources, indent=2) + "\n"
        except OdatuiError as exc:
            members["secrets.json"] = json.dumps({"error": exc.message}) + "\n"
    members["README.txt"] = (
        f"odatui support bundle, {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n"
        "config.toml: the answers (no secrets), state/: run state per target, logs/: the last logs,\n"
        "versions.json: software versions, secrets.json: where each secret comes from (never its value).\n"
        "Every file was redacted and the zip checked for known secret values before it was written.\n")

    # Read first: values that come from the keychain get registered, so the redaction below removes them too.
    values = secret_values(config, secrets)
    import io

    from odatui.core.files import atomic_write, write_error

    # Built and scanned in memory (a few MB at most: logs are capped), then written atomically, 0600: a refused
    # bundle, a full disk or a folder in the way leave nothing behind.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, redact(text))
    hits = scan(buf, {**secret_values(config, None), **values})  # type: ignore[arg-type]
    if hits:
        raise OdatuiError(
            f"refusing to write the support bundle: a secret value was found in {', '.join(sorted(set(hits)))}",
            hint="nothing was written; please report this (without the bundle) — it means a secret reached a "
                 "file that odatui should have redacted")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(out, exc, "support bundle") from None
    atomic_write(out, buf.getvalue(), what="support bundle")
    return list(members)


def is_bundle(path: Path) -> bool:
    """An earlier odatui support bundle (safe to replace), judged by its README member."""
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.read("README.txt").startswith(b"odatui support bundle")
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return False


def write_bundle(out: Path, config_path: Path | None, *, force: bool = False, all_targets: bool = False) -> list[str]:
    """Write the bundle to `out`; its member names. Only the config's target's run state unless `all_targets`."""
    from odatui.core.config import load_config
    from odatui.core.files import refuse_overwrite
    from odatui.core.secrets import SecretStore

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
            from odatui.core.paths import default_config_path

            config_path = default_config_path()
    targets = None if all_targets else ([config.target_key()] if config is not None else [])
    return build_bundle(out, config=config, secrets=SecretStore(), config_path=config_path, config_error=error,
                        targets=targets)
