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

import base64
import hashlib
import json
import os
import plistlib
import re
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from odatui.sandbox.fleet import Fleet
from odatui.sandbox.credentials import (
    WS1_GROUP_ID,
    WS1_OAUTH_CLIENT_ID,
    WS1_OAUTH_SECRET,
    WS1_PASSWORD,
    WS1_SMART_GROUP,
    WS1_TENANT_CODE,
    WS1_USER,
)

MAX_JSON_BYTES = 1 << 20  # profile bodies are a few KB; the real IIS front end caps request sizes too
LOCKOUT_AFTER = 5  # failed Basic logins in a row lock the (directory) account, which is why clients must not retry
BLOB_TYPES = {"pkg", "dmg", "mpkg", "plist", "png", "jpg", "jpeg", "ipa", "apk", "msi", "zip", "appx", "exe", "xml"}
APP_BINARY_TYPES = {"pkg", "dmg", "mpkg"}
MODULE_TYPES = {"General", "Application", "Content", "Book", "Certificate"}
_NS = uuid.UUID("1c9ad7f2-5a0e-4f1b-9a49-7fd0e6c0b001")


class Ws1Error(Exception):
    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errorCode": code, "message": message, "activityId": str(uuid.uuid4())},
                        status_code=status, headers=headers)


def requested_version(accept: str | None) -> int:
    """`application/json;version=2` → 2. Missing, garbled or trailing-semicolon headers → 1 (the real quirk)."""
    text = (accept or "").strip()
    if not text or text.endswith(";"):
        return 1
    m = re.search(r";\s*version\s*=\s*(\d+)\s*$", text)
    return int(m.group(1)) if m else 1


def pad_version(version: str) -> str:
    parts = (version.split(".") + ["0", "0", "0", "0"])[:4]
    return ".".join(p if p.isdigit() else "0" for p in parts)


class Ws1Emulator:
    def __init__(self, options: Any, world: Any) -> None:
        self.options = options
        self.world = world
        self.seed = getattr(options, "seed", 0)
        self.blob_dir = Path(world.data_dir) / "ws1-blobs"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.settings: dict[str, Any] = {
            "token_lifetime_s": 3600,
            "profile_update_noop": False,  # the known bug: update answers 200 without saving
            "max_blob_bytes": 5 << 30,
        }
        self.tokens: dict[str, float] = {}
        self.failed_logins = 0
        self.fleet = Fleet(self.seed, int(getattr(options, "devices", 36)))
        self._counters = {"blob": 40_000, "app": 3_000, "profile": 900, "sg": 4_710}
        self.org_groups = [
            # Uuid per sandbox instance (like the Okta org id): a fresh sandbox is another tenant, whose groups
            # share Group ID and Id with the last one but never the GUID.
            {"Id": 570, "Uuid": self._instance_uuid("og-acme"), "Name": "ACME Corp", "GroupId": WS1_GROUP_ID,
             "LocationGroupType": "Customer", "Country": "United States", "Locale": "en-US", "LgLevel": 1},
            {"Id": 571, "Uuid": self._instance_uuid("og-acme-eu"), "Name": "ACME Europe", "GroupId": f"{WS1_GROUP_ID}-EU",
             "LocationGroupType": "Container", "Country": "Germany", "Locale": "de-DE", "LgLevel": 2},
        ]
        # Child OG → parent OG: a smart group managed at an OG applies to apps at that OG and below it, not above
        # (UEM: "Smart groups provided is not applicable for this application", PUT assignment-rules 400, code 6).
        self.og_parent: dict[int, int] = {571: 570}
        self.smart_groups: list[dict[str, Any]] = []
        self.add_smart_group(WS1_SMART_GROUP, members="rollout")
        self.add_smart_group(f"{WS1_SMART_GROUP} (pilot)", members="none")  # substring trap for exact matching
        self.add_smart_group("All Macs", members="all")
        # The first wave of a rollout in waves: a handful of Macs, a subset of the rollout group's.
        self.add_smart_group("Okta PSSO Pilot", members="pilot")
        self.blobs: dict[int, dict[str, Any]] = {}
        self.apps: dict[int, dict[str, Any]] = {}
        self.assignment_rules: dict[str, dict[str, Any]] = {}
        self.assigned_at: dict[str, float] = {}  # app uuid → when an AUTO rule reached the rollout group
        self.profiles: dict[int, dict[str, Any]] = {}
        self.profile_installs: list[dict[str, int]] = []  # install commands queued (repush), in order
        self._listings: dict[tuple[Any, ...], list[Any]] = {}  # paged listings, rebuilt at most once a second

    # ------------------------------------------------------------------ helpers
    def _uuid(self, name: str) -> str:
        return str(uuid.uuid5(_NS, f"{self.seed}:{name}"))

    def _instance_uuid(self, name: str) -> str:
        return str(uuid.uuid5(_NS, f"{self.seed}:{getattr(self.world, 'instance_id', '')}:{name}"))

    def _next(self, kind: str) -> int:
        self._counters[kind] += 1
        return self._counters[kind]

    def add_smart_group(self, name: str, members: str = "none", og_id: int = 570) -> dict[str, Any]:
        sg_id = self._next("sg")
        group = {"id": sg_id, "uuid": self._uuid(f"sg-{sg_id}"), "name": name, "og_id": og_id, "members": members}
        self.smart_groups.append(group)
        return group

    def sg_devices(self, group: dict[str, Any]) -> list[Any]:
        from odatui.macos.pkg import version_key

        if group["members"] == "rollout":
            return self.fleet.members()
        if group["members"] == "pilot":
            return self.fleet.members()[:3]
        if group["members"] == "all":
            return list(self.fleet.devices)
        if group["members"] == "criteria":  # created through the API: platform and an OS floor
            floor = group.get("os_floor") or ""
            return [d for d in self.fleet.devices if version_key(d.os_version) >= version_key(floor)]
        return []

    def _listing(self, key: tuple[Any, ...], build: Any) -> list[Any]:
        """A filtered device list, built once per second of fleet time: a client pages through 100 pages of a
        50,000-Mac listing, and rebuilding it per page would make the emulator, not the client, the bottleneck."""
        full = (*key, int(self.fleet.now()))
        found = self._listings.get(full)
        if found is None:
            if len(self._listings) > 64:
                self._listings.clear()
            found = self._listings[full] = build()
        return found

    def _og(self, og_id: Any) -> dict[str, Any] | None:
        try:
            wanted = int(og_id)
        except (TypeError, ValueError):
            return None
        return next((g for g in self.org_groups if g["Id"] == wanted), None)

    def _og_and_ancestors(self, og_id: int) -> list[int]:
        chain = [og_id]
        while chain[-1] in self.og_parent:
            chain.append(self.og_parent[chain[-1]])
        return chain

    def _sg_by_uuid(self, value: str) -> dict[str, Any] | None:
        return next((g for g in self.smart_groups if g["uuid"].lower() == str(value).lower()), None)

    def _sg_by_id(self, value: Any) -> dict[str, Any] | None:
        return next((g for g in self.smart_groups if str(g["id"]) == str(value)), None)

    # ------------------------------------------------------------------ routing
    def routes(self) -> list[Route]:
        table: list[tuple[str, str, Any, tuple[int, ...]]] = [
            ("/system/groups/search", "GET", self.groups_search, (1, 2)),
            ("/mdm/smartgroups/search", "GET", self.smartgroups_search, (1,)),
            ("/mdm/smartgroups/{sg_id:int}/devices", "GET", self.smartgroup_devices, (1,)),
            ("/mdm/smartgroups", "POST", self.create_smartgroup, (1,)),
            ("/mdm/smartgroups/{sg_id:int}", "GET", self.get_smartgroup, (1,)),
            ("/mdm/smartgroups/{sg_id:int}", "DELETE", self.delete_smartgroup, (1,)),
            ("/mam/blobs/uploadblob", "POST", self.upload_blob, (1,)),
            ("/mam/groups/{og_id}/macos/apps", "POST", self.create_macos_app, (1,)),
            ("/mam/apps/search", "GET", self.apps_search, (1,)),
            ("/mam/apps/internal/{app_id}/devices", "GET", self.app_devices, (1,)),
            ("/mam/apps/internal/{app_id}", "GET", self.get_internal_app, (1,)),
            ("/mam/apps/internal/{app_id}", "DELETE", self.delete_internal_app, (1,)),
            ("/mam/apps/internal/{app_id}/retire", "POST", self.retire_internal_app, (1,)),
            ("/mam/apps/internal/{app_id}/unretire", "POST", self.unretire_internal_app, (1,)),
            ("/mam/apps/{app_uuid}/assignment-rules", "GET", self.get_assignment_rules, (2,)),
            ("/mam/apps/{app_uuid}/assignment-rules", "PUT", self.put_assignment_rules, (2,)),
            ("/mdm/profiles/platforms/appleosx/create", "POST", self.create_profile, (2,)),
            ("/mdm/profiles/platforms/appleosx/update", "POST", self.update_profile, (2,)),
            ("/mdm/profiles/search", "GET", self.profiles_search, (1, 2)),
            ("/mdm/profiles/{profile_uuid}/devices", "GET", self.profile_devices, (1,)),
            ("/mdm/profiles/{profile_id}", "GET", self.get_profile, (2,)),
            ("/mdm/profiles/{profile_id:int}/install", "POST", self.install_profile, (1,)),
            ("/mdm/profiles/{profile_id}", "DELETE", self.delete_profile, (1,)),
            ("/mdm/devices/search", "GET", self.devices_search, (1, 2)),
            ("/mdm/devices/{device_id:int}/profiles", "GET", self.device_profiles, (1,)),
            ("/mdm/devices/{device_id:int}/certificates", "GET", self.device_certificates, (1,)),
        ]
        # Group by path so GET and PUT of one path share a Route.
        by_path: dict[str, dict[str, tuple[Any, tuple[int, ...]]]] = {}
        for path, method, handler, versions in table:
            by_path.setdefault(path, {})[method] = (handler, versions)
        routes = [Route("/connect/token", self.token, methods=["POST"]),
                  # The real token service answers 404 to a trailing slash (not a redirect): a classic mistake.
                  Route("/connect/token/", self.token_slash, methods=["GET", "POST"])]
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
        ]

    def _endpoint(self, methods: dict[str, tuple[Any, tuple[int, ...]]]):
        async def endpoint(request: Request) -> Response:
            handler, versions = methods[request.method]
            try:
                self.authenticate(request)
                version = requested_version(request.headers.get("accept"))
                if version not in versions:
                    # An unknown version falls back to v1; a route without v1 then does not exist.
                    version = 1
                if version not in versions:
                    raise Ws1Error(404, 404, "No HTTP resource was found that matches the request URI "
                                   f"'{request.url.path}' for API version 1; send Accept: application/json;"
                                   f"version={versions[0]}.")
                return await handler(request, version)
            except Ws1Error as exc:
                return error_response(exc.status, exc.code, exc.message, exc.headers)

        return endpoint

    # ------------------------------------------------------------------ auth
    async def token(self, request: Request) -> Response:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return JSONResponse({"error": "invalid_request", "error_description": "form body expected"}, 400)
        body = await request.body()
        if len(body) > 65536:
            return JSONResponse({"error": "invalid_request"}, 400)
        form = {k: v[0] for k, v in parse_qs(body.decode("latin-1")).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # client_secret_basic, as Omnissa's own 2026 sample does
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except Exception:
                return JSONResponse({"error": "invalid_client"}, 400)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        if client_id != WS1_OAUTH_CLIENT_ID or secret != WS1_OAUTH_SECRET:
            return JSONResponse({"error": "invalid_client"}, 400)
        token = base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
        lifetime = float(self.settings["token_lifetime_s"])
        self.tokens[token] = time.time() + lifetime
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": int(lifetime) or 1,
                             "scope": "api"})

    async def token_slash(self, request: Request) -> Response:
        return Response("Not Found", status_code=404, media_type="text/plain")

    def authenticate(self, request: Request) -> None:
        creds_error = Ws1Error(401, 1005, "An error occurred while validating remote service client credentials.")
        auth = request.headers.get("authorization", "")
        tenant = request.headers.get("aw-tenant-code")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            expires = self.tokens.get(value.strip())
            if expires is None or expires <= time.time():
                raise Ws1Error(401, 1005, "The access token is missing, invalid or expired.",
                               {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            if tenant is not None and tenant != WS1_TENANT_CODE:
                raise creds_error
            return
        if scheme.lower() != "basic":
            raise creds_error
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except Exception:
            raise creds_error from None
        if self.failed_logins >= LOCKOUT_AFTER:
            raise Ws1Error(401, 1005, "An error occurred while validating remote service client credentials. "
                           "The account is locked.")
        if user != WS1_USER or password != WS1_PASSWORD or tenant != WS1_TENANT_CODE:
            self.failed_logins += 1
            raise creds_error
        self.failed_logins = 0

    # ------------------------------------------------------------------ request helpers
    async def _json(self, request: Request) -> Any:
        ctype = request.headers.get("content-type", "")
        if "json" not in ctype.lower():
            raise Ws1Error(415, 415, f"The request entity's media type '{ctype or 'none'}' is not supported "
                           "for this resource.")
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_JSON_BYTES:
            raise Ws1Error(413, 413, "The request is too large.")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_JSON_BYTES:
                raise Ws1Error(413, 413, "The request is too large.")
        try:
            return json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Ws1Error(400, 400, f"The request is invalid. Malformed JSON: {exc}.") from None

    @staticmethod
    def _int_param(request: Request, name: str, default: int | None = None) -> int | None:
        raw = next((v for k, v in request.query_params.items() if k.lower() == name.lower()), None)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise Ws1Error(400, 400, f"The value '{raw}' is not valid for {name}.") from None

    @staticmethod
    def _param(request: Request, name: str) -> str | None:
        return next((v for k, v in request.query_params.items() if k.lower() == name.lower()), None)

    def _paging(self, request: Request, default_size: int = 500, max_size: int = 500) -> tuple[int, int]:
        page = self._int_param(request, "page", 0) or 0
        size = self._int_param(request, "pagesize", default_size) or default_size
        if page < 0 or size < 1:
            raise Ws1Error(400, 400, "page must be 0 or more and pagesize 1 or more.")
        return page, min(size, max_size)

    # ------------------------------------------------------------------ organization and smart groups
    async def groups_search(self, request: Request, version: int) -> Response:
        groupid, name = self._param(request, "groupid"), self._param(request, "name")
        # Group ID matched case-insensitively. The UEM System API v2 reference says only "Exact match is performed
        # for this attribute"; ignoring case is unverified. odatui keys its run state on the `Id` it answers.
        found = [g for g in self.org_groups
                 if (groupid is None or g["GroupId"].lower() == groupid.lower())
                 and (name is None or name.lower() in g["Name"].lower())]
        page, size = self._paging(request)
        window = found[page * size:(page + 1) * size]
        if version == 2:
            return JSONResponse({"OrganizationGroups": [dict(g) for g in window], "TotalResults": len(found)})
        groups = [{**{k: v for k, v in g.items() if k != "Id"}, "Id": {"Value": g["Id"]}} for g in window]
        return JSONResponse({"LocationGroups": groups, "Page": page, "PageSize": size, "Total": len(found)})

    def _sg_model(self, g: dict[str, Any]) -> dict[str, Any]:
        og = self._og(g["og_id"]) or {}
        return {"Name": g["name"], "SmartGroupID": g["id"], "SmartGroupUuid": g["uuid"],
                "ManagedByOrganizationGroupId": str(g["og_id"]), "ManagedByOrganizationGroupUuid": og.get("Uuid"),
                "ManagedByOrganizationGroupName": og.get("Name"), "Devices": len(self.sg_devices(g)),
                "Assignments": 0, "Exclusions": 0}

    async def smartgroups_search(self, request: Request, version: int) -> Response:
        name = self._param(request, "name")
        og_id = self._int_param(request, "organizationgroupid")
        found = [g for g in self.smart_groups if (not name or name.lower() in g["name"].lower())  # contains
                 and (og_id is None or g["og_id"] == og_id)]
        if not found:
            return Response(status_code=204)
        page, size = self._paging(request)
        window = found[page * size:(page + 1) * size]
        return JSONResponse({"Page": page, "PageSize": size, "Total": len(found),
                             "SmartGroups": [self._sg_model(g) for g in window]})

    async def smartgroup_devices(self, request: Request, version: int) -> Response:
        group = self._sg_by_id(request.path_params["sg_id"])
        if group is None:
            raise Ws1Error(400, 400, "Smart Group not found with Id: or User does not have access to it.")
        devices = self.sg_devices(group)
        if not devices:
            return Response(status_code=204)
        return JSONResponse({"Devices": [
            {"Id": str(d.id), "Name": d.name, "Model": d.model, "OSVersion": d.os_version, "Username": d.user,
             "Platform": "AppleOsX", "Ownership": "C"} for d in devices]})

    async def get_smartgroup(self, request: Request, version: int) -> Response:
        group = self._sg_by_id(request.path_params["sg_id"])
        if group is None:  # mdmv1 GET /smartgroups/{id}: 404 "Smart Group not found"
            raise Ws1Error(404, 404, "Smart Group not found with Id or User does not have access to it.")
        return JSONResponse({**self._sg_model(group), "CriteriaType": group.get("criteria_type", "All"),
                             "Platforms": group.get("platforms", []),
                             "OperatingSystems": group.get("operating_systems", [])})

    async def create_smartgroup(self, request: Request, version: int) -> Response:
        """mdmv1 POST /smartgroups (SmartGroupEditV1Model → EntityId), with the 400s the spec lists."""
        body = await self._json(request)
        if not isinstance(body, dict) or not str(body.get("Name") or "").strip():
            raise Ws1Error(400, 6, "SmartGroup name is missing.")
        name = str(body["Name"]).strip()
        if any(g["name"].lower() == name.lower() for g in self.smart_groups):
            raise Ws1Error(400, 400, "Smart Group with the same name already exists")
        if body.get("CriteriaType") not in ("All", "UserDevice"):
            raise Ws1Error(400, 400, "Smart Group Criteia Type is incorrect. Correct values for criteria type are "
                           "All or UserDevice.")
        og = self._og(body.get("ManagedByOrganizationGroupId"))
        if og is None:
            raise Ws1Error(400, 400, "Smart Groups cannot be created outside of Customer Organization Group "
                           "hierarchy.")
        systems = body.get("OperatingSystems") or []
        floor = ""
        for item in systems:  # the Operator's spelling is not enumerated by the spec: accept the >= forms
            if not isinstance(item, dict) or item.get("DeviceType") != "AppleOsX":
                continue
            if str(item.get("Operator")) not in ("GreaterThanOrEqualTo", "GreaterThanOrEqual", "GreaterThan"):
                raise Ws1Error(400, 400, f"Operator {item.get('Operator')!r} is not valid.")
            floor = str(item.get("Value") or "")
        group = self.add_smart_group(name, members="criteria" if "AppleOsX" in (body.get("Platforms") or [])
                                     else "none", og_id=og["Id"])
        group.update({"os_floor": floor, "criteria_type": body["CriteriaType"],
                      "platforms": list(body.get("Platforms") or []), "operating_systems": systems,
                      "created_via_api": True})
        return JSONResponse({"Value": group["id"]})

    async def delete_smartgroup(self, request: Request, version: int) -> Response:
        group = self._sg_by_id(request.path_params["sg_id"])
        if group is None:
            raise Ws1Error(404, 404, "Smart Group not found with Id or User does not have access to it.")
        used = any(group["uuid"].lower() in [str(u).lower() for r in rules.get("assignments", [])
                                             for u in r["distribution"].get("smart_groups") or []]
                   for rules in self.assignment_rules.values()) \
            or any(str(s.get("SmartGroupId")) == str(group["id"]) for p in self.profiles.values()
                   for s in p["body"]["General"].get("AssignedSmartGroups") or [])
        if used:  # mdmv1 DELETE /smartgroups/{id}: 400 while an app or profile still uses it
            raise Ws1Error(400, 400, "This smart group has one or more dependency. Please unassign the smart group "
                           "from the dependency and try deleting again.")
        self.smart_groups.remove(group)
        return Response(status_code=200)

    # ------------------------------------------------------------------ blobs and apps
    async def upload_blob(self, request: Request, version: int) -> Response:
        # The spec declares multipart/form-data, but every working client (Omnissa's SDK, AutoPkg importer,
        # UploadApp.ps1) sends the raw file bytes as the body; the emulator follows the field reports.
        file_name = self._param(request, "fileName")
        if not file_name:
            raise Ws1Error(400, 6, "FileName cannot be null or empty.")
        og_id = self._int_param(request, "organizationGroupId")
        if og_id is None:
            raise Ws1Error(400, 6, "OrganizationGroupId cannot be null or empty.")
        if self._og(og_id) is None:
            raise Ws1Error(400, 400, f"Resource's organization group : {og_id} not found or user does not have "
                           "access to it.")
        ext = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
        if ext not in BLOB_TYPES:  # UEM types a blob by its file name's extension
            raise Ws1Error(400, 400, "Invalid blob type provided.")
        module = self._param(request, "moduleType") or "General"
        if module not in MODULE_TYPES:
            raise Ws1Error(400, 400, "Invalid Module type.")
        limit = int(self.settings["max_blob_bytes"])
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise Ws1Error(422, 7603, "Uploading file exceeds maximum file size limit set at current "
                           "organization group.")
        blob_id = self._next("blob")
        final = self.blob_dir / f"{blob_id}.{ext}"
        part = final.with_name(final.name + ".part")
        digest = hashlib.sha256()
        size = 0
        try:
            with part.open("wb") as fh:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise Ws1Error(422, 7603, "Uploading file exceeds maximum file size limit set at "
                                       "current organization group.")
                    digest.update(chunk)
                    fh.write(chunk)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        if size == 0:
            part.unlink(missing_ok=True)
            raise Ws1Error(400, 7019, "File is not attached.")
        os.replace(part, final)
        blob = {"id": blob_id, "uuid": self._uuid(f"blob-{blob_id}"), "file_name": file_name, "type": ext,
                "module_type": module, "size": size, "sha256": digest.hexdigest(), "og_id": og_id,
                "path": str(final)}
        self.blobs[blob_id] = blob
        return JSONResponse({"Value": blob_id, "id": blob_id, "uuid": blob["uuid"]})

    def _blob(self, value: Any) -> dict[str, Any] | None:
        try:
            return self.blobs.get(int(value))
        except (TypeError, ValueError):
            return None

    async def create_macos_app(self, request: Request, version: int) -> Response:
        og = self._og(request.path_params["og_id"])
        if og is None:
            raise Ws1Error(400, 7451, "InvalidLocationGroupID - The Location Group ID is invalid.")
        body = await self._json(request)
        if not isinstance(body, dict):
            raise Ws1Error(400, 400, "Request body cannot be null.")
        binary = self._blob(body.get("applicationBlobId"))
        if binary is None or binary["type"] not in APP_BINARY_TYPES or binary["module_type"] != "Application":
            raise Ws1Error(400, 7453, "MacOsInvalidBlobId - Invalid BlobId.")
        meta_blob = self._blob(body.get("pkgInfoBlobId"))
        if meta_blob is None or meta_blob["type"] != "plist":
            raise Ws1Error(400, 7454, "MacOsInvalidPkgInfoFile - Invalid PkgInfo File.")
        try:
            with open(meta_blob["path"], "rb") as fh:
                pkginfo = plistlib.load(fh)
        except Exception:
            pkginfo = None
        if not isinstance(pkginfo, dict) or not pkginfo.get("name") or not pkginfo.get("version"):
            raise Ws1Error(400, 7454, "MacOsInvalidPkgInfoFile - Invalid PkgInfo File.")
        internal_version = body.get("version") or str(pkginfo["version"])
        if not re.fullmatch(r"\d+(\.\d+){0,3}", str(internal_version)):
            raise Ws1Error(400, 7455, "MacOsInvalidInternalVersion - Invalid Internal Version.")
        installs = pkginfo.get("installs") or []
        receipts = pkginfo.get("receipts") or []
        bundle_id = (installs[0].get("CFBundleIdentifier") if installs and isinstance(installs[0], dict) else None) \
            or (receipts[0].get("packageid") if receipts and isinstance(receipts[0], dict) else None) or ""
        # "You cannot upload duplicate versions of an app" — retired ones included (UEM Internal Application
        # Versions, docs.vmware.com/en/VMware-Workspace-ONE-UEM/services/Application_Management/
        # GUID-InternalApplicationVersions.html); the errorCode is unverified.
        if any(a["og_id"] == og["Id"] and a["bundle_id"] == bundle_id and a["version"] == str(pkginfo["version"])
               for a in self.apps.values()):
            raise Ws1Error(400, 400, f"Application with version {pkginfo['version']} already exists.")
        app_id = self._next("app")
        app = {"id": app_id, "uuid": self._uuid(f"app-{app_id}"), "name": str(pkginfo["name"]),
               "version": str(pkginfo["version"]), "internal_version": pad_version(str(internal_version)),
               "bundle_id": bundle_id, "og_id": og["Id"], "og_uuid": og["Uuid"],
               "blob_id": binary["id"], "pkginfo_blob_id": meta_blob["id"], "size": binary["size"],
               "sha256": binary["sha256"], "file_name": binary["file_name"],
               "minimum_os": str(pkginfo.get("minimum_os_version") or ""),
               "status": "Active",
               "pkginfo": plistlib.dumps(pkginfo, fmt=plistlib.FMT_XML).decode()}
        self.apps[app_id] = app
        location = f"{getattr(self.world, 'ws1_url', self.world.base_url)}/api/mam/apps/internal/{app_id}"
        return Response(status_code=201, headers={"Location": location})

    def _app(self, app_id: Any) -> dict[str, Any]:
        try:
            app = self.apps.get(int(app_id))
        except (TypeError, ValueError):
            app = None
        if app is None:  # yes, 401: the real API answers "not found" this way
            raise Ws1Error(401, 7000, "AppNotFoundOrInAccsessible - Application not found or user does not have "
                           "access to it.")
        return app

    def _app_counts(self, app: dict[str, Any]) -> tuple[int, int]:
        at = self.assigned_at.get(app["uuid"])
        assigned = self._app_target_devices(app)
        installed = sum(1 for d in assigned if self.fleet.installed(d, "app", at, min_os=app["minimum_os"]))
        return len(assigned), installed

    def _app_target_devices(self, app: dict[str, Any]) -> list[Any]:
        rules = self.assignment_rules.get(app["uuid"], {}).get("assignments", [])
        seen: dict[int, Any] = {}
        for rule in rules:
            for sg_uuid in rule.get("distribution", {}).get("smart_groups") or []:
                group = self._sg_by_uuid(sg_uuid)
                if group is not None:
                    for d in self.sg_devices(group):
                        seen[d.id] = d
        return list(seen.values())

    async def get_internal_app(self, request: Request, version: int) -> Response:
        app = self._app(request.path_params["app_id"])
        assigned, installed = self._app_counts(app)
        return JSONResponse({
            "ApplicationName": app["name"], "DisplayName": app["name"], "AppId": app["bundle_id"],
            "ActualFileVersion": app["version"], "BuildVersion": app["version"],
            "AirwatchAppVersion": app["internal_version"], "Status": app["status"],
            "ManagedBy": (self._og(app["og_id"]) or {}).get("Name", "ACME Corp"),
            "ManagedByUuid": app["og_uuid"], "Platform": "AppleOsX", "MinimumOperatingSystem": app["minimum_os"],
            "AppSizeInKB": app["size"] // 1024, "DevicesAssignedCount": assigned, "DevicesInstalledCount": installed,
            "DevicesNotInstalledCount": assigned - installed, "ApplicationFileHash": app["sha256"],
            "MacOsSoftwareDeploymentSummary": {"IsManaged": "true", "Pkginfo": app["pkginfo"]},
            "id": app["id"], "uuid": app["uuid"],
        })

    async def delete_internal_app(self, request: Request, version: int) -> Response:
        """mamv1 DELETE /apps/internal/{id}: that version goes, with its assignment rules; 202."""
        try:
            app = self.apps.get(int(request.path_params["app_id"]))
        except ValueError:
            app = None
        if app is None:
            raise Ws1Error(400, 400, "Application not found or user does not have access to it.")
        del self.apps[app["id"]]
        self.assignment_rules.pop(app["uuid"], None)
        self.assigned_at.pop(app["uuid"], None)
        return Response(status_code=202)

    async def retire_internal_app(self, request: Request, version: int) -> Response:
        """mamv1 POST /apps/internal/{id}/retire: 403 when already retired; a retired version is removed from
        devices (and a lower assigned version would be deployed again: the spec's words)."""
        try:
            app = self.apps.get(int(request.path_params["app_id"]))
        except ValueError:
            app = None
        if app is None:
            raise Ws1Error(400, 400, "Application not found or user does not have access to it.")
        if app["status"] == "Retired":
            raise Ws1Error(403, 403, "Application Id already retired.")
        app["status"] = "Retired"
        self.assigned_at.pop(app["uuid"], None)
        return Response(status_code=202)

    async def unretire_internal_app(self, request: Request, version: int) -> Response:
        """mamv1 POST /apps/internal/{id}/unretire: 403 when it is not retired."""
        try:
            app = self.apps.get(int(request.path_params["app_id"]))
        except ValueError:
            app = None
        if app is None:
            raise Ws1Error(400, 400, "Application not found or user does not have access to it.")
        if app["status"] != "Retired":
            raise Ws1Error(403, 403, "Application Id already unretired.")
        app["status"] = "Active"
        return Response(status_code=202)

    async def apps_search(self, request: Request, version: int) -> Response:
        name = self._param(request, "applicationname")
        og_id = self._int_param(request, "locationgroupid")
        platform = self._param(request, "platform")
        status = self._param(request, "status")
        if status is not None and status.lower() not in ("all", "active", "inactive", "retired"):
            raise Ws1Error(400, 7004, "Invalid application status. Valid values are : All, Active, InActive, Retired")
        # Without `status`, search lists apps in every state, retired ones included (UEM 2604 MAM v1 swagger lists
        # All/Active/InActive/Retired; the default is unverified).
        found = [a for a in self.apps.values()
                 if (not name or name.lower() in a["name"].lower()) and (og_id is None or a["og_id"] == og_id)
                 and (not platform or platform.lower() in ("appleosx", "10"))
                 and (status is None or status.lower() == "all"
                      or a.get("status", "Active").lower() == status.lower())]
        page, size = self._paging(request)
        window = found[page * size:(page + 1) * size]  # the spec documents no 204 here: an empty list
        items = []
        for a in window:
            assigned, installed = self._app_counts(a)
            items.append({"ApplicationName": a["name"], "BundleId": a["bundle_id"], "AppVersion": a["internal_version"],
                          "ActualFileVersion": a["version"], "AppType": "Internal",
                          "Status": a["status"],
                          "Platform": 10, "LocationGroupId": a["og_id"], "OrganizationGroupUuid": a["og_uuid"],
                          "ApplicationFileName": a["file_name"], "AssignedDeviceCount": assigned,
                          "InstalledDeviceCount": installed, "NotInstalledDeviceCount": assigned - installed,
                          "Id": {"Value": a["id"]}, "Uuid": a["uuid"]})
        return JSONResponse({"Application": items, "Page": page, "PageSize": size, "Total": len(found)})

    async def app_devices(self, request: Request, version: int) -> Response:
        app = self._app(request.path_params["app_id"])
        status = (self._param(request, "status") or "installed").lower()
        if status not in ("installed", "assigned"):
            raise Ws1Error(400, 400, f"The Device status value {status} is invalid.")
        if self._int_param(request, "locationgroupid") is None:
            raise Ws1Error(400, 400, "Location Group Id cannot be null or empty.")
        page, size = self._paging(request)
        at = self.assigned_at.get(app["uuid"])
        devices = self._app_target_devices(app)
        if status == "installed":
            # Keyed on what decides the answer (assignment time, minimum OS, target groups), not just the app.
            targets = tuple(str(g) for rule in self.assignment_rules.get(app["uuid"], {}).get("assignments", [])
                            for g in rule.get("distribution", {}).get("smart_groups") or [])
            devices = self._listing(("app", app["uuid"], at, app["minimum_os"], targets), lambda: [
                d for d in devices if self.fleet.installed(d, "app", at, min_os=app["minimum_os"])])
        if not devices:
            return Response(status_code=204)
        window = devices[page * size:(page + 1) * size]
        return JSONResponse({"DeviceId": [d.id for d in window], "Page": page, "PageSize": size,
                             "Total": len(devices)})

    async def get_assignment_rules(self, request: Request, version: int) -> Response:
        uid = request.path_params["app_uuid"]
        app = next((a for a in self.apps.values() if a["uuid"].lower() == uid.lower()), None)
        if app is None:
            raise Ws1Error(404, 7000, "Application not found or user does not have access to it.")
        rules = self.assignment_rules.get(app["uuid"], {"assignments": [], "excluded_smart_groups": []})
        return JSONResponse({**rules, "id": app["id"], "uuid": app["uuid"]})

    async def put_assignment_rules(self, request: Request, version: int) -> Response:
        uid = request.path_params["app_uuid"]
        app = next((a for a in self.apps.values() if a["uuid"].lower() == uid.lower()), None)
        if app is None:
            raise Ws1Error(404, 7000, "Application not found")
        body = await self._json(request)
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
            if any(self._sg_by_uuid(g) is None for g in groups) or not groups:
                raise Ws1Error(400, 6, "Smart groups provided is not applicable for this application.")
            if dist.get("effective_date") is not None and not _is_datetime(dist["effective_date"]):
                raise Ws1Error(400, 400, "The value of effective_date is not a valid date-time.")  # mamv2: format date-time
            reach = self._og_and_ancestors(app["og_id"])
            if any(self._sg_by_uuid(g)["og_id"] not in reach for g in groups):
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
        self.assignment_rules[app["uuid"]] = {"assignments": stored, "excluded_smart_groups": list(excluded)}
        auto = any(s["distribution"]["app_delivery_method"] == "AUTO" for s in stored)
        if auto:
            self.assigned_at.setdefault(app["uuid"], self.fleet.now())
        else:
            self.assigned_at.pop(app["uuid"], None)
        return Response(status_code=202)

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
        og = self._og(general.get("ManagedLocationGroupID"))
        if og is None:
            raise Ws1Error(400, 400, f"Resource's organization group : {general.get('ManagedLocationGroupID')} not "
                           "found or user does not have access to it.")
        if general.get("AssignmentType", "Auto") not in ("Auto", "Optional", "Interactive", "Compliance", "Custom"):
            raise Ws1Error(422, 1012, "AssignmentType is not valid.")
        for sg in general.get("AssignedSmartGroups") or []:
            if not isinstance(sg, dict) or self._sg_by_id(sg.get("SmartGroupId")) is None:
                raise Ws1Error(400, 400, f"Smart group {sg!r} not found or user does not have access to it.")
        payloads = 0
        for entry in body.get("CustomSettingsList") or []:
            text = entry.get("CustomSettings") if isinstance(entry, dict) else None
            if not isinstance(text, str) or not _is_bare_dict(text):
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
        general.update({"ProfileId": profile_id, "ProfileUuid": (previous or {}).get("uuid") or self._uuid(f"profile-{profile_id}"),
                        "Version": version, "IsActive": general.get("IsActive", True),
                        "AssignmentType": general.get("AssignmentType", "Auto")})
        general.pop("CreateNewVersion", None)
        stored = {k: v for k, v in body.items() if k != "General"}
        stored["General"] = general
        active_auto = general["IsActive"] and general["AssignmentType"] == "Auto"
        assigned_at = (previous or {}).get("assigned_at")
        if active_auto and general.get("AssignedSmartGroups"):
            assigned_at = assigned_at or self.fleet.now()
        self.profiles[profile_id] = {"id": profile_id, "uuid": general["ProfileUuid"], "og_id": og["Id"],
                                     "body": stored, "assigned_at": assigned_at}

    async def create_profile(self, request: Request, version: int) -> Response:
        body = await self._json(request)
        og = self._validate_profile(body, update=False)
        profile_id = self._next("profile")
        self._store_profile(profile_id, body, 1, og, None)
        return JSONResponse(profile_id)  # a bare integer, as the real API answers

    async def update_profile(self, request: Request, version: int) -> Response:
        body = await self._json(request)
        og = self._validate_profile(body, update=True)
        try:
            profile_id = int(body["General"]["ProfileId"])
        except (TypeError, ValueError):
            raise Ws1Error(400, 400, "ProfileId must be an integer.") from None
        current = self.profiles.get(profile_id)
        if current is None:
            raise Ws1Error(404, 8, "Profile not found for this request.")
        if self.settings["profile_update_noop"]:
            return Response(status_code=200)  # the known bug: 200, nothing saved
        new_version = current["body"]["General"]["Version"] + (1 if body["General"].get("CreateNewVersion") else 0)
        self._store_profile(profile_id, body, new_version, og, current)
        return Response(status_code=200)

    async def delete_profile(self, request: Request, version: int) -> Response:
        """mdmv1 DELETE /profiles/{profileid}: 400 (not 404) when the profile does not exist."""
        try:
            profile = self.profiles.get(int(request.path_params["profile_id"]))
        except ValueError:
            profile = None
        if profile is None:
            raise Ws1Error(400, 400, "Profile not found or User does not have access to the Profile.")
        del self.profiles[profile["id"]]
        return Response(status_code=200)

    async def get_profile(self, request: Request, version: int) -> Response:
        try:
            profile = self.profiles.get(int(request.path_params["profile_id"]))
        except ValueError:
            profile = None
        if profile is None:
            raise Ws1Error(404, 8, "Profile not found for this request.")
        return JSONResponse(profile["body"])

    async def profiles_search(self, request: Request, version: int) -> Response:
        text = self._param(request, "searchtext") if version == 2 else self._param(request, "profilename")
        og_id = self._int_param(request, "organizationgroupid")
        platform = self._param(request, "platform")
        found = [p for p in self.profiles.values()
                 if (not text or text.lower() in p["body"]["General"]["Name"].lower())
                 and (og_id is None or p["og_id"] == og_id)
                 and (not platform or platform.lower() == "appleosx")]
        if not found:
            return Response(status_code=204)
        page, size = self._paging(request)
        window = found[page * size:(page + 1) * size]
        if version == 2:
            items = []
            for p in window:
                g = p["body"]["General"]
                og = self._og(p["og_id"]) or {}
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

    def _targets(self, profile: dict[str, Any], device: Any) -> bool:
        """Whether the profile is assigned to this device (without listing every member)."""
        for sg in profile["body"]["General"].get("AssignedSmartGroups") or []:
            group = self._sg_by_id(sg.get("SmartGroupId"))
            if group is not None and (group["members"] == "all"
                                      or (group["members"] == "rollout" and device.id in self.fleet.member_ids)):
                return True
        return False

    def _profile_devices(self, profile: dict[str, Any]) -> list[Any]:
        groups = [self._sg_by_id(sg.get("SmartGroupId")) for sg in profile["body"]["General"].get("AssignedSmartGroups") or []]
        groups = [g for g in groups if g is not None]
        if len(groups) == 1:
            return self.sg_devices(groups[0])
        seen: dict[int, Any] = {}
        for sg in profile["body"]["General"].get("AssignedSmartGroups") or []:
            group = self._sg_by_id(sg.get("SmartGroupId"))
            if group is not None:
                for d in self.sg_devices(group):
                    seen[d.id] = d
        return list(seen.values())

    async def profile_devices(self, request: Request, version: int) -> Response:
        uid = request.path_params["profile_uuid"]
        profile = next((p for p in self.profiles.values() if p["uuid"].lower() == uid.lower()), None)
        if profile is None:
            raise Ws1Error(404, 8, "Profile not found for this request.")
        status = (self._param(request, "profilestatus") or "").upper()
        if status not in ("", "INSTALLED", "NOT_INSTALLED"):
            raise Ws1Error(422, 1012, 'Invalid value for device profile installation status. Allowed Values - '
                           '"INSTALLED" and "NOT_INSTALLED".')
        page, size = self._paging(request)
        devices = self._profile_devices(profile)
        if status:
            want = status == "INSTALLED"
            targets = tuple(str(sg.get("SmartGroupId"))
                            for sg in profile["body"]["General"].get("AssignedSmartGroups") or [])
            devices = self._listing(("profile", profile["id"], status, profile["assigned_at"], targets), lambda: [
                d for d in devices
                if self.fleet.installed(d, "profile", profile["assigned_at"]) == want])
        if not devices:
            return Response(status_code=204)
        window = devices[page * size:(page + 1) * size]
        return JSONResponse({"profileAssignedDevices": [{"id": d.id, "uuid": d.uuid} for d in window],
                             "TotalResults": len(devices)})

    # ------------------------------------------------------------------ devices
    def _device_model(self, d: Any) -> dict[str, Any]:
        return {"Udid": d.udid, "SerialNumber": d.serial, "DeviceFriendlyName": d.name, "DeviceReportedName": d.name,
                "LocationGroupId": {"Id": {"Value": 570}, "Name": "ACME Corp", "Uuid": self.org_groups[0]["Uuid"]},
                "LocationGroupName": "ACME Corp", "UserName": d.user, "UserEmailAddress": d.email,
                "Ownership": "C", "Platform": "AppleOsX", "Model": d.model, "OperatingSystem": d.os_version,
                "EnrollmentStatus": "Enrolled", "ComplianceStatus": "Compliant",
                "UserApprovedEnrollment": d.user_approved,
                # ADE (DEP) enrollments are user-approved by definition, so a Mac without it was enrolled otherwise
                # (Apple Platform Deployment, "User Approved MDM"); supervision comes with ADE on macOS.
                "EnrolledViaDEP": d.user_approved, "IsSupervised": d.user_approved, "Id": {"Value": d.id},
                "Uuid": d.uuid}

    async def devices_search(self, request: Request, version: int) -> Response:
        platform = self._param(request, "platform")
        user = self._param(request, "user")
        lgid = self._int_param(request, "lgid")
        if lgid is not None and self._og(lgid) is None:
            raise Ws1Error(400, 6, f"Organization Group with id : {lgid} not found or Admin user does not have "
                           "access to it.")
        page, size = self._paging(request)
        if not user and (not platform or platform.lower() == "appleosx"):
            found = self.fleet.devices  # every device is a Mac: no per-page filtering of 50,000 devices
        else:
            found = [d for d in self.fleet.devices
                     if (not platform or platform.lower() == "appleosx") and (not user or user.lower() in d.user)]
        if not found:
            return Response(status_code=204)
        window = found[page * size:(page + 1) * size]
        return JSONResponse({"Devices": [self._device_model(d) for d in window], "Page": page, "PageSize": size,
                             "Total": len(found)})

    async def device_profiles(self, request: Request, version: int) -> Response:
        device = self.fleet.by_id.get(request.path_params["device_id"])
        if device is None:
            raise Ws1Error(404, 5002, f"Device not found for specified id: {request.path_params['device_id']}")
        items = []
        for p in self.profiles.values():
            if not self._targets(p, device):
                continue
            g = p["body"]["General"]
            installed = self.fleet.installed(device, "profile", p["assigned_at"])
            # The 2604 DeviceProfileApiEntity.Status enum has no "Failed"; a profile the Mac could not install is
            # reported here as "Corrupted" (unverified: the enum is documented, this mapping is not).
            status = ("ConfirmedInstall" if installed else
                      "Corrupted" if self.fleet.failed(device, "profile", p["assigned_at"]) else "PendingInstall")
            items.append({"Status": status, "Name": g["Name"],
                          "Description": g.get("Description") or "", "CurrentVersion": g["Version"],
                          "AssignmentType": g.get("AssignmentType", "Auto"),
                          "InstalledProfileVersion": g["Version"] if installed else 0,
                          "LocationGroupId": {"Id": {"Value": p["og_id"]}}, "Id": {"Value": p["id"]},
                          "Uuid": p["uuid"]})
        if not items:
            return Response(status_code=204)
        return JSONResponse({"DeviceId": {"Id": {"Value": device.id}, "Name": device.name}, "DeviceProfiles": items,
                             "Page": 0, "PageSize": 500, "Total": len(items)})

    async def device_certificates(self, request: Request, version: int) -> Response:
        """Certificates_GetCertificatesByDeviceAsync (mdm v1): the Device Access SCEP certificate once a profile
        that carries it is installed. Names and issuer are illustrative (unverified)."""
        device = self.fleet.by_id.get(request.path_params["device_id"])
        if device is None:
            raise Ws1Error(404, 5002, f"Device not found for specified id: {request.path_params['device_id']}")
        installed = any(self.fleet.installed(device, "profile", p["assigned_at"]) for p in self.profiles.values()
                        if self._targets(p, device))
        certs = []
        if installed and device.cert != "missing":
            days = 12 if device.cert == "expiring" else 300
            expires = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + days * 86400))
            certs.append({"Name": f"Okta Device Access {device.udid[:8]}", "IssuedBy": "Okta Device Access CA",
                          "ExpiresOn": expires, "Status": "Active", "IsIdentity": "true", "Error": "",
                          "CertificateContext": "Device", "DeviceId": {"Id": {"Value": device.id}},
                          "Id": {"Value": device.id * 10}, "Uuid": str(uuid.uuid5(_NS, f"cert-{device.id}"))})
        return JSONResponse({"DeviceCertificates": certs, "Page": 0, "PageSize": 500, "Total": len(certs)})

    async def install_profile(self, request: Request, version: int) -> Response:
        """ProfilesV1_InstallProfileAsync (mdm v1): POST /profiles/{profileid}/install with a DeviceInfo body."""
        profile = self.profiles.get(request.path_params["profile_id"])
        if profile is None:  # the spec lists 403/422 only; an unknown id answers like get_profile (unverified)
            raise Ws1Error(404, 8, "Profile not found for this request.")
        body = await self._json(request)
        device_id = body.get("DeviceId") if isinstance(body, dict) else None
        device = self.fleet.by_id.get(device_id) if isinstance(device_id, int) else None
        if device is None:
            raise Ws1Error(404, 5002, f"Device not found for specified id: {device_id}")
        if not self._targets(profile, device):
            raise Ws1Error(422, 1012, "The profile is not assigned to this device.")  # unverified wording
        self.profile_installs.append({"profile_id": profile["id"], "device_id": device.id})
        return Response(status_code=200)

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
        return JSONResponse(self._sg_model(group), status_code=201)

    async def admin_app_status(self, request: Request) -> Response:
        """Put an internal app into Active, Inactive or Retired, as an admin does in the console."""
        try:
            data = json.loads(await request.body())
            app = self._app(data["id"])
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
        }


def _is_datetime(value: Any) -> bool:
    from datetime import datetime

    try:
        datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return True


_WRAPPER = re.compile(r"<\?xml|<!DOCTYPE|<plist", re.IGNORECASE)


def _is_bare_dict(text: str) -> bool:
    """One <dict>…</dict> payload with PayloadType, no XML declaration, DOCTYPE or <plist> wrapper."""
    body = text.strip()
    if _WRAPPER.search(body) or not (body.startswith("<dict>") and body.endswith("</dict>")):
        return False
    doc = (b'<?xml version="1.0" encoding="UTF-8"?><plist version="1.0">' + body.encode("utf-8") + b"</plist>")
    try:
        value = plistlib.loads(doc)
    except Exception:
        return False
    return isinstance(value, dict) and isinstance(value.get("PayloadType"), str)
