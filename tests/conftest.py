"""Shared fixtures: every test gets its own config/state/log dirs, no stray ODATUI_* env, and (unless marked
`keychain`) keyring's fail backend so no test can hang on a real keychain by accident."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VENDOR = REPO.parent / "shared" / "vendor"


def vendor_path(*parts: str) -> Path:
    path = VENDOR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"vendor contract {path} is not here (it lives in ../shared/vendor next to the repo)")
    return path


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch, request):
    home = tmp_path_factory.mktemp("home")
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(home / var.lower()))
    for var in list(os.environ):
        if var.startswith("ODATUI_"):
            monkeypatch.delenv(var)
    if request.node.get_closest_marker("keychain") is None:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    # keyring caches the backend it picked on first use; make every test pick again from its own environment,
    # or one test's real Secret Service would leak into the next test's fail backend (and the other way round).
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    import odatui.core.log

    odatui.core.log._configured = None
    yield home


@pytest.fixture
def sandbox_factory():
    """Start sandboxes with options: `sandbox_factory(psso_app="absent", latency_ms=50)`; all stop at the end."""
    from odatui.sandbox.server import Sandbox, SandboxOptions

    started = []

    def start(**options):
        sb = Sandbox(SandboxOptions(**options)).start()
        started.append(sb)
        return sb

    yield start
    for sb in started:
        sb.stop()


@pytest.fixture
def sandbox(sandbox_factory):
    return sandbox_factory()


@pytest.fixture
def sandbox_env(monkeypatch):
    """Put the sandbox's demo credentials into the env vars odatui reads for unattended runs."""
    from odatui.sandbox.server import Sandbox

    for key, value in Sandbox.secret_env().items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def sandbox_config(sandbox, sandbox_env):
    """A validated Config pointing at the default sandbox (package not set)."""
    from odatui.core.config import parse_config

    return parse_config(sandbox.config_dict(), source="sandbox")
