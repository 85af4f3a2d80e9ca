"""Per-device status of the Macs in the rollout's smart group(s), streamed.

Bulk listings first, side by side (members of each smart group, the profile's INSTALLED and NOT_INSTALLED
devices, the app's installed devices: sets of ids, a few MB at 50,000 Macs), then the organization group's
device pages (serial, name, OS, user, user-approved MDM) concurrently; each page becomes rows that go to the
caller as soon as it arrives, so nothing holds more than the page being shown. Per-device lookups (profile
status of the Macs that have not installed it, certificates of those that have) are optional: one request per
Mac each, bounded, and skipped with `per_device=False` for a quick look at a large fleet.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from odatui.errors import OdatuiError
from odatui.paging import page_count
from odatui.ws1.base import PAGE_CONCURRENCY, PAGE_SIZE
from odatui.ws1.device_rows import (
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
    Summary,
    below_floor,
    days_left,
    deliver,
    id_of,
    judge_certificate,
    os_tuple,
)


class DeviceLister:
    """One listing. `run(on_rows)` calls `on_rows(rows, problems)` per device page as it completes."""

    def __init__(self, client: Any, smart_group_ids: Iterable[int], *, og_id: int, macos_min: int,
                 profile_id: int | None = None, app_id: int | None = None, per_device: bool = True,
                 only: set[int] | None = None, scep: bool = True, cert_profile_id: int | None = None,
                 cert_names: tuple[str, ...] = ()) -> None:
        self.client = client
        self.sg_ids = list(smart_group_ids)
        self.og_id = og_id
        self.macos_min = macos_min
        self.profile_id = profile_id
        self.app_id = app_id
        self.per_device = per_device
        self.only = only  # restrict to these device ids (repush --device, status of a few Macs)
        # The Device Access SCEP certificate is checked only when odatui's profile installs it
        # (odatui.scep.scep_wanted: rollout.scep = "static" and a floor of 14 or later).
        self.scep = scep
        # rollout.scep = "ws1_ca": the certificate profile (ws1.certificate) and the CA/template names its
        # certificates carry in WS1; judged by judge_certificate from the bulk listings (and the Mac's certificates
        # when looked up one by one).
        self.cert_profile_id = cert_profile_id
        self.cert_names = cert_names
        self.cert_installed: set[int] = set()
        self.cert_assigned: set[int] = set()
        self.summary = Summary(self.sg_ids, per_device=per_device)
        self.members: set[int] = set()
        self._detail_sem = asyncio.Semaphore(DETAIL_CONCURRENCY)

    async def _bulk(self) -> None:
        sem = asyncio.Semaphore(PAGE_CONCURRENCY)
        uuid_task = None
        if self.profile_id is not None:
            uuid_task = asyncio.create_task(self.client.get_profile(self.profile_id))
        member_lists = await asyncio.gather(*(self.client.smart_group_device_ids(sg) for sg in self.sg_ids))
        self.members = set().union(*member_lists) if member_lists else set()
        if self.only is not None:
            self.members &= self.only
        jobs: dict[str, Awaitable[set[int]]] = {}
        if uuid_task is not None:
            general = (await uuid_task).get("General") or {}
            profile_uuid = general.get("ProfileUuid")
            if profile_uuid:
                jobs["p_in"] = self.client.profile_device_ids(profile_uuid, "INSTALLED", sem)
                jobs["p_out"] = self.client.profile_device_ids(profile_uuid, "NOT_INSTALLED", sem)
        if self.app_id is not None:
            jobs["app"] = self.client.app_device_ids(self.app_id, self.og_id, sem)
        if self.cert_profile_id is not None:
            cert_uuid = ((await self.client.get_profile(self.cert_profile_id)).get("General") or {}).get("ProfileUuid")
            if cert_uuid:
                jobs["c_in"] = self.client.profile_device_ids(cert_uuid, "INSTALLED", sem)
                jobs["c_out"] = self.client.profile_device_ids(cert_uuid, "NOT_INSTALLED", sem)
        found = dict(zip(jobs, await asyncio.gather(*jobs.values())))
        # Only members matter: the rest of the sets is dropped here.
        self.profile_installed = found.get("p_in", set()) & self.members
        self.profile_assigned = (found.get("p_out", set()) & self.members) | self.profile_installed
        self.app_installed = found.get("app", set()) & self.members
        self.cert_installed = found.get("c_in", set()) & self.members
        self.cert_assigned = (found.get("c_out", set()) & self.members) | self.cert_installed

    async def _profile_state(self, device_id: int) -> str:
        if self.profile_id is None:
            return ABSENT
        if device_id in self.profile_installed:
            return INSTALLED
        if device_id not in self.profile_assigned:
            return ABSENT
        if not self.per_device:
            return PENDING
        async with self._detail_sem:
            profiles = await self.client.device_profiles(device_id)
        mine = next((p for p in profiles if id_of(p) == self.profile_id), None)
        if mine is None:
            return PENDING
        return FAILED if mine.get("Status") in PROFILE_FAILED_STATUSES else PENDING

    async def _ca_cert_state(self, device_id: int, now: float) -> tuple[str, str | None, str | None]:
        certs = None
        if self.per_device:
            async with self._detail_sem:
                certs = await self.client.device_certificates(device_id)
        return judge_certificate(device_id in self.cert_installed, device_id in self.cert_assigned, certs,
                                 self.cert_names, now)

    async def _cert_state(self, device_id: int, profile: str, now: float) -> tuple[str, str | None]:
        if not self.scep:
            return NOT_USED, None  # another profile (or nothing) installs it: no request, no reason
        if profile != INSTALLED:
            return (PENDING if profile == PENDING else ABSENT), None
        if not self.per_device:
            return UNKNOWN, None
        async with self._detail_sem:
            certs = await self.client.device_certificates(device_id)
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
        if self.cert_profile_id is not None:
            cert, expires, cert_reason = await self._ca_cert_state(device_id, now)
        else:
            cert, expires = await self._cert_state(device_id, profile, now)
        app = (INSTALLED if device_id in self.app_installed else PENDING) if self.app_id is not None else ABSENT
        row = DeviceRow(device_id, item.get("SerialNumber"), item.get("DeviceFriendlyName"),
                        item.get("OperatingSystem"), item.get("UserName"),
                        approved if isinstance(approved, bool) else None, profile, app, cert, expires)
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
        if self.cert_profile_id is not None:
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

    def _count(self, row: DeviceRow) -> None:
        s = self.summary
        s.devices += 1
        s.failing += bool(row.reasons)
        s.profile[row.profile] += 1
        s.okta_verify[row.okta_verify] += 1
        s.certificate[row.certificate] += 1
        for reason in row.reasons:
            # Counted by kind ("macOS 13.6 is below…" → one key), not by the exact text.
            key = ("below macOS floor" if "below the floor" in reason else
                   "certificate expiring" if "expires in" in reason else
                   "Device Access certificate failed" if reason.startswith("Device Access certificate failed") else
                   "incomplete WS1 record" if reason.startswith("incomplete") else reason)
            s.reasons[key] += 1
        if any(r.startswith("incomplete") for r in row.reasons):
            s.incomplete += 1

    async def _page_rows(self, items: list[dict[str, Any]], now: float) -> tuple[list[DeviceRow], list[str]]:
        chosen, problems = [], []
        for item in items:
            device_id = id_of(item)
            if device_id is None:
                problems.append("a device in WS1's answer has no Id; it is left out")
                continue
            if device_id in self.members and device_id not in self._seen:
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
            self._count(row)
        return rows, problems

    async def run(self, on_rows: Callable[[list[DeviceRow], list[str]], Any]) -> Summary:
        started, first_request = time.perf_counter(), self.client.requests_made
        now = time.time()
        self._seen: set[int] = set()
        # The first device page (it tells how many there are) travels alongside the bulk listings.
        first_page = asyncio.create_task(self.client.device_page(self.og_id, 0))
        try:
            await self._bulk()
        except BaseException:
            first_page.cancel()
            raise
        if self.members:
            sem = asyncio.Semaphore(PAGE_CONCURRENCY)

            async def page(n: int) -> tuple[list[DeviceRow], list[str]]:
                async with sem:
                    items, _ = await self.client.device_page(self.og_id, n)
                return await self._page_rows(items, now)

            items, total = await first_page
            rows, problems = await self._page_rows(items, now)
            await deliver(on_rows, rows, problems)
            pages = page_count(total, PAGE_SIZE, "device list")  # the same guard as every WS1 listing
            for done in asyncio.as_completed([page(n) for n in range(1, pages)]):
                rows, problems = await done
                await deliver(on_rows, rows, problems)
        else:
            await first_page
        self.summary.not_listed = len(self.members - self._seen)
        self.summary.requests = self.client.requests_made - first_request
        self.summary.seconds = time.perf_counter() - started
        return self.summary


# DeviceRow and Summary have always been imported from here.
__all__ = ["DeviceLister", "DeviceRow", "Summary", "below_floor", "os_tuple"]
