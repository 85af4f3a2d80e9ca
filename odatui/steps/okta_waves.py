"""Okta matches WS1: each wave's Okta groups are assigned to the app when the wave starts, and the users of a
wave's Macs should be in them (a Mac whose user is not assigned gets the profile and fails to register: Okta,
"Configure Desktop Password Sync for macOS 14", users must be assigned to the app)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from odatui.core.errors import OdatuiError
from odatui.steps.base import Context

SAMPLE = 3  # users named per warning
MAX_GROUP_USERS = 10_000  # per wave: larger groups are not listed for the check (it says so)


def groups_now(config: Any) -> list[str]:
    """The Okta groups to assign in this run: those of every wave that has started (in wave order), or
    `[okta] groups` without waves."""
    if not config.rollout.waves:
        return list(config.okta.groups)
    now = datetime.now(UTC)
    return list(dict.fromkeys(g for w in config.waves() if w.started(now) for g in w.okta_groups))


def waiting_groups(config: Any) -> list[str]:
    """Okta groups of waves that have not started yet (and of no started wave)."""
    if not config.rollout.waves:
        return []
    now, started = datetime.now(UTC), set(groups_now(config))
    return list(dict.fromkeys(g for w in config.waves() if not w.started(now) for g in w.okta_groups
                              if g not in started))


async def wave_user_warnings(ctx: Context, ids: dict[str, str]) -> list[str]:
    """Per started wave: enrolled users of its Macs (from preflight.ws1's listing) who are not members of the
    wave's Okta groups, the first few named. Users are matched by Okta login or email (lower-case) against the WS1
    enrolled user's email (or user name)."""
    if not ctx.config.rollout.waves:
        return []
    groups = {g.get("wave"): g for g in (ctx.outputs.get("preflight.ws1") or {}).get("smart_groups") or []}
    client = ctx.okta()
    now = datetime.now(UTC)
    out: list[str] = []
    members: dict[str, set[str]] = {}
    for wave in ctx.config.waves():
        found = groups.get(wave.name)
        if not wave.started(now) or found is None or not found.get("users"):
            continue
        okta_users: set[str] = set()
        try:
            for name in wave.okta_groups:
                if name not in members:
                    members[name] = await _logins(client, ids[name]) if name in ids else set()
                okta_users |= members[name]
        except OdatuiError as exc:
            out.append(f"wave {wave.name!r}: could not list the users of its Okta groups: {exc.message}")
            continue
        missing = [u for u in found["users"] if u not in okta_users]
        if missing:
            shown = ", ".join(missing[:SAMPLE]) + (f" and {len(missing) - SAMPLE} more" if len(missing) > SAMPLE else "")
            capped = (f" (of the first {len(found['users']):,} users)"
                      if found.get("users_total", 0) > len(found["users"]) else "")
            out.append(f"wave {wave.name!r}: {len(missing)} Mac user(s){capped} are not in its Okta group(s) "
                       f"{', '.join(wave.okta_groups)}: their Macs get the profile but cannot register: {shown}")
    return out


async def _logins(client: Any, group_id: str) -> set[str]:
    out: set[str] = set()
    async for page in client.group_users(group_id):
        for user in page:
            profile = user.get("profile") or {}
            out |= {str(profile.get(k)).lower() for k in ("login", "email") if profile.get(k)}
        if len(out) >= 2 * MAX_GROUP_USERS:
            break
    return out
