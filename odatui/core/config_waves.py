"""`[[rollout.waves]]` and `[rollout.gate]`: a staged rollout as the admin writes it, and `Wave`, what the steps read.

A wave is one WS1 smart group (an existing one, or one odatui creates with exactly the listed serials), the Okta
groups assigned when it starts, and an optional start. The gate says when a wave's Macs get the Platform SSO
profile: enough of them have Okta Verify, and the previous wave is not failing. `[ws1] smart_groups` (the older
form) still works: its groups become waves without gates (the profile goes to all of them at once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import field_validator

from odatui.core.config_fields import Table, listed_once, okta_group_names

# Apple serial numbers: 10 or 12 upper-case letters and digits (older Macs 11). Apple documents no format; this is
# what Apple's "Check Coverage" form accepts (unverified) and all that odatui needs to catch a pasted typo.
SERIAL_RE = re.compile(r"^[A-Z0-9]{8,14}$")


class WaveConfig(Table):
    name: str
    smart_group: str
    # Make the smart group when it does not exist: with `serials`, exactly those Macs (read back after create);
    # without, the macOS Macs of the organization group at or above the floor (criteria).
    create: bool = False
    serials: list[str] = []
    okta_groups: list[str] = []  # assigned to the Okta app when the wave starts; default: [okta] groups
    start: datetime | None = None  # UTC when written without an offset

    @field_validator("name", "smart_group")
    @classmethod
    def _nonblank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be empty; give the wave a name and its WS1 smart group")
        return v.strip()

    @field_validator("serials")
    @classmethod
    def _serials(cls, v: list[str]) -> list[str]:
        out = [s.strip().upper() for s in v]
        bad = [s for s in out if not SERIAL_RE.match(s)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not a Mac serial number (8 to 14 letters and digits, as in "
                             "System Settings > General > About); fix or remove it")
        return listed_once(out, "serial")

    @field_validator("okta_groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        return okta_group_names(v)

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: Any) -> Any:
        if v is None or isinstance(v, datetime):
            return v
        try:
            return datetime.fromisoformat(str(v).strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"is not a date and time like 2026-12-10T09:00:00Z (got {v!r})") from None


class GateConfig(Table):
    okta_verify_installed: float = 0.9  # share of a wave's eligible Macs with Okta Verify before its profile
    max_failing: float = 0.05  # share of the previous wave's Macs failing before the next wave starts

    @field_validator("okta_verify_installed", "max_failing")
    @classmethod
    def _share(cls, v: float) -> float:
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"is a share between 0 and 1, like 0.9 for 90% (got {v})")
        return v


def check_waves(waves: list[WaveConfig]) -> None:
    """Rules across waves; ValueError with the sentence pydantic shows next to `rollout.waves`."""
    for attr, what in (("name", "wave name"), ("smart_group", "smart group")):
        seen: dict[str, str] = {}
        for w in waves:
            key = getattr(w, attr).lower()
            if key in seen:
                raise ValueError(f"waves {seen[key]!r} and {w.name!r} both name the {what} {getattr(w, attr)!r}; "
                                 "give each wave its own")
            seen[key] = w.name
    serials: dict[str, str] = {}
    for w in waves:
        if w.serials and not w.create:
            raise ValueError(f"wave {w.name!r} lists serials but not create = true: odatui only sets the membership "
                             "of a smart group it creates; add create = true or drop serials")
        for s in w.serials:
            if s in serials:
                raise ValueError(f"serial {s} is in waves {serials[s]!r} and {w.name!r}; a Mac belongs to one wave")
            serials[s] = w.name


@dataclass(frozen=True)
class Wave:
    """One wave as the steps see it, from either config form."""

    name: str
    smart_group: str
    create: bool
    serials: tuple[str, ...]
    okta_groups: tuple[str, ...]
    start: datetime | None  # aware, UTC
    gated: bool  # False for `[ws1] smart_groups` waves: the profile goes to all of them at once

    def started(self, now: datetime) -> bool:
        return self.start is None or self.start <= now


def as_utc(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def waves_of(config: Any) -> list[Wave]:
    """The rollout's waves in order: `[[rollout.waves]]`, else `[ws1] smart_groups` (or `smart_group`) as waves
    without gates, with `[ws1] start_dates` and `[okta] groups`."""
    okta_groups = tuple(config.okta.groups)
    if config.rollout.waves:
        return [Wave(w.name, w.smart_group, w.create, tuple(w.serials), tuple(w.okta_groups) or okta_groups,
                     as_utc(w.start), gated=True) for w in config.rollout.waves]
    ws1 = config.ws1
    starts = ws1.start_dates
    return [Wave(name, name, ws1.create_smart_groups, (), okta_groups,
                 as_utc(datetime.fromisoformat(starts[name])) if name in starts else None, gated=False)
            for name in ws1.wave]
