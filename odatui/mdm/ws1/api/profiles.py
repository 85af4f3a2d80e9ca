"""Workspace ONE macOS device profiles: search, read, create, update, delete (mdm v1/v2 profiles)."""

from __future__ import annotations

from typing import Any

from odatui.mdm.ws1.api.base import PAGE_SIZE, Ws1Base
from odatui.mdm.ws1.api.errors import Ws1ApiError, shape_guard
from odatui.mdm.ws1.api.models import ProfileSummary


class ProfilesApi(Ws1Base):
    @shape_guard
    async def search_profiles(self, og_id: int, name: str) -> list[ProfileSummary]:
        what = f"profile search for {name!r}"
        r = await self.request("GET", "/api/mdm/profiles/search", version=2, what=what,
                               params={"searchtext": name, "platform": "AppleOsX", "organizationgroupid": og_id,
                                       "pagesize": PAGE_SIZE})
        if r.status_code == 204:
            return []
        data = self._body(r, what, expect="ProfileList")
        return [ProfileSummary(int(p["ProfileId"]), str(p.get("ProfileUuid") or ""), str(p.get("ProfileName") or ""),
                               str(p.get("AssignmentType") or ""),
                               tuple(int(s["Id"]) for s in p.get("AssignmentSmartGroups") or [] if s.get("Id")))
                for p in data["ProfileList"] or []]

    @shape_guard
    async def get_profile(self, profile_id: int) -> dict[str, Any]:
        what = f"reading profile {profile_id}"
        r = await self.request("GET", f"/api/mdm/profiles/{profile_id}", version=2, what=what)
        return self._body(r, what, expect="General")

    @shape_guard
    async def create_macos_profile(self, body: dict[str, Any]) -> int:
        name = body.get("General", {}).get("Name", "")
        what = f"creating the macOS profile {name!r}"
        og_id = body.get("General", {}).get("ManagedLocationGroupID")
        try:
            r = await self.request("POST", "/api/mdm/profiles/platforms/appleosx/create", version=2, what=what,
                                   json_body=body, ok=(200, 201))
        except Ws1ApiError as exc:
            if exc.status is not None and exc.status < 500:
                raise
            same = [p for p in await self.search_profiles(og_id, name) if p.name == name]
            if len(same) == 1:
                return same[0].id
            raise
        data = self._body(r, what)
        if isinstance(data, bool) or not isinstance(data, int):
            raise Ws1ApiError(r.status_code, None, f"{what}: expected the new profile id, got {str(data)[:80]!r}",
                              retryable=False)
        return data

    async def update_macos_profile(self, body: dict[str, Any]) -> None:
        # POST, but it names the profile by id: sending it twice writes the same thing twice.
        await self.request("POST", "/api/mdm/profiles/platforms/appleosx/update", version=2,
                           what=f"updating profile {body.get('General', {}).get('ProfileId')}", json_body=body,
                           retry=True)

    async def delete_profile(self, profile_id: int) -> bool:
        """DELETE /api/mdm/profiles/{profileid} (mdmv1). True when deleted, False when it was already gone
        (mdmv1: 400 "Profile not found or User does not have access to the Profile.")."""
        return await self.delete(f"/api/mdm/profiles/{profile_id}", version=1, what=f"deleting profile {profile_id}")

    async def profile_exists(self, profile_id: int) -> bool:
        try:
            await self.get_profile(profile_id)
        except Ws1ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True
