"""Workspace ONE organization groups and smart groups (system v2 groups search; mdm v1 smart groups)."""

from __future__ import annotations

from typing import Any

from odatui.core.errors import StepError
from odatui.core.paging import PageGuard, check_page
from odatui.mdm.ws1.api.base import PAGE_SIZE, Ws1Base
from odatui.mdm.ws1.api.errors import Ws1ApiError, shape_guard
from odatui.mdm.ws1.api.models import OrgGroup, SmartGroup


def below_floor_version(macos_min: int) -> str:
    """The version a "GreaterThan" criterion compares with so that the floor itself matches: the last possible
    version of the macOS before it (13 → "12.99", 26 → "15.99": Apple went from 15 to 26)."""
    before = {13: 12, 14: 13, 15: 14, 26: 15}.get(macos_min, macos_min - 1)
    return f"{before}.99"


class GroupsApi(Ws1Base):
    @shape_guard
    async def find_org_group(self, group_id: str) -> OrgGroup | None:
        what = f"organization group search for Group ID {group_id!r}"
        r = await self.request("GET", "/api/system/groups/search", version=2, what=what, params={"groupid": group_id})
        if r.status_code == 204:
            return None
        data = self._body(r, what, expect="OrganizationGroups")
        for g in data["OrganizationGroups"] or []:
            if str(g.get("GroupId", "")).lower() == group_id.lower():
                if not isinstance(g.get("Id"), int):
                    raise Ws1ApiError(r.status_code, None, f"{what}: Id is not a number (v1 shape?)", retryable=False)
                return OrgGroup(g["Id"], str(g.get("Uuid") or ""), str(g.get("Name") or ""), str(g["GroupId"]))
        return None

    @shape_guard
    async def search_smart_groups(self, name: str) -> list[SmartGroup]:
        """Smart groups whose name contains `name` (the API matches substrings; callers filter exactly)."""
        what = f"smart group search for {name!r}"
        out: list[SmartGroup] = []
        page = 0
        guard = PageGuard(self.http.base_url, "Workspace ONE")  # a Total that never ends must not page forever
        while True:
            r = await self.request("GET", "/api/mdm/smartgroups/search", version=1, what=what,
                                   params={"name": name, "page": page, "pagesize": PAGE_SIZE})
            if r.status_code == 204:
                return out
            data = self._body(r, what, expect="SmartGroups")
            try:
                check_page(data["SmartGroups"], PAGE_SIZE, f"Workspace ONE {what}")
            except StepError as exc:
                raise Ws1ApiError(None, None, exc.message, hint=exc.hint, retryable=False) from None
            for g in data["SmartGroups"] or []:
                out.append(SmartGroup(int(g["SmartGroupID"]), str(g.get("SmartGroupUuid") or ""), str(g.get("Name")),
                                      str(g.get("ManagedByOrganizationGroupName") or ""), int(g.get("Devices") or 0)))
            page += 1
            if page * PAGE_SIZE >= int(data.get("Total") or 0):
                return out
            try:
                guard.count()
            except StepError as exc:
                raise Ws1ApiError(None, None, f"{what}: {exc.message}", hint=exc.hint, retryable=False) from None

    @shape_guard
    async def get_smart_group(self, smart_group_id: int) -> SmartGroup | None:
        """One smart group by id, or None when it does not exist (any more)."""
        what = f"reading smart group {smart_group_id}"
        try:
            r = await self.request("GET", f"/api/mdm/smartgroups/{smart_group_id}", version=1, what=what)
        except Ws1ApiError as exc:
            if exc.status in (400, 404):  # the spec: 400/404 "Smart Group not found with Id"
                return None
            raise
        g = self._body(r, what, expect="SmartGroupID")
        return SmartGroup(int(g["SmartGroupID"]), str(g.get("SmartGroupUuid") or ""), str(g.get("Name")),
                          str(g.get("ManagedByOrganizationGroupName") or ""), int(g.get("Devices") or 0))

    @shape_guard
    async def create_smart_group(self, name: str, og: OrgGroup, *, macos_min: int,
                                 device_ids: list[int] | None = None) -> int:
        """POST /api/mdm/smartgroups (mdmv1 SmartGroupEditV1Model); returns the new id (EntityId).

        With `device_ids`: CriteriaType "UserDevice" and exactly those DeviceAdditions (ids as strings), no
        criteria: Omnissa's terraform-provider-uem (docs/resources/smart_group.md) says a group either matches by
        criteria ("All") or lists devices ("UserDevice"). Without: "All" with the macOS platform, the OS floor and
        Apple silicon. Spellings: "AppleOsX" is the spec's own example; "GreaterThan" and "Arm64" are what the
        provider's docs and tests send (internal/smartgroup/resource_test.go) — unverified against a live tenant,
        so the caller reads the group back and checks its members. The spec has no "at or above": the floor is
        written as "greater than the last version before it" (e.g. 13.99 for 14), also unverified."""
        body: dict[str, Any] = {"Name": name, "ManagedByOrganizationGroupId": str(og.id)}
        if device_ids is not None:
            body.update({"CriteriaType": "UserDevice", "DeviceAdditions": [{"Id": str(i)} for i in device_ids]})
        else:
            body.update({"CriteriaType": "All",
                         "OrganizationGroups": [{"Id": str(og.id), "Uuid": og.uuid, "Name": og.name}],
                         "Platforms": ["AppleOsX"],
                         "OperatingSystems": [{"DeviceType": "AppleOsX", "Operator": "GreaterThan",
                                               "Value": below_floor_version(macos_min)}],
                         "CPUArchitectures": ["Arm64"]})
        what = f"creating smart group {name!r}"
        r = await self.request("POST", "/api/mdm/smartgroups", version=1, what=what, json_body=body, retry=False)
        return int(self._body(r, what, expect="Value")["Value"])

    @shape_guard
    async def smart_group_detail(self, smart_group_id: int) -> dict[str, Any]:
        """GET /api/mdm/smartgroups/{id} as WS1 answers it (mdmv1 SmartGroup): criteria and explicit devices."""
        what = f"reading smart group {smart_group_id}"
        r = await self.request("GET", f"/api/mdm/smartgroups/{smart_group_id}", version=1, what=what)
        return self._body(r, what, expect="SmartGroupID")

    async def delete_smart_group(self, smart_group_id: int) -> bool:
        """True when deleted, False when it was already gone."""
        return await self.delete(f"/api/mdm/smartgroups/{smart_group_id}", version=1,
                                 what=f"deleting smart group {smart_group_id}")
