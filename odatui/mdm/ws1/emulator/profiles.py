"""The WS1 emulator's macOS device profiles."""

from __future__ import annotations

import plistlib
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odatui.mdm.ws1.emulator.base import Ws1State
from odatui.mdm.ws1.emulator.common import Ws1Error, is_bare_dict


class Ws1Profiles:
    """macOS device profiles: create/update (need `ProfileContext` and bare `<dict>` Custom Settings), read,
    search, delete, and which devices have them installed (mdm v1/v2)."""

    def __init__(self, ws1: Ws1State) -> None:
        self.ws1 = ws1

    # ------------------------------------------------------------------ profiles
    def _validate_profile(self, body: Any, *, update: bool) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("General"), dict):
            raise Ws1Error(400, 400, "Mandatory input parameter missing. Mandatory params : {General}")
        general = body["General"]
        if update and not general.get("ProfileId"):
            raise Ws1Error(400, 400, "Mandatory input parameter missing. Mandatory params : {ProfileId}")
        if not str(general.get("Name") or "").strip():
            raise Ws1Error(400, 400, "Mandatory input parameter missing. Mandatory params : {Name}")
        if general.get("ProfileContext") not in ("Device", "User"):
            raise Ws1Error(400, 400, "ProfileContext is required for AppleOsX profiles (Device or User).")
        og = self.ws1._og(general.get("ManagedLocationGroupID"))
        if og is None:
            raise Ws1Error(400, 400, f"Resource's organization group : {general.get('ManagedLocationGroupID')} not "
                           "found or user does not have access to it.")
        if general.get("AssignmentType", "Auto") not in ("Auto", "Optional", "Interactive", "Compliance", "Custom"):
            raise Ws1Error(422, 1012, "AssignmentType is not valid.")
        for sg in general.get("AssignedSmartGroups") or []:
            if not isinstance(sg, dict) or self.ws1._sg_by_id(sg.get("SmartGroupId")) is None:
                raise Ws1Error(400, 400, f"Smart group {sg!r} not found or user does not have access to it.")
        if body.get("ScepList"):
            self.ws1.cas.validate(body["ScepList"], self.ws1._og_and_ancestors(og["Id"]))
        payloads = 0
        for entry in body.get("CustomSettingsList") or []:
            text = entry.get("CustomSettings") if isinstance(entry, dict) else None
            if not isinstance(text, str) or not is_bare_dict(text):
                raise Ws1Error(400, 400, "Custom Settings must be a single payload <dict>…</dict> without an XML "
                               "declaration or <plist> wrapper.")
            payloads += 1
        domains = body.get("AssociatedDomains")
        if domains:
            if not isinstance(domains, dict) or not domains.get("ApplicationIdentifier") \
                    or not domains.get("AssociatedDomains"):
                raise Ws1Error(400, 400, "Associated Domains needs ApplicationIdentifier and AssociatedDomains.")
            payloads += 1
        payloads += sum(1 for k, v in body.items() if k not in ("General", "CustomSettingsList", "AssociatedDomains") and v)
        if payloads == 0:
            raise Ws1Error(400, 400, "A profile must contain at least one payload.")
        return og

    def _store_profile(self, profile_id: int, body: dict[str, Any], version: int, og: dict[str, Any],
                       previous: dict[str, Any] | None) -> None:
        general = dict(body["General"])
        general.update({"ProfileId": profile_id, "ProfileUuid": (previous or {}).get("uuid") or self.ws1._uuid(f"profile-{profile_id}"),
                        "Version": version, "IsActive": general.get("IsActive", True),
                        "AssignmentType": general.get("AssignmentType", "Auto")})
        general.pop("CreateNewVersion", None)
        stored = {k: v for k, v in body.items() if k != "General"}
        stored["General"] = general
        active_auto = general["IsActive"] and general["AssignmentType"] == "Auto"
        # Per smart group: when the profile reached it. A group added by a later update starts its own clock, so a
        # second wave does not inherit the first wave's head start.
        before = (previous or {}).get("group_at") or {}
        group_at = {str(sg.get("SmartGroupId")): before.get(str(sg.get("SmartGroupId"))) or self.ws1.fleet.now()
                    for sg in general.get("AssignedSmartGroups") or []} if active_auto else {}
        static_scep, refused = _static_scep(stored, self.ws1.tenant.okta_scep_challenge)
        self.ws1.profiles[profile_id] = {"id": profile_id, "uuid": general["ProfileUuid"], "og_id": og["Id"],
                                     "body": stored, "group_at": group_at,
                                     "assigned_at": min(group_at.values()) if group_at else None,
                                     "static_scep": static_scep, "static_scep_refused": refused}

    async def create_profile(self, request: Request, version: int) -> Response:
        body = await self.ws1._json(request)
        og = self._validate_profile(body, update=False)
        profile_id = self.ws1._next("profile")
        self._store_profile(profile_id, body, 1, og, None)
        return JSONResponse(profile_id)  # a bare integer, as the real API answers

    async def update_profile(self, request: Request, version: int) -> Response:
        body = await self.ws1._json(request)
        og = self._validate_profile(body, update=True)
        try:
            profile_id = int(body["General"]["ProfileId"])
        except (TypeError, ValueError):
            raise Ws1Error(400, 400, "ProfileId must be an integer.") from None
        current = self.ws1.profiles.get(profile_id)
        if current is None:
            raise Ws1Error(404, 8, "Profile not found for this request.")
        if self.ws1.settings["profile_update_noop"]:
            return Response(status_code=200)  # the known bug: 200, nothing saved
        new_version = current["body"]["General"]["Version"] + (1 if body["General"].get("CreateNewVersion") else 0)
        self._store_profile(profile_id, body, new_version, og, current)
        return Response(status_code=200)

    async def delete_profile(self, request: Request, version: int) -> Response:
        """mdmv1 DELETE /profiles/{profileid}: 400 (not 404) when the profile does not exist."""
        try:
            profile = self.ws1.profiles.get(int(request.path_params["profile_id"]))
        except ValueError:
            profile = None
        if profile is None:
            raise Ws1Error(400, 400, "Profile not found or User does not have access to the Profile.")
        del self.ws1.profiles[profile["id"]]
        return Response(status_code=200)

    async def get_profile(self, request: Request, version: int) -> Response:
        try:
            profile = self.ws1.profiles.get(int(request.path_params["profile_id"]))
        except ValueError:
            profile = None
        if profile is None:
            raise Ws1Error(404, 8, "Profile not found for this request.")
        return JSONResponse(profile["body"])

    async def profiles_search(self, request: Request, version: int) -> Response:
        text = self.ws1._param(request, "searchtext") if version == 2 else self.ws1._param(request, "profilename")
        og_id = self.ws1._int_param(request, "organizationgroupid")
        platform = self.ws1._param(request, "platform")
        found = [p for p in self.ws1.profiles.values()
                 if (not text or text.lower() in p["body"]["General"]["Name"].lower())
                 and (og_id is None or p["og_id"] == og_id)
                 and (not platform or platform.lower() == "appleosx")]
        if not found:
            return Response(status_code=204)
        page, size = self.ws1._paging(request)
        window = found[page * size:(page + 1) * size]
        if version == 2:
            items = []
            for p in window:
                g = p["body"]["General"]
                og = self.ws1._og(p["og_id"]) or {}
                items.append({"ProfileId": p["id"], "ProfileName": g["Name"], "ManagedBy": og.get("Name"),
                              "OrganizationGroupId": p["og_id"], "OrganizationGroupUuid": og.get("Uuid"),
                              "ProfileStatus": "Active" if g.get("IsActive") else "Inactive", "Platform": "AppleOsX",
                              "AssignmentType": g.get("AssignmentType"), "ProfileUuid": p["uuid"],
                              "AssignmentSmartGroups": [{"Id": s.get("SmartGroupId"), "Name": s.get("Name") or ""}
                                                        for s in g.get("AssignedSmartGroups") or []],
                              "ExcludedSmartGroups": [], "ProfileType": "Device",
                              "Context": g.get("ProfileContext")})
            return JSONResponse({"ProfileList": items, "TotalResults": len(found)})
        items = [{"ProfileName": p["body"]["General"]["Name"], "OrganizationGroupId": str(p["og_id"]),
                  "ProfileStatus": "Active", "Platform": "AppleOsX", "ProfileScope": "Production",
                  "Id": {"Value": p["id"]}, "Uuid": p["uuid"]} for p in window]
        return JSONResponse({"Profiles": items, "Page": page, "PageSize": size, "Total": len(found)})

    def _profile_devices(self, profile: dict[str, Any]) -> list[Any]:
        groups = [self.ws1._sg_by_id(sg.get("SmartGroupId")) for sg in profile["body"]["General"].get("AssignedSmartGroups") or []]
        groups = [g for g in groups if g is not None]
        if len(groups) == 1:
            return self.ws1.sg_devices(groups[0])
        seen: dict[int, Any] = {}
        for sg in profile["body"]["General"].get("AssignedSmartGroups") or []:
            group = self.ws1._sg_by_id(sg.get("SmartGroupId"))
            if group is not None:
                for d in self.ws1.sg_devices(group):
                    seen[d.id] = d
        return list(seen.values())

    async def profile_devices(self, request: Request, version: int) -> Response:
        uid = request.path_params["profile_uuid"]
        profile = next((p for p in self.ws1.profiles.values() if p["uuid"].lower() == uid.lower()), None)
        if profile is None:
            raise Ws1Error(404, 8, "Profile not found for this request.")
        status = (self.ws1._param(request, "profilestatus") or "").upper()
        if status not in ("", "INSTALLED", "NOT_INSTALLED"):
            raise Ws1Error(422, 1012, 'Invalid value for device profile installation status. Allowed Values - '
                           '"INSTALLED" and "NOT_INSTALLED".')
        page, size = self.ws1._paging(request)
        devices = self._profile_devices(profile)
        if status:
            want = status == "INSTALLED"
            targets = tuple(str(sg.get("SmartGroupId"))
                            for sg in profile["body"]["General"].get("AssignedSmartGroups") or [])
            times = tuple(sorted((profile.get("group_at") or {}).items()))
            devices = self.ws1._listing(("profile", profile["id"], status, times, targets), lambda: [
                d for d in devices
                if self.ws1.profile_installed(profile, d) == want])
        if not devices:
            return Response(status_code=204)
        window = devices[page * size:(page + 1) * size]
        return JSONResponse({"profileAssignedDevices": [{"id": d.id, "uuid": d.uuid} for d in window],
                             "TotalResults": len(devices)})


def _static_scep(body: dict[str, Any], okta_challenge: str) -> tuple[bool, str | None]:
    """Whether the profile carries Apple's SCEP payload in Custom Settings, and why Okta would refuse it (a
    challenge other than the sandbox Okta's secret): the whole profile then fails on the Mac (fleet-safety.md, the
    `profiled` field report)."""
    found, refused = False, None
    for entry in body.get("CustomSettingsList") or []:
        text = entry.get("CustomSettings") if isinstance(entry, dict) else None
        if not isinstance(text, str) or "com.apple.security.scep" not in text:
            continue
        try:
            payload = plistlib.loads(f'<plist version="1.0">{text}</plist>'.encode())
        except Exception:  # noqa: BLE001 - an unreadable payload is not a SCEP payload
            continue
        if isinstance(payload, dict) and payload.get("PayloadType") == "com.apple.security.scep":
            found = True
            if (payload.get("PayloadContent") or {}).get("Challenge") != okta_challenge:
                refused = "SCEP enrollment failed: Okta's SCEP server rejected the profile's challenge"
    return found, refused
