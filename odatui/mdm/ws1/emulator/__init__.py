"""Emulator of the slice of the Workspace ONE UEM REST API that odatui uses (UEM 2604 Swagger, from the tenant's
/api/help; docs/SANDBOX.md says what else each behaviour rests on).

Faithful where clients trip: Basic + `aw-tenant-code` or OAuth bearer auth (401 errorCode 1005, repeated
failures lock the account), `Accept: application/json;version=N` (a missing, trailing-semicolon or unknown
version answers v1 shapes, as the real API does), 204 with no body for empty searches, errors as
`{errorCode, message, activityId}`, blob type from the file name extension, v2 assignment rules as a full
replace with priorities 0..n-1, macOS profiles that need `ProfileContext` and bare `<dict>` Custom Settings.
Blobs are streamed to disk and never held in memory. Admin routes under `/_sandbox/ws1/` shorten token
lifetimes, advance the fleet's clock and switch on "profile update answers 200 without saving".
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from odatui.mdm.ws1.emulator.apps import Ws1Apps
from odatui.mdm.ws1.emulator.auth import Ws1Auth
from odatui.mdm.ws1.emulator.certificates import Ws1Certificates
from odatui.mdm.ws1.emulator.base import Ws1State
from odatui.mdm.ws1.emulator.common import Ws1Error, Ws1Tenant
from odatui.mdm.ws1.emulator.devices import Ws1Devices
from odatui.mdm.ws1.emulator.groups import Ws1Groups
from odatui.mdm.ws1.emulator.profiles import Ws1Profiles
from odatui.mdm.ws1.emulator.rules import Ws1Rules


class Ws1Emulator(Ws1State):
    """The whole emulator: the tenant's state and plumbing (base) with one router per resource over it; here the
    route table, the sandbox admin switches and the state snapshot."""

    def __init__(self, options: Any, world: Any, *, tenant: Ws1Tenant, fleet: Any) -> None:
        super().__init__(options, world, tenant=tenant, fleet=fleet)
        self.auth_routes = Ws1Auth(self)
        self.group_routes = Ws1Groups(self)
        self.app_routes = Ws1Apps(self)
        self.rule_routes = Ws1Rules(self)
        self.profile_routes = Ws1Profiles(self)
        self.device_routes = Ws1Devices(self)
        self.certificate_routes = Ws1Certificates(self)
        self.authenticate = self.auth_routes.authenticate

    # ------------------------------------------------------------------ routing
    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Any, tuple[int, ...]]] = [
            ("/system/groups/search", "GET", self.group_routes.groups_search, (1, 2)),
            ("/mdm/smartgroups/search", "GET", self.group_routes.smartgroups_search, (1,)),
            ("/mdm/smartgroups/{sg_id:int}/devices", "GET", self.group_routes.smartgroup_devices, (1,)),
            ("/mdm/smartgroups", "POST", self.group_routes.create_smartgroup, (1,)),
            ("/mdm/smartgroups/{sg_id:int}", "GET", self.group_routes.get_smartgroup, (1,)),
            ("/mdm/smartgroups/{sg_id:int}", "DELETE", self.group_routes.delete_smartgroup, (1,)),
            ("/mam/blobs/uploadblob", "POST", self.app_routes.upload_blob, (1,)),
            ("/mam/blobs/blob/{blob_id:int}", "DELETE", self.app_routes.delete_blob, (1,)),
            ("/mam/groups/{og_id}/macos/apps", "POST", self.app_routes.create_macos_app, (1,)),
            ("/mam/apps/search", "GET", self.app_routes.apps_search, (1,)),
            ("/mam/apps/internal/{app_id}/devices", "GET", self.app_routes.app_devices, (1,)),
            ("/mam/apps/internal/{app_id}", "GET", self.app_routes.get_internal_app, (1,)),
            ("/mam/apps/internal/{app_id}", "DELETE", self.app_routes.delete_internal_app, (1,)),
            ("/mam/apps/internal/{app_id}/retire", "POST", self.app_routes.retire_internal_app, (1,)),
            ("/mam/apps/internal/{app_id}/unretire", "POST", self.app_routes.unretire_internal_app, (1,)),
            ("/mam/apps/{app_uuid}/assignment-rules", "GET", self.rule_routes.get_assignment_rules, (2,)),
            ("/mam/apps/{app_uuid}/assignment-rules", "PUT", self.rule_routes.put_assignment_rules, (2,)),
            ("/mdm/profiles/platforms/appleosx/create", "POST", self.profile_routes.create_profile, (2,)),
            ("/mdm/profiles/platforms/appleosx/update", "POST", self.profile_routes.update_profile, (2,)),
            ("/mdm/profiles/search", "GET", self.profile_routes.profiles_search, (1, 2)),
            ("/mdm/profiles/{profile_uuid}/devices", "GET", self.profile_routes.profile_devices, (1,)),
            ("/mdm/profiles/{profile_id}", "GET", self.profile_routes.get_profile, (2,)),
            ("/mdm/profiles/{profile_id:int}/install", "POST", self.device_routes.install_profile, (1,)),
            ("/mdm/profiles/{profile_id}", "DELETE", self.profile_routes.delete_profile, (1,)),
            ("/mdm/devices/search", "GET", self.device_routes.devices_search, (1, 2)),
            ("/mdm/devices/{device_id:int}/profiles", "GET", self.device_routes.device_profiles, (1,)),
            ("/mdm/devices/{device_id:int}/certificates", "GET", self.device_routes.device_certificates, (1,)),
            ("/mdm/picklists/organizationgroups/{og_id}/certificateauthorities", "GET",
             self.certificate_routes.certificate_authorities, (1,)),
            ("/mdm/picklists/organizationgroups/{og_id}/certificateauthorities/{ca_id:int}/certificatetemplates",
             "GET", self.certificate_routes.certificate_templates, (1,)),
        ]
        # Group by path so GET and PUT of one path share a Route.
        by_path: dict[str, dict[str, tuple[Any, tuple[int, ...]]]] = {}
        for path, method, handler, versions in table:
            by_path.setdefault(path, {})[method] = (handler, versions)
        routes = [Route("/connect/token", self.auth_routes.token, methods=["POST"]),
                  # The real token service answers 404 to a trailing slash (not a redirect): a classic mistake.
                  Route("/connect/token/", self.auth_routes.token_slash, methods=["GET", "POST"])]
        for path, methods in by_path.items():
            endpoint = self._endpoint(methods)
            for prefix in ("/api", "/API"):  # the real API is case-insensitive; scripts use both
                routes.append(Route(prefix + path, endpoint, methods=list(methods)))
        return routes

    def admin_routes(self) -> list[Route]:
        return [
            Route("/_sandbox/ws1/settings", self.admin_settings, methods=["GET", "POST"]),
            Route("/_sandbox/ws1/clock", self.admin_clock, methods=["POST"]),
            Route("/_sandbox/ws1/smartgroups", self.admin_smartgroup, methods=["POST"]),
            Route("/_sandbox/ws1/app-status", self.admin_app_status, methods=["POST"]),
            Route("/_sandbox/ws1/certificate-authorities", self.certificate_routes.admin_certificate_authority, methods=["POST"]),
        ]

    # ------------------------------------------------------------------ admin
    async def admin_settings(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = json.loads(await request.body())
            except json.JSONDecodeError:
                return JSONResponse({"error": "JSON object expected"}, 400)
            unknown = set(changes) - set(self.settings) - {"unlock"}
            if unknown:
                return JSONResponse({"error": f"unknown settings {sorted(unknown)}"}, 400)
            if changes.pop("unlock", False):
                self.failed_logins = 0
            self.settings.update(changes)
        return JSONResponse({**self.settings, "failed_logins": self.failed_logins})

    async def admin_clock(self, request: Request) -> Response:
        try:
            seconds = float(json.loads(await request.body() or b"{}").get("advance_s", 0))
        except (ValueError, AttributeError):
            return JSONResponse({"error": 'give {"advance_s": N}'}, 400)
        return JSONResponse({"now": self.fleet.advance(seconds)})

    async def admin_smartgroup(self, request: Request) -> Response:
        """Add a smart group (e.g. a second one with the same name, to show ambiguity handling)."""
        try:
            data = json.loads(await request.body())
            group = self.add_smart_group(str(data["name"]), members=data.get("members", "none"),
                                         og_id=int(data.get("og_id", 570)))
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": 'give {"name": "...", "members": "none|all|rollout"}'}, 400)
        return JSONResponse(self.group_routes._sg_model(group), status_code=201)

    async def admin_app_status(self, request: Request) -> Response:
        """Put an internal app into Active, Inactive or Retired, as an admin does in the console."""
        try:
            data = json.loads(await request.body())
            app = self.app_routes._app(data["id"])
            status = {"active": "Active", "inactive": "Inactive", "retired": "Retired"}[str(data["status"]).lower()]
        except (ValueError, KeyError, TypeError, Ws1Error):
            return JSONResponse({"error": 'give {"id": APP_ID, "status": "Active|Inactive|Retired"}'}, 400)
        app["status"] = status
        return JSONResponse({"id": app["id"], "status": status})

    # ------------------------------------------------------------------ state
    def snapshot(self) -> dict[str, Any]:
        return {
            "blobs": [{k: v for k, v in b.items() if k != "path"} for b in self.blobs.values()],
            "apps": [{k: v for k, v in a.items() if k != "pkginfo"} for a in self.apps.values()],
            "assignment_rules": [{"app_uuid": k, **v} for k, v in self.assignment_rules.items()],
            "profiles": [{"id": p["id"], "uuid": p["uuid"], "name": p["body"]["General"]["Name"],
                          "version": p["body"]["General"]["Version"], "body": p["body"]} for p in self.profiles.values()],
            "smart_groups": [{k: v for k, v in g.items()} for g in self.smart_groups],
            "devices": len(self.fleet.devices),
            "profile_installs": list(self.profile_installs),
            "certificate_authorities": [c.public(self.cas.okta_challenge) for c in self.cas.by_id.values()],  # never the challenge
        }

