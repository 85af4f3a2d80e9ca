"""Where odatui keeps its files (platformdirs; honours XDG_* on Linux so tests can isolate them)."""

from __future__ import annotations

import os
from pathlib import Path

APP = "odatui"


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path


def config_dir() -> Path:
    import platformdirs

    return platformdirs.user_config_path(APP)


def default_config_path() -> Path:
    return config_dir() / "config.toml"


def state_dir() -> Path:
    import platformdirs

    return _private_dir(platformdirs.user_state_path(APP))


def log_dir() -> Path:
    import platformdirs

    return _private_dir(platformdirs.user_log_path(APP))


def cache_dir() -> Path:
    import platformdirs

    return _private_dir(platformdirs.user_cache_path(APP))
