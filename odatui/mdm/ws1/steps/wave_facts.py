"""What the Macs of each wave are, from bulk listings only: the members of each wave's smart group and the
organization group's device pages (serial, macOS, CPU, user, user-approved MDM), never a request per Mac.

One pass serves three readers: the serials of a wave that odatui creates (serial → device id), the readiness
warnings (below the floor, no user-approved MDM, Intel), and the facts later steps need (how many macOS 26 Macs
each wave holds for the Okta Verify minimum, the enrolled users for the Okta-group check).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from odatui.core.paging import page_count
from odatui.mdm.ws1.api.base import PAGE_CONCURRENCY, PAGE_SIZE
from odatui.mdm.ws1.api.device_rows import below_floor, id_of, os_tuple

SAMPLE = 3  # Macs named per warning
MAX_USERS_KEPT = 2_000  # enrolled users kept per wave in the run state for the Okta-group check


# DeviceExtended.ProcessorArchitecture (2604 mdmv1) is an int32 whose values WS1 does not document. Read as
# Windows' PROCESSOR_ARCHITECTURE codes (0 x86, 9 x64; 5 ARM, 12 ARM64): unverified for Macs. Anything else counts
# as unknown, never as Intel.
INTEL_CODES = (0, 9)


def is_intel(arch: Any) -> bool:
    """Okta: Platform SSO "is supported only on physical Macs with Apple silicon" ("Configure Desktop Password Sync
    for macOS 26"). A missing value is not Intel."""
    return isinstance(arch, int) and not isinstance(arch, bool) and arch in INTEL_CODES


@dataclass
class Mac:
    id: int
    serial: str
    name: str
    macos: str
    user: str  # the enrolled user's email, else user name (lower-case)
    user_approved: bool | None
    intel: bool


@dataclass
class Fleet:
    """The organization group's Macs by id and by serial, from the device pages."""

    by_id: dict[int, Mac] = field(default_factory=dict)
    by_serial: dict[str, Mac] = field(default_factory=dict)


async def read_fleet(client: Any, og_id: int) -> Fleet:
    """Every Mac of the organization group: its device pages side by side (Devices_SearchAsync, mdm v1)."""
    fleet = Fleet()
    sem = asyncio.Semaphore(PAGE_CONCURRENCY)

    def take(items: list[dict[str, Any]]) -> None:
        for item in items:
            device_id = id_of(item)
            if device_id is None:
                continue
            user = str(item.get("UserEmailAddress") or item.get("UserName") or "").strip().lower()
            approved = item.get("UserApprovedEnrollment")
            mac = Mac(device_id, str(item.get("SerialNumber") or "").strip().upper(),
                      str(item.get("DeviceFriendlyName") or device_id), str(item.get("OperatingSystem") or ""), user,
                      approved if isinstance(approved, bool) else None, is_intel(item.get("ProcessorArchitecture")))
            fleet.by_id[device_id] = mac
            if mac.serial:
                fleet.by_serial[mac.serial] = mac

    async def page(n: int) -> list[dict[str, Any]]:
        async with sem:
            items, _ = await client.device_page(og_id, n)
        return items

    items, total = await client.device_page(og_id, 0)
    take(items)
    for items in await asyncio.gather(*(page(n) for n in range(1, page_count(total, PAGE_SIZE, "device list")))):
        take(items)
    return fleet


def major(macos: str) -> int | None:
    parts = os_tuple(macos)
    return parts[0] if parts else None


def _sample(names: list[str], total: int) -> str:
    shown = ", ".join(names[:SAMPLE])
    return shown + (f" and {total - SAMPLE} more" if total > SAMPLE else "")


def wave_facts(fleet: Fleet, members: list[int]) -> dict[str, Any]:
    """Per wave, for the run state: counts that later steps and `odatui waves` read, and a capped user list."""
    macs = [fleet.by_id[i] for i in members if i in fleet.by_id]
    users = sorted({m.user for m in macs if m.user})
    return {"macos26": sum(1 for m in macs if (major(m.macos) or 0) >= 26),
            "intel": sum(1 for m in macs if m.intel),
            "users": users[:MAX_USERS_KEPT], "users_total": len(users)}


def readiness(fleet: Fleet, members: dict[str, list[int]], macos_min: int) -> list[str]:
    """Warnings for the Macs of all waves together: below the floor, without user-approved MDM, Intel."""
    seen: dict[int, Mac] = {}
    for ids in members.values():
        for i in ids:
            if i in fleet.by_id:
                seen[i] = fleet.by_id[i]
    macs = list(seen.values())
    below = [f"{m.name} ({m.macos})" for m in macs if below_floor(m.macos, macos_min)]
    unapproved = [m.name for m in macs if m.user_approved is False]
    intel = [m.name for m in macs if m.intel]
    where = "the smart groups" if len(members) > 1 else "the smart group"
    out = []
    if below:
        # A WS1 profile has no minimum-OS field (2604 GeneralPayloadV2Entity): WS1 pushes it to every member.
        out.append(f"{len(below)} of {len(macs)} Macs in {where} run macOS below the floor {macos_min}: Workspace ONE "
                   f"pushes the profile to them anyway and Platform SSO will not work there: "
                   f"{_sample(below, len(below))}")
    if unapproved:
        out.append(f"{len(unapproved)} of {len(macs)} Macs are not enrolled with user-approved MDM: "
                   f"{_sample(unapproved, len(unapproved))}")
    if intel:
        out.append(f"{len(intel)} of {len(macs)} Macs are Intel Macs: Platform SSO needs Apple silicon (Okta), so they "
                   f"will not register: {_sample(intel, len(intel))}")
    return out
