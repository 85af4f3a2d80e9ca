"""Helpers for tests that run the whole rollout against the sandbox: what the tenant holds, in a form two runs
can be compared by, and which requests wrote to it."""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
TOKEN_PATHS = ("/oauth2/v1/token", "/connect/token")


def writes(requests: list[dict[str, Any]]) -> list[str]:
    """`METHOD path` of every request that can change the tenant (token requests excluded)."""
    return [f"{r['method']} {r['path']}" for r in requests
            if r["method"] in WRITE_METHODS and not r["path"].endswith(TOKEN_PATHS)]


def tenant(state: dict[str, Any]) -> dict[str, Any]:
    """What the admin would see in both consoles, without ids that differ between sandboxes."""
    okta, ws1 = state["okta"], state["ws1"]
    return {
        "okta_apps": sorted((a["label"], a["status"]) for a in okta["apps"]),
        "okta_assignments": sorted((a["group_name"],) for a in okta["group_assignments"]),
        "ws1_apps": sorted((a.get("name") or a.get("ApplicationName"), a.get("version") or a.get("AppVersion"))
                           for a in ws1["apps"]),
        "assignment_rules": sorted(len(r.get("assignments") or []) for r in ws1["assignment_rules"]),
        "profiles": sorted((p["name"], len(p["body"].get("CustomSettingsList") or [])) for p in ws1["profiles"]),
    }


def duplicates(state: dict[str, Any]) -> list[str]:
    """Anything odatui created twice: apps, assignments, rules or profiles."""
    out = []
    for what, items in tenant(state).items():
        if what == "assignment_rules":
            continue
        for item, n in collections.Counter(items).items():
            if n > 1:
                out.append(f"{what}: {item} ×{n}")
    for rule in state["ws1"]["assignment_rules"]:
        groups = [g for a in rule.get("assignments") or [] for g in a["distribution"].get("smart_groups") or []]
        for group, n in collections.Counter(groups).items():
            if n > 1:
                out.append(f"assignment rule of {rule['app_uuid']}: smart group {group} ×{n}")
    okta_pairs = collections.Counter((a["app_id"], a["group_id"]) for a in state["okta"]["group_assignments"])
    out += [f"okta assignment {pair} ×{n}" for pair, n in okta_pairs.items() if n > 1]
    return out


@pytest.fixture
def demo_factory():
    """Start demo sessions (sandbox + sample package + config at `session.config_path`); all closed at the end."""
    from odatui.cli.demo import start_demo

    sessions = []

    def start(**options):
        session = start_demo(**{"psso_app": "present", **options})
        sessions.append(session)
        return session

    yield start
    for session in sessions:
        session.close()


def odatui_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120, **kw: Any):
    """`python -m odatui ARGS` in a child process with this test's environment (isolated dirs, keyring backend)."""
    return subprocess.run([sys.executable, "-m", "odatui", *args], cwd=REPO, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)
