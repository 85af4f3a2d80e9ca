"""Honest counts (issue 23), through the real CLI against the sandbox over HTTPS: Desktop Password Sync
registrations come from Okta's System Log per user of the rollout's groups, apart from the org-wide count of Macs
registered with Okta Verify for any feature; a service app missing the scope is named; `repush` targets only
reasons a re-push fixes."""

from __future__ import annotations

import asyncio
import json

from types import SimpleNamespace

import pytest
from rollout import demo_factory, odatui_cli  # noqa: F401 - demo_factory is a fixture
from test_device_status import _admin


def admin(sb, path: str, body: dict) -> dict:
    return _admin(SimpleNamespace(sandbox=sb), path, body)


@pytest.fixture
def rolled_out(demo_factory, sandbox_env):
    session = demo_factory(devices=40, seed=3)
    run = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    admin(session.sandbox, "/_sandbox/ws1/clock", {"advance_s": 3600})  # the Macs check in
    return session


def test_500_org_wide_okta_verify_macs_are_reported_apart_from_the_rollouts_dps_registrations(rolled_out):
    sb = rolled_out.sandbox
    okta = sb.world.emulators["okta"]
    fleet_registered = len(okta.org_routes._fleet_devices())
    admin(sb, "/_sandbox/okta/settings", {"registered_macs": 500})  # FastPass Macs all over the org
    admin(sb, "/_sandbox/okta/settings", {"dps_enrollments": {"group": "Mac Pilot", "count": 3}})  # the rollout's
    admin(sb, "/_sandbox/okta/settings", {"group_members": {"Engineering": 4}})
    admin(sb, "/_sandbox/okta/settings", {"dps_enrollments": {"group": "Engineering", "count": 2}})  # not the rollout's

    run = odatui_cli("status", "--json", "--config", str(rolled_out.config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    rollout = json.loads(run.stdout)["rollout"]
    assert rollout["okta_verify_macs"] == 500 + fleet_registered
    assert rollout["okta_verify_macs_label"] == "Macs registered with Okta Verify (any feature)"
    dps = rollout["dps_registrations"]
    assert dps["users"] == 3 and dps["rollout_users"] == 5  # only the Mac Pilot users who registered
    assert dps["other_users"] == 2 + fleet_registered  # events of users outside the rollout's groups, apart
    assert "device.password_sync.enrollment.create" in dps["source"]

    text = odatui_cli("status", "--config", str(rolled_out.config_path)).stdout
    assert "Desktop Password Sync registrations: 3 of the rollout's 5" in text
    assert f"Macs registered with Okta Verify (any feature): {500 + fleet_registered}" in text
    assert "registration finished" not in text


def test_a_service_app_without_okta_logs_read_is_named(sandbox, tmp_path):
    from odatui.core.config import parse_config
    from odatui.service.registrations import dps_registrations, okta_verify_macs

    admin(sandbox, "/_sandbox/okta/settings", {"granted_scopes": [
        "okta.apps.read", "okta.apps.manage", "okta.groups.read", "okta.users.read", "okta.authenticators.read",
        "okta.devices.read"]})
    config = parse_config(sandbox.config_dict("service_app"), source="test")
    _, key_path = sandbox.okta_service_app()

    class Secrets:
        def require(self, name, target=None):
            assert name == "okta.private_key"
            return key_path.read_text()

        get = require

    dps = asyncio.run(dps_registrations(config, Secrets(), {}))
    assert dps["users"] is None and "okta.logs.read" in dps["error"] and "Okta API Scopes" in dps["error"]
    # The device count asks for okta.devices.read itself (it used to be never requested) and gets it.
    macs, error = asyncio.run(okta_verify_macs(config, Secrets()))
    assert error is None and macs == 0
    tokens = [r for r in sandbox.world.requests if r["path"] == "/oauth2/v1/token"]
    assert tokens, "no token was asked for"


def test_a_registration_logged_this_second_is_counted(sandbox, sandbox_env):
    """The System Log read is bounded (`until`), and its bound includes the current second."""
    from datetime import datetime

    from odatui.core.config import parse_config
    from odatui.core.secrets import SecretStore
    from odatui.service.registrations import dps_registrations

    okta = sandbox.world.emulators["okta"]
    okta.log_routes.add_dps_enrollments("Mac Pilot", 2)
    published = datetime.fromisoformat(okta.log_events[-1]["published"].replace("Z", "+00:00"))
    config = parse_config(sandbox.config_dict(), source="test")
    dps = asyncio.run(dps_registrations(config, SecretStore(), {}, now=published))
    assert dps["users"] == 2 and dps["rollout_users"] == 5 and dps["other_users"] == 0
