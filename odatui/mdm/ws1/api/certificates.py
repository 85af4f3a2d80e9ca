"""Workspace ONE certificate authorities and their request templates, as the 2604 picklists show them (mdm v1):
the CA and template odatui's certificate profile references. Creating them has no API in 2604 (console only:
Groups & Settings › All Settings › Enterprise Integration › Certificate Authorities)."""

from __future__ import annotations

import asyncio

from odatui.mdm.ws1.api.base import PAGE_CONCURRENCY, Ws1Base
from odatui.mdm.ws1.api.errors import Ws1ApiError, shape_guard
from odatui.mdm.ws1.api.models import PickItem


class CertificatesApi(Ws1Base):
    async def _picklist(self, path: str, what: str) -> list[PickItem]:
        r = await self.request("GET", path, version=1, what=what)
        if r.status_code == 204:
            return []
        data = self._body(r, what)
        if not isinstance(data, list):
            raise Ws1ApiError(r.status_code, None, f"{what}: expected a list of PickListItem, got "
                              f"{type(data).__name__}", retryable=False)
        out = []
        for item in data:
            key = str((item or {}).get("Key") or "") if isinstance(item, dict) else ""
            if key.isdigit():  # PickListItem {Key, Description}: Key is the numeric id as a string
                out.append(PickItem(int(key), str(item.get("Description") or "")))
        return out

    @shape_guard
    async def certificate_authorities(self, og_id: int) -> list[PickItem]:
        """PickLists_GetCertificateAuthorityList: GET /mdm/picklists/organizationgroups/{ogid}/certificateauthorities."""
        return await self._picklist(f"/api/mdm/picklists/organizationgroups/{og_id}/certificateauthorities",
                                    f"listing the certificate authorities of organization group {og_id}")

    @shape_guard
    async def certificate_templates(self, og_id: int, ca_id: int) -> list[PickItem]:
        """PickLists_GetCertificateTemplatesListForCertificateAuthority: …/certificateauthorities/{id}/certificatetemplates."""
        return await self._picklist(
            f"/api/mdm/picklists/organizationgroups/{og_id}/certificateauthorities/{ca_id}/certificatetemplates",
            f"listing the templates of certificate authority {ca_id}")

    async def certificate_profile_installed(self, profile_id: int, members: set[int] | None = None) -> set[int]:
        """Ids of the Macs that installed the certificate profile (bulk listing, no request per Mac), limited to
        `members` when given: the certificate's install share of a wave, for its gate and for `status`."""
        general = (await self.get_profile(profile_id)).get("General") or {}  # type: ignore[attr-defined]
        uuid = general.get("ProfileUuid")
        if not uuid:
            return set()
        installed = await self.profile_device_ids(uuid, "INSTALLED",  # type: ignore[attr-defined]
                                                  asyncio.Semaphore(PAGE_CONCURRENCY))
        return installed & members if members is not None else installed
