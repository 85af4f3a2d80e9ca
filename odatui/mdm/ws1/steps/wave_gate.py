"""Health gates between waves: how far each wave got (bulk listings only) and whether its gate holds.

A wave's Macs get the Platform SSO profile only when its gate holds (Okta: Okta Verify, then the Device Access
certificate, then the SSO profile: "the steps must be followed in the order they're listed", "Configure Platform
Single Sign-on for macOS 14"):
1. its start has passed;
2. the previous wave already had the profile when this run began (so one run moves at most one wave, and the
   previous wave's Macs had the time between two runs to report), and fails on at most `max_failing` of its Macs;
3. every prerequisite is installed on at least its share of the wave's eligible Macs (Apple silicon, at or above
   the floor): Okta Verify (`okta_verify_installed`) and, when odatui deploys it, the certificate profile.
An admin may open one gate by hand (`odatui apply --advance-wave NAME --yes`), recorded in the run state.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from odatui.core.config_waves import Wave
from odatui.mdm.ws1.steps.wave_facts import Fleet, read_fleet
from odatui.mdm.ws1.api.base import PAGE_CONCURRENCY
from odatui.mdm.ws1.api.device_rows import PROFILE_FAILED_STATUSES, below_floor, id_of

DETAIL_BUDGET = 100  # per wave: profile-status lookups (one request per Mac) to find profiles that failed


@dataclass(frozen=True)
class Prerequisite:
    """What must be on a wave's Macs before its SSO profile: a label, where its installs are counted, and the
    share of eligible Macs that must have it."""

    label: str
    share: float
    app_id: int | None = None  # an internal app (Okta Verify)
    profile_id: int | None = None  # or an odatui profile that precedes the SSO profile (the certificate profile)


def prerequisites(gate: Any, outputs: dict[str, Any]) -> list[Prerequisite]:
    """Okta Verify, and every odatui-owned profile that must precede the SSO profile (one line each)."""
    out = [Prerequisite("Okta Verify", gate.okta_verify_installed, app_id=(outputs.get("ws1.upload") or {}).get("app_id"))]
    cert = (outputs.get("ws1.certificate") or {}).get("certificate_profile_id")
    if cert is not None:  # issue 22's certificate profile: its install share gates the wave like Okta Verify's
        out.append(Prerequisite("certificate profile", gate.okta_verify_installed, profile_id=int(cert)))
    return out


@dataclass
class WaveCounts:
    wave: str
    smart_group: str
    smart_group_id: int
    devices: int = 0
    eligible: int = 0
    installed: dict[str, int] = field(default_factory=dict)  # prerequisite label → eligible Macs that have it
    profile_installed: int = 0
    failing: int = 0
    has_profile: bool = False  # the SSO profile is assigned to this wave's group (as read at the start)
    registered: int | None = None  # Okta Verify registrations (Okta Devices API), when read
    failing_reasons: dict[str, int] = field(default_factory=dict)


@dataclass
class GateState:
    wave: str
    state: str  # "open" (has the profile or gets it now), "gated", "waiting" (an earlier wave is gated), "no gate"
    reason: str
    opens_now: bool = False
    overridden: dict[str, str] | None = None

    @property
    def open(self) -> bool:
        return self.state in ("open", "no gate")


def _pct(n: int, d: int) -> str:
    return f"{(100 * n / d):.0f}%" if d else "n/a"


def decide(waves: list[Wave], counts: list[WaveCounts], gate: Any, prereqs: list[Prerequisite], now: datetime,
           overrides: dict[str, dict[str, str]]) -> list[GateState]:
    """Each wave's gate, in order; the first gated wave holds back every wave after it."""
    out: list[GateState] = []
    blocked_by: str | None = None
    for i, (wave, c) in enumerate(zip(waves, counts)):
        if not wave.gated:
            out.append(GateState(wave.name, "no gate", "no gate ([ws1] smart_groups)", opens_now=not c.has_profile))
            continue
        if c.has_profile:
            out.append(GateState(wave.name, "open", "has the profile"))
            continue
        if blocked_by is not None:
            out.append(GateState(wave.name, "waiting", f"waits for wave {blocked_by!r}"))
            continue
        reason = _gate_reason(wave, c, waves[i - 1] if i else None, counts[i - 1] if i else None, gate, prereqs, now)
        override = overrides.get(wave.name)
        if reason and override:
            out.append(GateState(wave.name, "open", f"opened by hand by {override.get('by')} at {override.get('at')} "
                                 f"(gate: {reason})", opens_now=True, overridden=override))
        elif reason:
            out.append(GateState(wave.name, "gated", reason))
            blocked_by = wave.name
        else:
            # The next wave then reads "has not had the profile yet": it starts a run later, at the earliest.
            out.append(GateState(wave.name, "open", "gate holds: " + _holds(c, prereqs), opens_now=True))
    return out


def _gate_reason(wave: Wave, c: WaveCounts, prev: Wave | None, pc: WaveCounts | None, gate: Any,
                 prereqs: list[Prerequisite], now: datetime) -> str:
    """Why the gate does not hold ("" when it does): the first reason, as one phrase."""
    if wave.start is not None and wave.start > now:
        return f"starts {wave.start.strftime('%Y-%m-%d %H:%M')} UTC"
    if prev is not None and pc is not None:
        if not pc.has_profile:
            return f"wave {prev.name!r} has not had the profile yet"
        if pc.devices and pc.failing / pc.devices > gate.max_failing:
            return (f"wave {prev.name!r} failing on {_pct(pc.failing, pc.devices)} > {_pct_f(gate.max_failing)} "
                    f"({pc.failing} of {pc.devices} Macs)")
    if c.eligible == 0:
        return "no eligible Macs (Apple silicon at or above the floor) in the wave"
    for p in prereqs:
        have = c.installed.get(p.label, 0)
        if have / c.eligible < p.share:
            return f"{p.label} on {_pct(have, c.eligible)} < {_pct_f(p.share)} ({have} of {c.eligible} eligible Macs)"
    return ""


def _pct_f(share: float) -> str:
    return f"{100 * share:.0f}%"


def _holds(c: WaveCounts, prereqs: list[Prerequisite]) -> str:
    return ", ".join(f"{p.label} on {_pct(c.installed.get(p.label, 0), c.eligible)}" for p in prereqs)


async def count_waves(client: Any, og_id: int, groups: list[dict[str, Any]], *, floor: int,
                      prereqs: list[Prerequisite], profile: dict[str, Any] | None,
                      fleet: Fleet | None = None) -> list[WaveCounts]:
    """Per wave group: members, eligible Macs, prerequisite installs, SSO profile installs and failing Macs, from
    bulk listings (smart group members, app installed devices, profile install states, device pages). Per-Mac
    profile lookups only to find failed profiles, at most DETAIL_BUDGET per wave."""
    sem = asyncio.Semaphore(PAGE_CONCURRENCY)
    fleet_task = asyncio.create_task(read_fleet(client, og_id)) if fleet is None else None
    members = await asyncio.gather(*(client.smart_group_device_ids(int(g["id"])) for g in groups))
    installed: dict[str, set[int]] = {}
    for p in prereqs:
        if p.app_id is not None:
            installed[p.label] = await client.app_device_ids(int(p.app_id), og_id, sem)
        elif p.profile_id is not None:
            uuid = ((await client.get_profile(p.profile_id)).get("General") or {}).get("ProfileUuid")
            installed[p.label] = await client.profile_device_ids(uuid, "INSTALLED", sem) if uuid else set()
        else:
            installed[p.label] = set()
    general = (profile or {}).get("General") or {}
    assigned = {int(s.get("SmartGroupId") or 0) for s in general.get("AssignedSmartGroups") or []}
    uuid = general.get("ProfileUuid")
    p_in = await client.profile_device_ids(uuid, "INSTALLED", sem) if uuid and assigned else set()
    p_out = await client.profile_device_ids(uuid, "NOT_INSTALLED", sem) if uuid and assigned else set()
    fleet = fleet if fleet is not None else await fleet_task  # type: ignore[misc]
    ov = installed.get("Okta Verify", set())
    out = []
    for g, ids in zip(groups, members):
        c = WaveCounts(g.get("wave") or g["name"], g["name"], int(g["id"]), devices=len(ids),
                       has_profile=int(g["id"]) in assigned)
        eligible = [i for i in ids if not _ineligible(fleet, i, floor)]
        c.eligible = len(eligible)
        c.installed = {label: sum(1 for i in eligible if i in have) for label, have in installed.items()}
        c.profile_installed = sum(1 for i in ids if i in p_in)
        if c.has_profile:
            reasons = await _failing(client, fleet, ids, p_in, p_out, ov, floor, int(general.get("ProfileId") or 0))
            c.failing = len(reasons)
            for why in reasons.values():
                c.failing_reasons[why] = c.failing_reasons.get(why, 0) + 1
        out.append(c)
    return out


def _ineligible(fleet: Fleet, device_id: int, floor: int) -> bool:
    mac = fleet.by_id.get(device_id)
    return mac is not None and (mac.intel or below_floor(mac.macos, floor))


async def _failing(client: Any, fleet: Fleet, ids: list[int], p_in: set[int], p_out: set[int], ov: set[int],
                   floor: int, profile_id: int) -> dict[int, str]:
    """Macs of a wave that has the profile where the rollout failed, by the reasons `status --devices` gives:
    below the floor, Intel, no user-approved MDM, the profile before Okta Verify, the profile failed."""
    out: dict[int, str] = {}
    pending = []
    for i in ids:
        mac = fleet.by_id.get(i)
        if mac is not None and below_floor(mac.macos, floor):
            out[i] = "below macOS floor"
        elif mac is not None and mac.intel:
            out[i] = "Intel Mac"
        elif mac is not None and mac.user_approved is False:
            out[i] = "not enrolled with user-approved MDM"
        elif i in p_in and i not in ov:
            out[i] = "profile before Okta Verify"
        elif i in p_out:
            pending.append(i)
    for i in pending[:DETAIL_BUDGET]:
        profiles = await client.device_profiles(i)
        mine = next((p for p in profiles if id_of(p) == profile_id), None)
        if mine is not None and mine.get("Status") in PROFILE_FAILED_STATUSES:
            out[i] = "profile failed"
    return out


def as_dicts(counts: list[WaveCounts], states: list[GateState]) -> list[dict[str, Any]]:
    """The run state's and `odatui waves --json`'s shape: one object per wave."""
    out = []
    for c, s in zip(counts, states):
        item = asdict(c)
        item.update({"okta_verify_installed": c.installed.get("Okta Verify", 0), "gate": s.state,
                     "reason": s.reason, "opens_now": s.opens_now})
        if s.overridden:
            item["overridden"] = s.overridden
        out.append(item)
    return out

