"""The bulk listings of one look at the fleet: a few hundred requests for 50,000 Macs, whatever the fleet size.

Members of each smart group (one answer each), the INSTALLED and NOT_INSTALLED device ids of every profile odatui
owns (ProfilesV1_GetDevicesForProfileStatus, mdm v1: its only two statuses), and the app's installed devices
(InternalAppsV1_GetInternalAppInstalledOrAssignedDevices, mam v1), paged PAGE_CONCURRENCY at a time. Only sets of
ids are kept, cut down to the members: a few MB at 50,000 Macs.

Reused by every face that counts the fleet (status --devices, the wizard's table, per-wave counts).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import Any

from odatui.mdm.ws1.api.base import PAGE_CONCURRENCY
from odatui.mdm.ws1.api.device_rows import ABSENT, INSTALLED, PENDING, OwnedProfile


class FleetBulk:
    """What the bulk listings say; `profile_state(key, id)` is INSTALLED, PENDING (assigned, not installed: WS1's
    listing cannot tell a Mac that has not checked in from one that failed) or ABSENT (not assigned)."""

    def __init__(self, client: Any, smart_group_ids: Iterable[int], *, og_id: int,
                 profiles: Iterable[OwnedProfile] = (), app_id: int | None = None,
                 only: set[int] | None = None) -> None:
        self.client = client
        self.sg_ids = list(smart_group_ids)
        self.og_id = og_id
        self.profiles = list(profiles)
        self.app_id = app_id
        self.only = only
        self.members: set[int] = set()
        self.group_members: dict[int, set[int]] = {}
        self.installed: dict[str, set[int]] = {}
        self.assigned: dict[str, set[int]] = {}
        self.app_installed: set[int] = set()

    async def read(self) -> None:
        sem = asyncio.Semaphore(PAGE_CONCURRENCY)  # shared by every listing of this look
        general = {p.key: asyncio.create_task(self.client.get_profile(p.profile_id)) for p in self.profiles}
        try:
            member_lists = await asyncio.gather(*(self.client.smart_group_device_ids(g) for g in self.sg_ids))
        except BaseException:
            for task in general.values():
                task.cancel()
            raise
        self.group_members = {g: set(ids) for g, ids in zip(self.sg_ids, member_lists)}
        self.members = set().union(*self.group_members.values()) if self.group_members else set()
        if self.only is not None:
            self.members &= self.only
        jobs: dict[tuple[str, str], Awaitable[set[int]]] = {}
        for key, task in general.items():
            profile_uuid = ((await task).get("General") or {}).get("ProfileUuid")
            if profile_uuid:
                jobs[(key, "in")] = self.client.profile_device_ids(profile_uuid, "INSTALLED", sem)
                jobs[(key, "out")] = self.client.profile_device_ids(profile_uuid, "NOT_INSTALLED", sem)
        if self.app_id is not None:
            jobs[("app", "in")] = self.client.app_device_ids(self.app_id, self.og_id, sem)
        found = dict(zip(jobs, await asyncio.gather(*jobs.values())))
        # Only members matter: the rest of each set is dropped here.
        for p in self.profiles:
            installed = found.get((p.key, "in"), set()) & self.members
            self.installed[p.key] = installed
            self.assigned[p.key] = (found.get((p.key, "out"), set()) & self.members) | installed
        self.app_installed = found.get(("app", "in"), set()) & self.members

    def profile_state(self, key: str, device_id: int) -> str:
        if key not in self.installed:
            return ABSENT
        if device_id in self.installed[key]:
            return INSTALLED
        return PENDING if device_id in self.assigned[key] else ABSENT

    def groups_of(self, device_id: int) -> list[int]:
        return [g for g, ids in self.group_members.items() if device_id in ids]
