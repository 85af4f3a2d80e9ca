"""`odatui waves`: per wave, how far its Macs got and whether its gate holds, read live from bulk listings
(smart-group members, app installs, profile install states, device pages: no request per Mac, except at most a
bounded few to find failed profiles in waves that have the profile), against the ids of the last run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from odatui.core.errors import OdatuiError, UsageError
from odatui.steps.base import clients
from odatui.core.state import StateStore
from odatui.mdm.ws1.steps.wave_facts import read_fleet
from odatui.mdm.ws1.steps.wave_gate import as_dicts, count_waves, decide, prerequisites


async def _registered_serials(config: Any, secrets: Any) -> set[str] | None:
    """Serials of the Macs registered with Okta Verify (Okta Devices API, pages of 200), or None when Okta cannot
    be read (no API access, or credentials without okta.devices.read): `registered` then stays null."""
    if config.okta.auth == "none":
        return None
    try:
        async with clients(config, secrets, None, "okta") as ctx:
            return {str((d.get("profile") or {}).get("serialNumber") or "").upper()
                    async for page in ctx.okta().macos_device_pages() for d in page}
    except OdatuiError:
        return None


def _groups(config: Any, outputs: dict[str, Any]) -> list[dict[str, Any]]:
    pre = outputs.get("preflight.ws1") or {}
    groups = pre.get("smart_groups")
    if not groups or "og_id" not in pre:
        raise UsageError("no waves to look at yet: the last run has no Workspace ONE smart groups",
                         hint="run `odatui apply` (or the wizard) first; `odatui waves` reads its ids")
    by_wave = {g.get("wave") or g["name"]: g for g in groups}
    missing = [w.name for w in config.waves() if w.name not in by_wave]
    if missing:
        raise UsageError(f"wave {missing[0]!r} is in the config but not in the last run",
                         hint="run `odatui apply` so odatui finds (or creates) its smart group")
    return [by_wave[w.name] for w in config.waves()]


async def wave_status(config: Any, secrets: Any) -> list[dict[str, Any]]:
    """One object per wave: devices, eligible, okta_verify_installed, profile_installed, failing (and its reasons),
    registered (Macs Okta lists as registered, by serial; null when Okta cannot be read), gate ("open", "gated", "waiting", "no gate"), reason, opens_now."""
    outputs = StateStore(config.target_key()).load().outputs()
    groups = _groups(config, outputs)
    prereqs = prerequisites(config.rollout.gate, outputs)
    profile_id = (outputs.get("ws1.profile") or {}).get("profile_id")
    og_id = int(outputs["preflight.ws1"]["og_id"])
    async with clients(config, secrets, None, "ws1") as ctx:
        client = ctx.ws1()
        profile = await client.get_profile(int(profile_id)) if profile_id is not None else None
        fleet = await read_fleet(client, og_id)
        counts = await count_waves(client, og_id, groups, floor=config.rollout.macos_min, prereqs=prereqs,
                                   profile=profile, fleet=fleet)
        members = await asyncio.gather(*(client.smart_group_device_ids(int(g["id"])) for g in groups))
    serials = await _registered_serials(config, secrets)
    if serials is not None:
        for c, ids in zip(counts, members):
            c.registered = sum(1 for i in ids if i in fleet.by_id and fleet.by_id[i].serial in serials)
    overrides = (outputs.get("ws1.profile") or {}).get("overrides") or {}
    states = decide(config.waves(), counts, config.rollout.gate, prereqs, datetime.now(UTC), overrides)
    return as_dicts(counts, states)
