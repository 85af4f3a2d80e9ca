"""The Workspace ONE objects odatui reads back, as small frozen records (ids, names, versions, counts)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OrgGroup:
    id: int
    uuid: str
    name: str
    group_id: str


@dataclass(frozen=True)
class SmartGroup:
    id: int
    uuid: str
    name: str
    managed_by: str = ""
    devices: int = 0


@dataclass(frozen=True)
class Blob:
    id: int
    uuid: str | None


@dataclass(frozen=True)
class AppSummary:
    id: int
    uuid: str
    name: str
    version: str
    status: str
    bundle_id: str = ""


@dataclass(frozen=True)
class ProfileSummary:
    id: int
    uuid: str
    name: str
    assignment_type: str = ""
    smart_group_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class RolloutStatus:
    devices: int  # devices in the smart group
    profile_installed: int
    app_installed: int
    requests_made: int



@dataclass(frozen=True)
class PickItem:
    """A 2604 PickListItem: the numeric id (Key) and the name the console shows (Description)."""

    id: int
    name: str
