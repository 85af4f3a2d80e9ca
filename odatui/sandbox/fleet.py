"""A seedable fleet of enrolled Macs for the WS1 emulator, so rollout status has something real to show.

Everything is a pure function of (seed, device index, elapsed time): the same seed gives the same serials,
users and smart-group membership, and a device installs a profile or app a fixed delay after the assignment
reaches it. Some devices are offline and never install, a few are slow. Nothing is stored per device, so
50,000 devices cost a few lists, not a database.

The mixture follows what breaks in the field: some Macs run macOS 13 (below a floor of 14), some are enrolled
without user-approved MDM, the profile fails on a few (WS1 reports it `Corrupted`), some SCEP certificates are
near expiry or never issued, and a share of the users finished Okta Verify registration (an Okta device).
The shares are illustrative, not measured (unverified).
"""

from __future__ import annotations

import hashlib
import math
import random
import time
import uuid
from dataclasses import dataclass

MODELS = ("MacBook Air (M2, 2022)", "MacBook Pro (14-inch, M3, 2023)", "MacBook Air (M3, 2024)",
          "Mac mini (M2, 2023)", "iMac (24-inch, M3, 2023)", "MacBook Pro (16-inch, M4 Pro, 2024)")
OS_VERSIONS = ("13.6.9", "14.6.1", "14.7", "15.1", "15.3.2", "26.0")
FIRST_NAMES = ("alex", "sam", "kim", "jo", "lee", "pat", "robin", "taylor", "morgan", "casey", "drew", "jamie")
# Intel Macs still enrolled in many fleets; Okta: Platform SSO "is supported only on physical Macs with Apple
# silicon" ("Configure Desktop Password Sync for macOS 26"). The share is a guess.
INTEL_MODELS = ("MacBook Pro (16-inch, 2019)", "iMac (Retina 5K, 27-inch, 2020)")
INTEL_SHARE = 0.06
LAST_NAMES = ("smith", "nguyen", "garcia", "muller", "rossi", "tanaka", "okafor", "silva", "kowalski", "dubois")

# Per-kind install delays (seconds after the assignment reaches the device); real Macs check in every few
# minutes, the demo should move within a minute or two.
MEAN_DELAY = {"profile": 25.0, "app": 60.0}
OFFLINE_SHARE = 0.08  # never check in during the demo
NOT_USER_APPROVED_SHARE = 0.05  # enrolled without user-approved MDM (no DEP, profile not approved; a guess)
PROFILE_FAIL_SHARE = 0.03  # the profile lands but the Mac reports it broken
CERT_MISSING_SHARE = 0.02  # profile installed, SCEP certificate never issued
CERT_EXPIRING_SHARE = 0.04  # SCEP certificate expires within 30 days
OKTA_REGISTERED_SHARE = 0.6  # of the Macs with the profile: the user finished Okta Verify registration
MAX_DEVICES = 50_000


def _unit(seed: int, *parts: object) -> float:
    """A uniform number in [0, 1) from a hash: stable across runs and Python versions (unlike hash())."""
    digest = hashlib.blake2b(":".join(map(str, (seed, *parts))).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Device:
    id: int
    uuid: str
    serial: str
    udid: str
    name: str
    model: str
    os_version: str
    user: str
    email: str
    in_smart_group: bool  # member of the rollout's smart group (the rest are other Macs of the OG)
    # Enrolled without the user approving MDM (e.g. enrolled by profile and never approved): the Extensible SSO
    # payload "requires user-approved MDM" on macOS, so the Platform SSO profile never installs there
    # (https://developer.apple.com/documentation/devicemanagement/extensiblesinglesignon). The share is a guess.
    user_approved: bool = True
    profile_fails: bool = False
    cert: str = "ok"  # "ok", "missing" or "expiring"
    okta_registered: bool = False
    # WS1 DeviceExtended.ProcessorArchitecture; the values the real API reports are unverified.
    arch: str = "arm64"


class Fleet:
    def __init__(self, seed: int, count: int, *, first_id: int = 10_001, clock=time.monotonic) -> None:
        if not 0 <= count <= MAX_DEVICES:
            raise ValueError(f"the sandbox fleet holds 0 to {MAX_DEVICES:,} devices")
        self.seed = seed
        self._clock = clock
        self._offset = 0.0  # advanced by the admin route, so tests need not sleep
        rng = random.Random(seed)
        ns = uuid.UUID(int=seed & (2**128 - 1))
        self.devices: list[Device] = []
        for i in range(count):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            intel = _unit(seed, i, "intel") < INTEL_SHARE  # its own hash: the rng sequence stays as it was
            serial = "C02" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(9))
            self.devices.append(Device(
                id=first_id + i,
                uuid=str(uuid.uuid5(ns, f"device-{i}")),
                serial=serial,
                udid=uuid.uuid5(ns, f"udid-{i}").hex.upper(),
                name=f"{first}-{last}-mac-{i:05d}",
                model=_intel_model(rng.choice(MODELS), i) if intel else rng.choice(MODELS),
                os_version=rng.choice(OS_VERSIONS),
                user=f"{first}.{last}{i}",
                email=f"{first}.{last}{i}@acme.example",
                # Most Macs are in the rollout group; a few are elsewhere so counts are not trivially equal.
                in_smart_group=_unit(seed, i, "member") < 0.85,
                user_approved=_unit(seed, i, "uamdm") >= NOT_USER_APPROVED_SHARE,
                profile_fails=_unit(seed, i, "pfail") < PROFILE_FAIL_SHARE,
                cert=_cert_state(_unit(seed, i, "cert")),
                okta_registered=_unit(seed, i, "okta") < OKTA_REGISTERED_SHARE,
                arch="x86_64" if intel else "arm64",
            ))
        self.by_id = {d.id: d for d in self.devices}
        self._members = [d for d in self.devices if d.in_smart_group]
        self.member_ids = frozenset(d.id for d in self._members)
        self._delays: dict[tuple[int, str], float | None] = {}

    # --- time ---
    def now(self) -> float:
        return self._clock() + self._offset

    def wall_now(self) -> float:
        """The wall clock as the fleet sees it: real time plus what the admin route advanced."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> float:
        self._offset += max(0.0, float(seconds))
        return self.now()

    # --- install state ---
    def delay(self, device: Device, kind: str) -> float | None:
        """Seconds from assignment to installed for this device, or None when it never installs (offline)."""
        key = (device.id, kind)
        if key not in self._delays:  # fixed per device: computed once, not on every page of every listing
            self._delays[key] = self._delay(device.id, kind)
        return self._delays[key]

    def _delay(self, index: int, kind: str) -> float | None:
        if _unit(self.seed, index, "offline") < OFFLINE_SHARE:
            return None
        u = _unit(self.seed, index, kind, "delay")
        # Exponential, capped: most devices are quick, a tail is slow.
        return min(-MEAN_DELAY[kind] * _log1m(u), 20 * MEAN_DELAY[kind])

    def installed(self, device: Device, kind: str, assigned_at: float | None, *, min_os: str | None = None) -> bool:
        """Installed by now. A profile needs user-approved MDM (and never counts when the Mac reports it broken);
        an app needs the device's macOS at or above the app's minimum (a pkg's minimum_os_version: Munki-style
        installs are skipped below it)."""
        if assigned_at is None:
            return False
        if kind == "profile" and (not device.user_approved or device.profile_fails):
            return False
        if min_os and _version(device.os_version) < _version(min_os):
            return False
        delay = self.delay(device, kind)
        return delay is not None and self.now() - assigned_at >= delay

    def failed(self, device: Device, kind: str, assigned_at: float | None) -> bool:
        """The profile reached the Mac and broke (it never counts as installed)."""
        if assigned_at is None or kind != "profile" or not device.profile_fails or not device.user_approved:
            return False  # without user-approved MDM the profile never reaches the Mac
        delay = self.delay(device, kind)
        return delay is not None and self.now() - assigned_at >= delay

    def reached(self, device: Device, kind: str, assigned_at: float | None) -> bool:
        """The assignment got to the Mac by now (user-approved MDM, online, its delay passed), whatever came of it."""
        if assigned_at is None or not device.user_approved:
            return False
        delay = self.delay(device, kind)
        return delay is not None and self.now() - assigned_at >= delay

    def registers(self, device: Device, app_at: float | None, profile_at: float | None) -> bool:
        """The user finished Platform SSO registration: the profile is installed, Okta Verify was there first, and
        the Mac has Apple silicon. A profile that lands before Okta Verify points at an extension that is not there
        (Okta: the steps "must be followed in the order they're listed"); such a Mac stays unregistered here until
        the profile is installed again (unverified: what a real Mac does later depends on the user)."""
        if not device.okta_registered or device.arch != "arm64" or profile_at is None:
            return False
        if not self.installed(device, "profile", profile_at):
            return False
        app_delay = self.delay(device, "app")
        if app_at is None or app_delay is None:
            return False
        return app_at + app_delay <= profile_at + (self.delay(device, "profile") or 0.0)

    def members(self) -> list[Device]:
        return self._members  # computed once: listings of 50,000 Macs page through it many times


def _intel_model(_ignored: str, index: int) -> str:
    return INTEL_MODELS[index % len(INTEL_MODELS)]


def _cert_state(u: float) -> str:
    if u < CERT_MISSING_SHARE:
        return "missing"
    return "expiring" if u < CERT_MISSING_SHARE + CERT_EXPIRING_SHARE else "ok"


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in str(text).split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts) + (0,) * (3 - len(parts))


def _log1m(u: float) -> float:
    return math.log1p(-u)
