"""Per-device status of the Macs in the rollout's smart group(s), streamed.

Bulk first (odatui.mdm.ws1.api.fleet_bulk: members, the install states of every profile odatui owns, the app's installed
devices), then the organization group's device pages (serial, name, OS, user, user-approved MDM) PAGE_CONCURRENCY at
a time; each page becomes rows that go to the caller as soon as they are judged, so nothing holds more than the pages
in flight. What the bulk answers cannot decide (a profile assigned but not installed: pending or failed? the SCEP
certificate of a Mac that installed the profile) is looked up per Mac only with `per_device=True`, one request per
Mac, DETAIL_CONCURRENCY at a time, within the client's request budget (`--max-requests`); what is left undecided is
counted in the summary.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from typing import Any

from odatui.core.errors import OdatuiError
from odatui.core.paging import page_count
from odatui.mdm.ws1.api.base import PAGE_CONCURRENCY, PAGE_SIZE
from odatui.mdm.ws1.api.device_rows import (
    ABSENT,
    CERT_MARKER,
    CERT_WARN_DAYS,
    DETAIL_CONCURRENCY,
    FAILED,
    INSTALLED,
    NOT_USED,
    PENDING,
    PROFILE_FAILED_STATUSES,
    UNKNOWN,
    DeviceRow,
    OwnedProfile,
    Summary,
    below_floor,
    days_left,
    deliver,
    id_of,
    judge_certificate,
)
from odatui.mdm.ws1.api.fleet_bulk import FleetBulk
from odatui.mdm.ws1.api.pacing import BudgetSpent, RequestBudget

MAIN = "profile"  # OwnedProfile.key of the Platform SSO profile (ws1.profile): the row's `profile` column
CERT_PROFILE = "ws1.certificate"  # the certificate profile of rollout.scep = "ws1_ca" (issue 22)
DETAIL_MULTIPLE = 4  # default request budget of a detailed look: this many times what the bulk listing needs,
DETAIL_FLOOR = 1_000  # and at least one minute of the default rate limit (a small fleet is looked up in full)


class DeviceLister:
    """One listing. `run(on_rows)` calls `on_rows(rows, problems)` per device page as it completes."""

    def __init__(self, client: Any, smart_group_ids: Iterable[int], *, og_id: int, macos_min: int,
                 profile_id: int | None = None, app_id: int | None = None, per_device: bool = True,
                 only: set[int] | None = None, scep: bool = True, profiles: Iterable[OwnedProfile] | None = None,
                 certificate_from: str | None = None, budgeted: bool = False, max_requests: int | None = None,
                 progress: Callable[[Summary], Any] | None = None, cert_profile_id: int | None = None,
                 cert_names: tuple[str, ...] = ()) -> None:
        self.client = client
        self.og_id = og_id
        self.macos_min = macos_min
        owned = list(profiles) if profiles is not None else []
        if profile_id is not None and not any(p.key == MAIN for p in owned):
            owned.insert(0, OwnedProfile(MAIN, int(profile_id)))
        self.main_id = next((p.profile_id for p in owned if p.key == MAIN), None)
        # rollout.scep = "ws1_ca": the certificate profile (ws1.certificate) and the CA/template names on its
        # certificates; judge_certificate judges them from that profile's bulk install state (and lookups).
        self.cert_names = cert_names
        if cert_profile_id is not None:
            if not any(p.key == CERT_PROFILE for p in owned):
                owned.append(OwnedProfile(CERT_PROFILE, int(cert_profile_id)))
            certificate_from = CERT_PROFILE
        self.app_id = app_id
        self.per_device = per_device
        # The Device Access SCEP certificate is checked only when odatui installs it (odatui.macos.scep.scep_wanted).
        self.scep = scep
        self.certificate_from = certificate_from  # the key of an owned profile that carries the certificate
        # With per_device: keep every request of the look within max_requests (None: DETAIL_MULTIPLE × the bulk
        # listing); without `budgeted`, every undecided Mac is looked up (repush, a few named Macs).
        self.budgeted = budgeted or max_requests is not None
        self.max_requests = max_requests
        self.progress = progress
        self.bulk = FleetBulk(client, smart_group_ids, og_id=og_id, profiles=owned, app_id=app_id, only=only)
        self.summary = Summary(self.bulk.sg_ids, per_device=per_device)
        self._detail_sem = asyncio.Semaphore(DETAIL_CONCURRENCY)
        self._reserve = 0  # requests kept for the device pages not yet asked for

    @property
    def members(self) -> set[int]:
        return self.bulk.members

    # ------------------------------------------------------------------ per-Mac lookups, within the budget
    def _may_look_up(self) -> bool:
        if not self.per_device:
            return False
        budget: RequestBudget | None = getattr(self.client, "budget", None)
        return budget is None or budget.left > self._reserve

    async def _look_up(self, call: Any) -> Any:
        """One per-Mac lookup, or None when the budget has no room (left undecided)."""
        if not self.per_device:  # bulk: no lookup, and no semaphore to pass for each of 50,000 Macs
            return None
        async with self._detail_sem:
            if not self._may_look_up():  # checked where the request starts: nothing runs in between
                return None
            self.summary.lookups += 1
            try:
                return await call()
            except BudgetSpent:  # a retry of this lookup found the budget spent
                return None

    async def _profile_state(self, device_id: int) -> str:
        if self.main_id is None:
            return ABSENT
        state = self.bulk.profile_state(MAIN, device_id)
        if state != PENDING:
            return state
        profiles = await self._look_up(lambda: self.client.devices.device_profiles(device_id))
        if profiles is None:
            self.summary.undecided["profile"] += 1  # pending, or failed: only a per-Mac lookup tells
            return PENDING
        mine = next((p for p in profiles if id_of(p) == self.main_id), None)
        if mine is None:
            return PENDING
        return FAILED if mine.get("Status") in PROFILE_FAILED_STATUSES else PENDING

    async def _ca_cert_state(self, device_id: int, now: float, profile: str) -> tuple[str, str | None, str | None]:
        """The certificate of its own profile: judged from that profile's bulk install state; the Mac's
        certificates are looked up (within the budget) only where bulk cannot tell."""
        state = self.bulk.profile_state(self.certificate_from, device_id)  # type: ignore[arg-type]
        certs = None
        if state != ABSENT:
            certs = await self._look_up(lambda: self.client.devices.device_certificates(device_id))
            if certs is None:
                self.summary.undecided["certificate"] += 1  # installed: which certificate? pending: or failed?
        return judge_certificate(state == INSTALLED, state != ABSENT, certs, self.cert_names, now,
                                 sso_installed=profile == INSTALLED)

    async def _cert_state(self, device_id: int, profile: str) -> tuple[str, str | None]:
        if not self.scep:
            return NOT_USED, None  # another profile (or nothing) installs it: no request, no reason
        if profile != INSTALLED:
            return (PENDING if profile == PENDING else ABSENT), None
        certs = await self._look_up(lambda: self.client.devices.device_certificates(device_id))
        if certs is None:
            self.summary.undecided["certificate"] += 1
            return UNKNOWN, None
        ours = [c for c in certs if CERT_MARKER in f"{c.get('Name', '')} {c.get('IssuedBy', '')}".lower()]
        if not ours:
            return ABSENT, None
        cert = max(ours, key=lambda c: str(c.get("ExpiresOn") or ""))
        if cert.get("Error") or cert.get("Status") in ("RevokeError", "Revoked"):
            return FAILED, cert.get("ExpiresOn")
        if cert.get("Status") == "PendingInstall":
            return PENDING, None
        return INSTALLED, cert.get("ExpiresOn")

    async def _row(self, item: dict[str, Any], device_id: int, now: float) -> DeviceRow:
        missing = [k for k in ("SerialNumber", "DeviceFriendlyName", "OperatingSystem", "UserName",
                               "UserApprovedEnrollment") if item.get(k) is None]
        approved = item.get("UserApprovedEnrollment")
        profile = await self._profile_state(device_id)
        cert_reason = None
        if self.certificate_from is not None:
            cert, expires, cert_reason = await self._ca_cert_state(device_id, now, profile)
        else:
            cert, expires = await self._cert_state(device_id, profile)
        app = (INSTALLED if device_id in self.bulk.app_installed else PENDING) if self.app_id is not None else ABSENT
        row = DeviceRow(device_id, item.get("SerialNumber"), item.get("DeviceFriendlyName"),
                        item.get("OperatingSystem"), item.get("UserName"),
                        approved if isinstance(approved, bool) else None, profile, app, cert, expires)
        if len(self.bulk.profiles) > 1:  # the row's `profile` column says it all when there is only one
            row.profiles = {p.key: (profile if p.key == MAIN else self.bulk.profile_state(p.key, device_id))
                            for p in self.bulk.profiles}
        if missing:
            row.reasons.append("incomplete WS1 record (no " + ", ".join(missing) + ")")
        if below_floor(row.macos, self.macos_min):
            row.reasons.append(f"macOS {row.macos} is below the floor {self.macos_min}")
        if approved is False:
            row.reasons.append("not enrolled with user-approved MDM")
        if profile == FAILED:
            row.reasons.append("profile failed")
        if self.app_id is not None and app != INSTALLED:
            row.reasons.append("Okta Verify not installed")
        if self.certificate_from is not None:
            if cert_reason:
                row.reasons.append(cert_reason)
        elif cert == ABSENT and profile == INSTALLED:
            row.reasons.append("SCEP certificate missing")
        elif cert == FAILED:
            row.reasons.append("SCEP certificate failed")
        elif expires:
            days = days_left(expires, now)
            if days is not None and days < CERT_WARN_DAYS:
                row.reasons.append(f"SCEP certificate expires in {max(0, int(days))} days")
        return row

    def _groups_of(self, device_id: int) -> list[int]:
        # One smart group: its counts are the totals, filled in at the end (run), not counted again per Mac.
        return self.bulk.groups_of(device_id) if len(self.bulk.sg_ids) > 1 else []

    async def _page_rows(self, items: list[dict[str, Any]], now: float) -> tuple[list[DeviceRow], list[str]]:
        chosen, problems = [], []
        for item in items:
            device_id = id_of(item)
            if device_id is None:
                problems.append("a device in WS1's answer has no Id; it is left out")
                continue
            if device_id in self.bulk.members and device_id not in self._seen:
                self._seen.add(device_id)
                chosen.append((item, device_id))

        async def one(item: dict[str, Any], device_id: int) -> DeviceRow:
            try:
                return await self._row(item, device_id, now)
            except OdatuiError as exc:  # one device's lookup failed: list it with what the bulk answers said
                problems.append(f"device {device_id}: {exc.message}")
                row = DeviceRow(device_id, item.get("SerialNumber"), item.get("DeviceFriendlyName"),
                                item.get("OperatingSystem"), item.get("UserName"),
                                item.get("UserApprovedEnrollment"), UNKNOWN, UNKNOWN, UNKNOWN)
                row.reasons.append(f"lookup failed: {exc.message}")
                return row

        if self.per_device:  # lookups in flight side by side (bounded by the detail semaphore)
            rows = list(await asyncio.gather(*(one(i, d) for i, d in chosen)))
        else:  # nothing waits: no task per device
            rows = [await one(i, d) for i, d in chosen]
        for row in rows:
            self.summary.count(row, self._groups_of(row.id))
        return rows, problems

    def _set_budget(self, pages: int) -> None:
        """Keep one request per device page still to come; with --detail and no --max-requests, the budget is
        DETAIL_MULTIPLE times what the bulk listing needs (known now: the listings are done, the pages counted)."""
        budget: RequestBudget | None = getattr(self.client, "budget", None)
        if budget is None:
            return
        self._reserve = pages - 1
        if self.max_requests is None:
            budget.limit = max(DETAIL_FLOOR, DETAIL_MULTIPLE * (budget.used + self._reserve))
        self.summary.max_requests = budget.limit

    async def _delivered(self, on_rows: Callable[..., Any], done: Any) -> None:
        rows, problems = await done
        self.summary.pages_done += 1
        await deliver(on_rows, rows, problems)
        if self.progress is not None:
            self.progress(self.summary)

    async def run(self, on_rows: Callable[[list[DeviceRow], list[str]], Any]) -> Summary:
        started, first_request = time.perf_counter(), self.client.requests_made
        now = time.time()
        self._seen: set[int] = set()
        if self.per_device and self.budgeted:
            # Every request of the look counts, the bulk listing's too; without --max-requests the limit is set
            # once the bulk listing's size is known (_set_budget).
            self.client.budget = RequestBudget(self.max_requests if self.max_requests is not None else 10 ** 9)
        # The first device page (it tells how many there are) travels alongside the bulk listings.
        first_page = asyncio.create_task(self.client.devices.device_page(self.og_id, 0))
        try:
            await self.bulk.read()
        except BaseException:
            first_page.cancel()
            raise
        if self.bulk.members:
            sem = asyncio.Semaphore(PAGE_CONCURRENCY)

            async def page(n: int) -> tuple[list[DeviceRow], list[str]]:
                # The slot is held while the page's Macs are judged (and looked up): at most PAGE_CONCURRENCY
                # pages of WS1 records are in memory, whatever the fleet size.
                async with sem:
                    self._reserve = max(0, self._reserve - 1)  # this page's request starts now
                    items, _ = await self.client.devices.device_page(self.og_id, n)
                    return await self._page_rows(items, now)

            items, total = await first_page
            pages = page_count(total, PAGE_SIZE, "device list")  # the same guard as every WS1 listing
            self.summary.pages_total = pages
            self._set_budget(pages)

            async def first() -> tuple[list[DeviceRow], list[str]]:
                return await self._page_rows(items, now)

            await self._delivered(on_rows, first())
            for done in asyncio.as_completed([page(n) for n in range(1, pages)]):
                await self._delivered(on_rows, done)
        else:
            await first_page
        if len(self.bulk.sg_ids) == 1:
            self.summary.group_is_total(self.bulk.sg_ids[0])
        self.summary.not_listed = len(self.bulk.members - self._seen)
        self.summary.requests = self.client.requests_made - first_request
        self.summary.seconds = time.perf_counter() - started
        return self.summary


# DeviceRow and Summary have always been imported from here.
