"""The WS1 emulator's app assignment rules (mam v2)."""

from __future__ import annotations


from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odatui.mdm.ws1.emulator.base import Ws1State
from odatui.mdm.ws1.emulator.common import Ws1Error, is_datetime


class Ws1Rules:
    """v2 assignment rules: read, and PUT as a full replace with priorities 0..n-1, published to devices."""

    def __init__(self, ws1: Ws1State) -> None:
        self.ws1 = ws1

    async def get_assignment_rules(self, request: Request, version: int) -> Response:
        uid = request.path_params["app_uuid"]
        app = next((a for a in self.ws1.apps.values() if a["uuid"].lower() == uid.lower()), None)
        if app is None:
            raise Ws1Error(404, 7000, "Application not found or user does not have access to it.")
        rules = self.ws1.assignment_rules.get(app["uuid"], {"assignments": [], "excluded_smart_groups": []})
        return JSONResponse({**rules, "id": app["id"], "uuid": app["uuid"]})

    async def put_assignment_rules(self, request: Request, version: int) -> Response:
        uid = request.path_params["app_uuid"]
        app = next((a for a in self.ws1.apps.values() if a["uuid"].lower() == uid.lower()), None)
        if app is None:
            raise Ws1Error(404, 7000, "Application not found")
        body = await self.ws1._json(request)
        if not isinstance(body, dict):
            raise Ws1Error(400, 400, "Request body cannot be null.")
        assignments = body.get("assignments") or []
        excluded = body.get("excluded_smart_groups") or []
        if not isinstance(assignments, list) or not all(isinstance(a, dict) for a in assignments):
            raise Ws1Error(400, 400, "assignments must be a list of assignment objects.")
        if excluded and not assignments:
            raise Ws1Error(422, 1012, "Assignments should be present if excluded smartgroups are provided")
        if any("priority" not in a or a["priority"] is None for a in assignments):
            raise Ws1Error(422, 1012, "The Priority field is required.")
        if [a["priority"] for a in assignments] != list(range(len(assignments))):
            raise Ws1Error(400, 6, "Priority of the assignments should be in ascending order with priority "
                           "starting from 0.")
        stored = []
        for a in assignments:
            dist = a.get("distribution")
            if not isinstance(dist, dict) or not dist.get("name"):
                raise Ws1Error(422, 1012, "The Name field is required.")
            groups = dist.get("smart_groups") or []
            if any(self.ws1._sg_by_uuid(g) is None for g in groups) or not groups:
                raise Ws1Error(400, 6, "Smart groups provided is not applicable for this application.")
            if dist.get("effective_date") is not None and not is_datetime(dist["effective_date"]):
                raise Ws1Error(400, 400, "The value of effective_date is not a valid date-time.")  # mamv2: format date-time
            reach = self.ws1._og_and_ancestors(app["og_id"])
            if any(self.ws1._sg_by_uuid(g)["og_id"] not in reach for g in groups):
                # Managed below the app's OG (or in another branch): not applicable (same documented error).
                raise Ws1Error(400, 6, "Smart groups provided is not applicable for this application.")
            if set(map(str.lower, groups)) & set(map(str.lower, excluded)):
                raise Ws1Error(400, 6, "The assigned and excluded smartgroups should not be same.")
            # Full replace: omitted fields are reset, delivery defaults to ON_DEMAND (unverified: field behaviour of
            # the v2 PUT; the swagger does not say).
            dist = {"description": "", "app_delivery_method": "ON_DEMAND", "display_in_app_catalog": False,
                    "auto_update_devices_with_previous_versions": False, "keep_app_updated_automatically": False,
                    **dist}
            restriction = {"remove_on_unenroll": False, "desired_state_management": False,
                           **(a.get("restriction") or {})}
            stored.append({"priority": a["priority"], "distribution": dist, "restriction": restriction})
        self.ws1.assignment_rules[app["uuid"]] = {"assignments": stored, "excluded_smart_groups": list(excluded)}
        auto = any(s["distribution"]["app_delivery_method"] == "AUTO" for s in stored)
        if auto:
            self.ws1.assigned_at.setdefault(app["uuid"], self.ws1.fleet.now())
        else:
            self.ws1.assigned_at.pop(app["uuid"], None)
        return Response(status_code=202)
