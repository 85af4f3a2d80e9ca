"""The WS1 emulator's organization groups and smart groups."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odatui.mdm.ws1.emulator.base import Ws1State
from odatui.mdm.ws1.emulator.common import Ws1Error


class Ws1Groups:
    """Organization group search (v2) and smart groups: search, read, members, create, delete (mdm v1)."""

    def __init__(self, ws1: Ws1State) -> None:
        self.ws1 = ws1

    # ------------------------------------------------------------------ organization and smart groups
    async def groups_search(self, request: Request, version: int) -> Response:
        groupid, name = self.ws1._param(request, "groupid"), self.ws1._param(request, "name")
        # Group ID matched case-insensitively. The UEM System API v2 reference says only "Exact match is performed
        # for this attribute"; ignoring case is unverified. odatui keys its run state on the `Id` it answers.
        found = [g for g in self.ws1.org_groups
                 if (groupid is None or g["GroupId"].lower() == groupid.lower())
                 and (name is None or name.lower() in g["Name"].lower())]
        page, size = self.ws1._paging(request)
        window = found[page * size:(page + 1) * size]
        if version == 2:
            return JSONResponse({"OrganizationGroups": [dict(g) for g in window], "TotalResults": len(found)})
        groups = [{**{k: v for k, v in g.items() if k != "Id"}, "Id": {"Value": g["Id"]}} for g in window]
        return JSONResponse({"LocationGroups": groups, "Page": page, "PageSize": size, "Total": len(found)})

    def _sg_model(self, g: dict[str, Any]) -> dict[str, Any]:
        og = self.ws1._og(g["og_id"]) or {}
        return {"Name": g["name"], "SmartGroupID": g["id"], "SmartGroupUuid": g["uuid"],
                "ManagedByOrganizationGroupId": str(g["og_id"]), "ManagedByOrganizationGroupUuid": og.get("Uuid"),
                "ManagedByOrganizationGroupName": og.get("Name"), "Devices": len(self.ws1.sg_devices(g)),
                "Assignments": 0, "Exclusions": 0}

    async def smartgroups_search(self, request: Request, version: int) -> Response:
        name = self.ws1._param(request, "name")
        og_id = self.ws1._int_param(request, "organizationgroupid")
        found = [g for g in self.ws1.smart_groups if (not name or name.lower() in g["name"].lower())  # contains
                 and (og_id is None or g["og_id"] == og_id)]
        if not found:
            return Response(status_code=204)
        page, size = self.ws1._paging(request)
        window = found[page * size:(page + 1) * size]
        return JSONResponse({"Page": page, "PageSize": size, "Total": len(found),
                             "SmartGroups": [self._sg_model(g) for g in window]})

    async def smartgroup_devices(self, request: Request, version: int) -> Response:
        group = self.ws1._sg_by_id(request.path_params["sg_id"])
        if group is None:
            raise Ws1Error(400, 400, "Smart Group not found with Id: or User does not have access to it.")
        devices = self.ws1.sg_devices(group)
        if not devices:
            return Response(status_code=204)
        return JSONResponse({"Devices": [
            {"Id": str(d.id), "Name": d.name, "Model": d.model, "OSVersion": d.os_version, "Username": d.user,
             "Platform": "AppleOsX", "Ownership": "C"} for d in devices]})

    async def get_smartgroup(self, request: Request, version: int) -> Response:
        group = self.ws1._sg_by_id(request.path_params["sg_id"])
        if group is None:  # mdmv1 GET /smartgroups/{id}: 404 "Smart Group not found"
            raise Ws1Error(404, 404, "Smart Group not found with Id or User does not have access to it.")
        return JSONResponse({**self._sg_model(group), "CriteriaType": group.get("criteria_type", "All"),
                             "Platforms": group.get("platforms", []),
                             "OperatingSystems": group.get("operating_systems", []),
                             "CpuArchitectures": group.get("cpu_architectures", []),
                             "DeviceAdditions": [{"Id": str(d.id), "Name": d.name}
                                                 for d in self.ws1.sg_devices(group)] if group["members"] == "explicit"
                             else []})

    async def create_smartgroup(self, request: Request, version: int) -> Response:
        """mdmv1 POST /smartgroups (SmartGroupEditV1Model → EntityId), with the 400s the spec lists."""
        body = await self.ws1._json(request)
        if not isinstance(body, dict) or not str(body.get("Name") or "").strip():
            raise Ws1Error(400, 6, "SmartGroup name is missing.")
        name = str(body["Name"]).strip()
        if any(g["name"].lower() == name.lower() for g in self.ws1.smart_groups):
            raise Ws1Error(400, 400, "Smart Group with the same name already exists")
        if body.get("CriteriaType") not in ("All", "UserDevice"):
            raise Ws1Error(400, 400, "Smart Group Criteia Type is incorrect. Correct values for criteria type are "
                           "All or UserDevice.")
        og = self.ws1._og(body.get("ManagedByOrganizationGroupId"))
        if og is None:
            raise Ws1Error(400, 400, "Smart Groups cannot be created outside of Customer Organization Group "
                           "hierarchy.")
        systems = [item for item in body.get("OperatingSystems") or [] if isinstance(item, dict)]
        for item in systems:
            # "Greater Than, Less Than etc." (SmartGroupOperatingSystem.Operator); the spelling "GreaterThan" is the
            # one Omnissa's terraform-provider-uem uses (docs/resources/smart_group.md). Any other is refused here
            # (unverified: what UEM does with other spellings), so odatui cannot rely on an unconfirmed one.
            if str(item.get("Operator")) not in ("GreaterThan", "LessThan"):
                raise Ws1Error(400, 400, f"Operator {item.get('Operator')!r} is not valid.")
        additions = body.get("DeviceAdditions") or []
        if body["CriteriaType"] == "UserDevice":
            ids = []
            for item in additions:
                raw = item.get("Id") if isinstance(item, dict) else None
                if not str(raw or "").isdigit() or int(raw) not in self.ws1.fleet.by_id:
                    raise Ws1Error(400, 400, f"Device {raw!r} not found or user does not have access to it.")
                ids.append(int(raw))
            if not ids and not body.get("UserAdditions"):
                raise Ws1Error(400, 400, "A smart group of criteria type UserDevice needs devices or users.")
            drop = int(self.ws1.settings.get("smartgroup_drop_additions") or 0)
            group = self.ws1.add_smart_group(name, members="explicit", og_id=og["Id"])
            group["device_ids"] = ids[:len(ids) - drop] if drop else ids
        else:
            if additions:  # the provider leaves the pairing to UEM; the emulator refuses it (unverified)
                raise Ws1Error(400, 400, "DeviceAdditions need CriteriaType UserDevice.")
            group = self.ws1.add_smart_group(name, members="criteria" if "AppleOsX" in (body.get("Platforms") or [])
                                         else "none", og_id=og["Id"])
        group.update({"criteria_type": body["CriteriaType"], "platforms": list(body.get("Platforms") or []),
                      "operating_systems": systems, "cpu_architectures": list(body.get("CPUArchitectures") or []),
                      "created_via_api": True})
        return JSONResponse({"Value": group["id"]})

    async def delete_smartgroup(self, request: Request, version: int) -> Response:
        group = self.ws1._sg_by_id(request.path_params["sg_id"])
        if group is None:
            raise Ws1Error(404, 404, "Smart Group not found with Id or User does not have access to it.")
        used = any(group["uuid"].lower() in [str(u).lower() for r in rules.get("assignments", [])
                                             for u in r["distribution"].get("smart_groups") or []]
                   for rules in self.ws1.assignment_rules.values()) \
            or any(str(s.get("SmartGroupId")) == str(group["id"]) for p in self.ws1.profiles.values()
                   for s in p["body"]["General"].get("AssignedSmartGroups") or [])
        if used:  # mdmv1 DELETE /smartgroups/{id}: 400 while an app or profile still uses it
            raise Ws1Error(400, 400, "This smart group has one or more dependency. Please unassign the smart group "
                           "from the dependency and try deleting again.")
        self.ws1.smart_groups.remove(group)
        return Response(status_code=200)
