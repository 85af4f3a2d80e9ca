"""What one Mac's per-device status looks like (a row of `odatui status --devices` and the wizard's table), the
fleet summary, and the rules that turn WS1's answers into a cell (installed, pending, failed, absent, unknown)."""

from __future__ import annotations

import functools
import inspect
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


DETAIL_CONCURRENCY = 8  # per-device lookups in flight (the client's connection pool is 10)
CERT_WARN_DAYS = 30

INSTALLED, PENDING, FAILED, ABSENT, UNKNOWN = "installed", "pending", "failed", "absent", "unknown"
NOT_USED = "not used"  # certificate column when odatui's profile carries no SCEP payload (rollout.scep, floor 13)
# Profiles_GetProfilesByDevice Status values (2604 DeviceProfileApiEntity enum) that mean the Mac could not
# install or keep the profile; the enum has no "Failed" (mapping unverified).
PROFILE_FAILED_STATUSES = {"Corrupted"}
# Which certificate is the Device Access SCEP one: WS1 names it after the profile's SCEP payload; odatui matches
# "Okta" in Name or IssuedBy (unverified: the names depend on the SCEP payload and the issuing CA).
CERT_MARKER = "okta"


@dataclass(frozen=True)
class OwnedProfile:
    """A WS1 profile odatui created for this rollout, from the run state: `key` names it in a row's `profiles`
    ("profile" is the Platform SSO profile of ws1.profile; another step's profile gets that step's name)."""
    key: str
    profile_id: int


@dataclass
class DeviceRow:
    id: int
    serial: str | None
    name: str | None
    macos: str | None
    user: str | None
    user_approved_mdm: bool | None
    profile: str
    okta_verify: str
    certificate: str
    certificate_expires: str | None = None
    reasons: list[str] = field(default_factory=list)
    # Install state of every profile odatui owns, by OwnedProfile.key, as the bulk listings (and lookups) judged it;
    # empty (and left out of the JSON) when the Platform SSO profile is the only one: its `profile` column says it.
    profiles: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        # By hand, not dataclasses.asdict (which deep-copies): 50,000 rows go through here.
        return {"id": self.id, "serial": self.serial, "name": self.name, "macos": self.macos, "user": self.user,
                "user_approved_mdm": self.user_approved_mdm, "profile": self.profile, "okta_verify": self.okta_verify,
                "certificate": self.certificate, "certificate_expires": self.certificate_expires,
                "reasons": self.reasons, **({"profiles": self.profiles} if self.profiles else {})}


@dataclass
class Summary:
    smart_groups: list[int]
    devices: int = 0
    failing: int = 0
    incomplete: int = 0
    not_listed: int = 0  # members the OG's device search did not return (another OG?)
    profile: Counter = field(default_factory=Counter)
    okta_verify: Counter = field(default_factory=Counter)
    certificate: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    requests: int = 0
    seconds: float = 0.0
    per_device: bool = True
    # What the bulk listings could not decide and no per-Mac lookup settled (bulk mode, or the budget ran out):
    # "profile" (assigned, not installed: pending or failed?), "certificate" (installed: which certificate?).
    undecided: Counter = field(default_factory=Counter)
    lookups: int = 0  # per-Mac lookups made
    max_requests: int | None = None  # the request budget of a detailed look
    pages_done: int = 0  # device pages judged so far, of pages_total (progress)
    pages_total: int = 0
    # Per smart group (waves): {group id: {"devices", "failing", "profile_installed", "okta_verify_installed"}}.
    by_group: dict[int, Counter] = field(default_factory=dict)

    def count(self, row: DeviceRow, groups: list[int]) -> None:
        """One judged Mac into the counts (and into each of `groups`' counts)."""
        self.devices += 1
        self.failing += bool(row.reasons)
        self.profile[row.profile] += 1
        self.okta_verify[row.okta_verify] += 1
        self.certificate[row.certificate] += 1
        for reason in row.reasons:
            # Counted by kind ("macOS 13.6 is below…" → one key), not by the exact text.
            key = ("below macOS floor" if "below the floor" in reason else
                   "certificate expiring" if "expires in" in reason else
                   "Device Access certificate failed" if reason.startswith("Device Access certificate failed") else
                   "incomplete WS1 record" if reason.startswith("incomplete") else reason)
            self.reasons[key] += 1
        if any(r.startswith("incomplete") for r in row.reasons):
            self.incomplete += 1
        for group in groups:
            counts = self.by_group.setdefault(group, Counter())
            counts["devices"] += 1
            counts["failing"] += bool(row.reasons)
            counts["profile_installed"] += row.profile == INSTALLED
            counts["okta_verify_installed"] += row.okta_verify == INSTALLED

    def group_is_total(self, group: int) -> None:
        """The counts of a look at one smart group are its totals (not counted twice per Mac)."""
        self.by_group[group] = Counter(devices=self.devices, failing=self.failing,
                                       profile_installed=self.profile[INSTALLED],
                                       okta_verify_installed=self.okta_verify[INSTALLED])

    def as_dict(self) -> dict[str, Any]:
        return {"smart_groups": self.smart_groups, "devices": self.devices, "failing": self.failing,
                "incomplete": self.incomplete, "not_listed": self.not_listed, "profile": dict(self.profile),
                "okta_verify": dict(self.okta_verify), "certificate": dict(self.certificate),
                "reasons": dict(self.reasons), "requests": self.requests, "seconds": round(self.seconds, 2),
                "mode": "detail" if self.per_device else "bulk", "undecided": dict(self.undecided),
                "lookups": self.lookups, "max_requests": self.max_requests, "device_pages": self.pages_total,
                "by_group": {str(g): dict(c) for g, c in self.by_group.items()}}


async def deliver(on_rows: Callable[..., Any], rows: list[DeviceRow], problems: list[str]) -> None:
    """A synchronous callback (the CLI writes and returns) or a coroutine one (the wizard adds rows in batches)."""
    result = on_rows(rows, problems)
    if inspect.isawaitable(result):
        await result


@functools.lru_cache(maxsize=256)  # a fleet has a few dozen distinct versions, and 50,000 rows to judge
def os_tuple(version: str | None) -> tuple[int, ...] | None:
    try:
        return tuple(int(p) for p in str(version).split(".")[:3])
    except ValueError:
        return None


def below_floor(version: str | None, floor: int) -> bool:
    parts = os_tuple(version)
    return parts is not None and parts[0] < floor


def id_of(item: dict[str, Any]) -> int | None:
    value = item.get("Id")
    if isinstance(value, dict):
        value = value.get("Value")
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def days_left(expires: str | None, now: float) -> float | None:
    if not expires:
        return None
    try:
        when = datetime.fromisoformat(str(expires).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # WS1 writes UTC without an offset
    return (when.timestamp() - now) / 86400


# Device certificate Status values that mean no usable certificate (2604 DeviceCertificate.Status is a plain string;
# "Failed" and "Expired" are the sandbox's words: unverified).
CERT_BAD_STATUSES = {"Failed", "RevokeError", "Revoked", "Expired"}


def issued_by(cert: dict[str, Any], names: tuple[str, ...]) -> bool:
    """A certificate of the WS1 CA/template: its Name or IssuedBy is one of their names as WS1 shows them, exactly
    (not a guess at "okta" in a name)."""
    wanted = {n.strip().lower() for n in names if n}
    return bool(wanted) and (str(cert.get("Name") or "").strip().lower() in wanted
                             or str(cert.get("IssuedBy") or "").strip().lower() in wanted)


def judge_certificate(installed: bool, assigned: bool, certs: list[dict[str, Any]] | None, names: tuple[str, ...],
                      now: float, *, sso_installed: bool = False) -> tuple[str, str | None, str | None]:
    """The Device Access certificate cell of one Mac when a WS1 CA issues it (rollout.scep = "ws1_ca"):
    (state, expires, reason or None). `installed`/`assigned`: the certificate profile's bulk install listings.
    `certs`: the Mac's certificates when looked up (--device ID, per-device detail), else None."""
    mine = [c for c in certs or [] if issued_by(c, names)]
    if mine:
        cert = max(mine, key=lambda c: (str(c.get("Status")) not in CERT_BAD_STATUSES, str(c.get("ExpiresOn") or "")))
        expires = cert.get("ExpiresOn")
        days = days_left(expires, now)
        if cert.get("Error") or cert.get("Status") in CERT_BAD_STATUSES or (days is not None and days < 0):
            why = cert.get("Error") or f"WS1 reports it {cert.get('Status')}"
            return FAILED, expires, f"Device Access certificate failed: {why}"
        if days is not None and days < CERT_WARN_DAYS:
            return INSTALLED, expires, f"Device Access certificate expires in {max(0, int(days))} days"
        return INSTALLED, expires, None
    if installed:
        if certs is None:
            return INSTALLED, None, None
        return ABSENT, None, (f"certificate profile installed but WS1 lists no certificate from "
                              f"{' / '.join(repr(n) for n in names)}")
    if assigned and sso_installed:
        # The certificate profile goes to a wave before (or with) the SSO profile: the SSO profile installed and the
        # certificate profile did not, so the certificate most likely failed (a SCEP error rolls back only the
        # profile that carries it). A guess from bulk listings: the Mac's own lookup says for sure.
        return PENDING, None, ("no Device Access certificate although the SSO profile installed: the certificate "
                               "profile most likely failed on the Mac (e.g. the challenge in the WS1 certificate "
                               "authority); `odatui status --devices --device ID` shows WS1's error")
    if assigned:
        return PENDING, None, ("no Device Access certificate: the certificate profile is not installed yet (or "
                               "failed: `odatui status --devices --device ID` or `--detail` shows WS1's error)")
    return ABSENT, None, "no Device Access certificate: the certificate profile is not assigned to this Mac"
