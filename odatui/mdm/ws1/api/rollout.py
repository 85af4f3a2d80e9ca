"""How far the fleet got: smart group members, profile and app install status, per-device lists and re-push.

Listings are paged concurrently with bounded concurrency (mdm v1 / mam v1 device lists, 500 a page).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from odatui.core.http_body import MEMBER_LIST_LIMIT
from odatui.core.paging import MAX_MEMBERS, check_page, page_count
from odatui.mdm.ws1.api.base import PAGE_CONCURRENCY, PAGE_SIZE
from odatui.mdm.ws1.api.errors import shape_guard
from odatui.mdm.ws1.api.models import RolloutStatus
from odatui.mdm.ws1.api.profiles import ProfilesApi


class RolloutApi(ProfilesApi):
    @shape_guard
    async def smart_group_device_ids(self, smart_group_id: int) -> list[int]:
        what = f"listing the devices of smart group {smart_group_id}"
        r = await self.request("GET", f"/api/mdm/smartgroups/{smart_group_id}/devices", version=1, what=what,
                               limit=MEMBER_LIST_LIMIT)
        if r.status_code == 204:
            return []
        data = self._body(r, what, expect="Devices")
        check_page(data["Devices"], MAX_MEMBERS, f"Workspace ONE {what}")
        return [int(d["Id"]) for d in data["Devices"] or [] if str(d.get("Id", "")).isdigit()]

    async def _paged_ids(self, path: str, params: dict[str, Any], *, list_key: str, total_key: str,
                         id_of: Callable[[Any], int], what: str, sem: asyncio.Semaphore) -> set[int]:
        async def page(n: int) -> dict[str, Any] | None:
            async with sem:
                r = await self.request("GET", path, version=1, what=what,
                                       params={**params, "page": n, "pagesize": PAGE_SIZE})
            data = None if r.status_code == 204 else self._body(r, what, expect=list_key)
            if data is not None:
                check_page(data[list_key], PAGE_SIZE, f"Workspace ONE {what}")
            return data

        first = await page(0)
        if first is None:
            return set()
        pages = [first]
        total = int(first.get(total_key) or 0)
        more = page_count(total, PAGE_SIZE, f"Workspace ONE {what}") - 1
        if more > 0:
            pages += await asyncio.gather(*(page(n) for n in range(1, more + 1)))
        return {id_of(item) for p in pages if p for item in p[list_key] or []}

    @shape_guard
    async def rollout_status(self, smart_group_id: int, app_id: int | None, profile_id: int | None,
                             *, og_id: int | None = None) -> RolloutStatus:
        """How far the fleet got: devices in the smart group, and how many of them have the profile and the app."""
        start = self.requests_made
        sem = asyncio.Semaphore(PAGE_CONCURRENCY)
        members_task = asyncio.create_task(self.smart_group_device_ids(smart_group_id))
        profile_ids: set[int] = set()
        app_ids: set[int] = set()
        profile_uuid = None
        if profile_id is not None:
            general = (await self.get_profile(profile_id)).get("General") or {}
            profile_uuid = general.get("ProfileUuid")
            og_id = og_id or general.get("ManagedLocationGroupID")
        jobs = []
        if profile_uuid:
            jobs.append(self.profile_device_ids(profile_uuid, "INSTALLED", sem))
        if app_id is not None and og_id is not None:
            jobs.append(self.app_device_ids(app_id, og_id, sem))
        results = await asyncio.gather(*jobs)
        if profile_uuid:
            profile_ids = results[0]
        if app_id is not None and og_id is not None:
            app_ids = results[-1]
        members = set(await members_task)
        return RolloutStatus(devices=len(members), profile_installed=len(profile_ids & members),
                             app_installed=len(app_ids & members), requests_made=self.requests_made - start)

    # ------------------------------------------------------------------ per-device status (odatui.mdm.ws1.api.devices)
    async def profile_device_ids(self, profile_uuid: str, status: str, sem: asyncio.Semaphore) -> set[int]:
        """ProfilesV1_GetDevicesForProfileStatus (mdm v1): ids of devices with profilestatus INSTALLED or
        NOT_INSTALLED (assigned, not installed), all pages."""
        return await self._paged_ids(f"/api/mdm/profiles/{profile_uuid}/devices", {"profilestatus": status},
                                     list_key="profileAssignedDevices", total_key="TotalResults",
                                     id_of=lambda d: int(d["id"]), what=f"profile devices ({status.lower()})", sem=sem)

    async def app_device_ids(self, app_id: int, og_id: int, sem: asyncio.Semaphore) -> set[int]:
        """InternalAppsV1_GetInternalAppInstalledOrAssignedDevices (mam v1), status=installed, all pages."""
        return await self._paged_ids(f"/api/mam/apps/internal/{app_id}/devices",
                                     {"status": "installed", "locationgroupid": og_id}, list_key="DeviceId",
                                     total_key="Total", id_of=int, what="app install status", sem=sem)

    async def device_page(self, og_id: int, page: int) -> tuple[list[dict[str, Any]], int]:
        """Devices_SearchAsync (mdm v1, GET /mdm/devices/search): one page of the OG's Macs with serial, name,
        OperatingSystem, UserName and UserApprovedEnrollment (DeviceExtended); returns (devices, Total)."""
        what = f"listing devices (page {page})"
        r = await self.request("GET", "/api/mdm/devices/search", version=1, what=what,
                               params={"lgid": og_id, "platform": "AppleOsX", "page": page, "pagesize": PAGE_SIZE})
        if r.status_code == 204:
            return [], 0
        data = self._body(r, what, expect="Devices")
        check_page(data.get("Devices"), PAGE_SIZE, f"Workspace ONE {what}")
        return [d for d in data.get("Devices") or [] if isinstance(d, dict)], int(data.get("Total") or 0)

    async def device_profiles(self, device_id: int) -> list[dict[str, Any]]:
        """Profiles_GetProfilesByDevice (mdm v1): the device's profiles with their Status."""
        what = f"profiles of device {device_id}"
        r = await self.request("GET", f"/api/mdm/devices/{device_id}/profiles", version=1, what=what)
        if r.status_code == 204:
            return []
        return list(self._body(r, what, expect="DeviceProfiles").get("DeviceProfiles") or [])

    async def device_certificates(self, device_id: int) -> list[dict[str, Any]]:
        """Certificates_GetCertificatesByDeviceAsync (mdm v1): the device's certificates (Name, IssuedBy,
        ExpiresOn, Status, Error)."""
        what = f"certificates of device {device_id}"
        r = await self.request("GET", f"/api/mdm/devices/{device_id}/certificates", version=1, what=what)
        if r.status_code == 204:
            return []
        return list(self._body(r, what, expect="DeviceCertificates").get("DeviceCertificates") or [])

    async def install_profile(self, profile_id: int, device_id: int) -> None:
        """ProfilesV1_InstallProfileAsync (mdm v1): POST /mdm/profiles/{profileid}/install with a DeviceInfo
        body; WS1 queues an InstallProfile command for that Mac. Sending it twice queues it twice (harmless)."""
        await self.request("POST", f"/api/mdm/profiles/{profile_id}/install", version=1,
                           what=f"re-pushing profile {profile_id} to device {device_id}",
                           json_body={"DeviceId": device_id}, ok=(200, 202))
