"""Honest Okta counts for `status`: Desktop Password Sync registrations of the rollout's users (System Log), apart
from Macs registered with Okta Verify for any feature (Devices API: FastPass Macs count there too).

Okta tracks Password Sync registrations with the System Log event `device.password_sync.enrollment.create`
(Okta, "Configure Platform Single Sign-on for macOS 14"); the Devices API lists every Mac Okta Verify registered,
whatever it registered for. The System Log keeps 90 days (Okta, "System Log", help.okta.com …/reports/
syslog.htm: "retained for 90 days"), so older registrations are not counted.

In service-app mode each read asks for its own token with only the scopes it needs: a scope the app was not
granted makes Okta refuse the whole token request (`invalid_scope`), and then the message names that scope.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any

from odatui.core.errors import OdatuiError
from odatui.core.log import redact
from odatui.okta.client import DPS_ENROLLMENT_EVENT, OktaApiError, OktaClient

LOG_RETENTION_DAYS = 90
GRANT_HINT = "grant it to the service app (Okta Admin Console → Applications → the app → Okta API Scopes)"
OKTA_VERIFY_MACS_LABEL = "Macs registered with Okta Verify (any feature)"


def _missing_scope(scope: str) -> str:
    return f"the service app lacks {scope}: {GRANT_HINT}"


async def _with_client(config: Any, secrets: Any, scopes: tuple[str, ...], read: Any) -> tuple[Any, str | None]:
    """(result of `read(client)`, None) or (None, why not). Read-only; failures are reported, never raised."""
    if config.okta.auth == "none":
        return None, "no Okta API access (okta.auth = \"none\")"
    try:
        client = await asyncio.to_thread(OktaClient.from_config, config.okta, secrets, scopes=scopes)
        try:
            return await read(client), None
        finally:
            await client.aclose()
    except OktaApiError as exc:
        if exc.error_code == "invalid_scope" or exc.status == 403:
            return None, _missing_scope(next((s for s in scopes if s != "okta.groups.read"), scopes[0]))
        return None, redact(exc.message)
    except OdatuiError as exc:
        return None, redact(exc.message)


async def okta_verify_macs(config: Any, secrets: Any) -> tuple[int | None, str | None]:
    """How many Macs Okta Verify registered, for any feature (FastPass, Desktop MFA, Password Sync)."""
    async def read(client: OktaClient) -> int:
        return await client.count_devices()

    return await _with_client(config, secrets, ("okta.devices.read",), read)


def rollout_groups(config: Any, outputs: dict[str, dict[str, Any]]) -> list[str]:
    """The Okta groups of the rollout: every group okta.assign assigned, else the configured ones."""
    assigned = (outputs.get("okta.assign") or {}).get("group_ids") or {}
    return list(assigned) or list(config.okta.groups)


async def dps_registrations(config: Any, secrets: Any, outputs: dict[str, dict[str, Any]],
                            now: datetime | None = None) -> dict[str, Any]:
    """Desktop Password Sync registrations of the rollout's users: distinct users of the rollout's Okta groups with
    a `device.password_sync.enrollment.create` event in the System Log; events of other users counted apart."""
    now = now or datetime.now(timezone.utc)
    since = (now - timedelta(days=LOG_RETENTION_DAYS)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    until = (now + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # whole seconds: this one included
    groups = rollout_groups(config, outputs)
    ids = (outputs.get("okta.assign") or {}).get("group_ids") or {}

    async def read(client: OktaClient) -> dict[str, Any]:
        members: set[str] = set()
        for name in groups:
            gid = ids.get(name) or ((await client.group_by_name(name)) or {}).get("id")
            if gid:
                async for page in client.group_users(gid):
                    members.update(str(u.get("id")) for u in page)
        registered: set[str] = set()
        others: set[str] = set()
        async for page in client.dps_enrollment_pages(since, until):
            for event in page:
                for user in _users(event):
                    (registered if user in members else others).add(user)
        return {"users": len(registered), "rollout_users": len(members), "other_users": len(others),
                "groups": groups, "since": since, "source": f"Okta System Log, event {DPS_ENROLLMENT_EVENT}"}

    result, error = await _with_client(config, secrets, ("okta.groups.read", "okta.logs.read"), read)
    return result if result is not None else {"users": None, "error": error}


def _users(event: dict[str, Any]) -> set[str]:
    """The user(s) an enrollment event is about: the actor when it is a user, and any user target (which of the
    two Okta fills for this event type is not documented: unverified, so both count)."""
    out = set()
    actor = event.get("actor") or {}
    if actor.get("type") == "User" and actor.get("id"):
        out.add(str(actor["id"]))
    for target in event.get("target") or []:
        if (target or {}).get("type") == "User" and target.get("id"):
            out.add(str(target["id"]))
    return out
