"""The Okta emulator's Applications API: list/get/activate apps, group assignments, app users
(https://developer.okta.com/docs/api/openapi/okta-management/management/tag/Application/)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odatui.sandbox.okta_base import OktaState
from odatui.sandbox.okta_common import OktaError, now_iso, not_found


class OktaApps:
    """Applications: list (q/filter), get, activate, group assignments (GET/PUT/DELETE), app users."""

    def __init__(self, okta: OktaState) -> None:
        self.okta = okta

    async def list_apps(self, request: Request) -> Response:
        apps = list(self.okta.apps.values())
        q = request.query_params.get("q")
        if q:
            # Okta: "name or label starts with", case-insensitive.
            ql = q.lower()
            apps = [a for a in apps if a["label"].lower().startswith(ql) or a["name"].lower().startswith(ql)]
        expr = request.query_params.get("filter")
        if expr:
            apps = self.okta._filter(apps, expr, {"status": lambda a: a["status"], "name": lambda a: a["name"],
                                             "id": lambda a: a["id"], "signOnMode": lambda a: a["signOnMode"]})
        return self.okta._page(request, apps, default=20, cap=200)

    def _app(self, app_id: str) -> dict[str, Any]:
        app = self.okta.apps.get(app_id)
        if app is None:
            raise not_found(app_id, "AppInstance")
        return app

    async def get_app(self, request: Request) -> Response:
        return JSONResponse(self._app(request.path_params["app_id"]))

    async def activate_app(self, request: Request) -> Response:
        # Okta Management API activateApplication: 200 and an empty JSON object; activating an ACTIVE app is a
        # no-op (developer.okta.com/docs/api/openapi/okta-management/management/tag/ApplicationLifecycle/,
        # operation activateApplication).
        app = self._app(request.path_params["app_id"])
        app["status"] = "ACTIVE"
        app["lastUpdated"] = now_iso()
        return JSONResponse({})

    async def list_app_groups(self, request: Request) -> Response:
        app_id = request.path_params["app_id"]
        self._app(app_id)
        items = list(self.okta.assignments[app_id].values())
        q = request.query_params.get("q")
        if q:
            items = [a for a in items if self.okta.groups[a["id"]]["profile"]["name"].lower().startswith(q.lower())]
        return self.okta._page(request, items, default=20, cap=200)

    async def app_group(self, request: Request) -> Response:
        app_id, group_id = request.path_params["app_id"], request.path_params["group_id"]
        self._app(app_id)
        if group_id not in self.okta.groups:
            raise not_found(group_id, "UserGroup")
        current = self.okta.assignments[app_id].get(group_id)
        if request.method == "GET":
            if current is None:
                raise not_found(group_id, "ApplicationGroupAssignment")
            return JSONResponse(current)
        if request.method == "DELETE":
            self.okta.assignments[app_id].pop(group_id, None)
            return Response(status_code=204)
        if "content-length" not in request.headers and "transfer-encoding" not in request.headers:
            # Okta's edge refuses a PUT with neither a body nor Content-Length (field: body-less assign-group PUTs
            # failing, okta/okta-sdk-php#133 and okta/okta-sdk-java#450; the 411 page itself is unverified).
            return Response("<html><body><h1>411 Length Required</h1></body></html>", status_code=411,
                            media_type="text/html")
        body = await self.okta._json_body(request)
        priority = body.get("priority", current["priority"] if current else len(self.okta.assignments[app_id]))
        if not isinstance(priority, int) or priority < 0:
            raise OktaError(400, "E0000001", "Api validation failed: priority", ["priority: must be a whole number"])
        assignment = {
            "id": group_id, "priority": priority, "lastUpdated": now_iso(), "profile": body.get("profile") or {},
            "_links": {"app": {"href": f"{self.okta.base_url}/api/v1/apps/{app_id}"},
                       "group": {"href": f"{self.okta.base_url}/api/v1/groups/{group_id}"}},
        }
        self.okta.assignments[app_id][group_id] = assignment
        return JSONResponse(assignment)

    async def list_app_users(self, request: Request) -> Response:
        app_id = request.path_params["app_id"]
        self._app(app_id)
        seen: dict[str, dict[str, Any]] = {}
        for group_id in self.okta.assignments[app_id]:
            for uid in self.okta.members.get(group_id, []):
                user = self.okta.users[uid]
                seen.setdefault(uid, {
                    "id": uid, "scope": "GROUP", "status": "ACTIVE", "syncState": "DISABLED",
                    "created": user["created"], "lastUpdated": user["lastUpdated"], "statusChanged": user["created"],
                    "credentials": {"userName": user["profile"]["login"]}, "profile": {}, "externalId": "",
                    "_links": {"app": {"href": f"{self.okta.base_url}/api/v1/apps/{app_id}"},
                               "user": {"href": f"{self.okta.base_url}/api/v1/users/{uid}"}},
                })
        items = list(seen.values())
        q = request.query_params.get("q")
        if q:
            items = [u for u in items if u["credentials"]["userName"].lower().startswith(q.lower())]
        return self.okta._page(request, items, default=50, cap=500)
