"""Okta emulator: the slice of the Okta Management API odatui uses, in Okta's shapes (reference/okta.md §3–4).

Auth is an SSWS API token (the demo token) or a Bearer token from `/oauth2/v1/token`, which a service app gets with
`private_key_jwt`: the sandbox makes the service app's key pair at start and writes the private key to
`<data_dir>/okta-service-app.pem`. Every response carries `X-Rate-Limit-*` from a per-minute bucket per route class.
Errors use Okta's body (`errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`) and real codes.
Admin-only switches (Classic pipeline, authenticator status, read-only token, DPoP, scopes, limits) live under
`/_sandbox/okta/…` so tests can put the org into each state a real tenant can be in.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import string
import time
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from odatui.sandbox.server import OKTA_GROUPS, OKTA_TOKEN

PSSO_LABEL = "Platform Single Sign-On for macOS"
FORMER_PSSO_LABEL = "Desktop Password Sync"
ALL_SCOPES = ("okta.apps.read", "okta.apps.manage", "okta.groups.read", "okta.users.read", "okta.authenticators.read",
              "okta.devices.read")
# Requests per minute per route class; close to Okta's defaults for a small org.
DEFAULT_LIMITS = {"apps": 100, "groups": 500, "authenticators": 100, "users": 600, "token": 600, "org": 1000,
                  "devices": 1000}
# Okta serves this authsrv object on every org host and custom domain ("When serving this URI, Okta adds authsrv
# content ... You can't modify the content in the authsrv object"), apps listed as in the example at
# https://developer.okta.com/docs/api/openapi/okta-management/management/tag/AssociatedDomainCustomizations
AASA_APPS = ("B7F62B65BN.com.okta.mobile", "B7F62B65BN.com.okta.mobile.auth-service-extension",
             "B7F62B65BN.com.okta.authenticator.beta", "B7F62B65BN.com.okta.authenticator.beta.auth-service-extension")
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALNUM = string.ascii_letters + string.digits
OTHER_APPS = (
    "Slack", "Zoom", "Salesforce", "Workday", "GitHub Enterprise", "Atlassian Cloud", "Box", "Dropbox Business",
    "Google Workspace", "Microsoft Office 365", "ServiceNow", "Zendesk", "DocuSign", "Adobe Creative Cloud",
    "AWS IAM Identity Center", "Figma", "Miro", "Notion", "Asana", "Tableau", "Concur", "Greenhouse", "Lucidchart",
    "PagerDuty", "Datadog", "1Password", "Jamf Pro", "Workspace ONE Access", "Platform Status Page", "Expensify",
)
_FILTER_TERM = re.compile(r'^\s*([A-Za-z_.]+)\s+(eq|sw)\s+"((?:[^"\\]|\\.)*)"\s*$')  # \" escapes a quote


def _now_iso(t: float | None = None) -> str:
    return datetime.fromtimestamp(t or time.time(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class OktaError(Exception):
    def __init__(self, status: int, code: str, summary: str, causes: list[str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(summary)
        self.status, self.code, self.summary = status, code, summary
        self.causes = causes or []
        self.headers = headers or {}


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _not_found(what: str, kind: str) -> OktaError:
    return OktaError(404, "E0000007", f"Not found: Resource not found: {what} ({kind})")


class OktaEmulator:
    def __init__(self, options: Any, world: Any) -> None:
        self.options = options
        self.world = world
        self.rng = random.Random(f"okta-{getattr(options, 'seed', 0)}")
        self.base_url = world.base_url
        self.org_id = self._id("00o")
        self.okta_verify_app_id = self._id("0oa")
        # Switchable org facts (see /_sandbox/okta/settings).
        self.pipeline = "idx"
        self.custom_domain: str | None = getattr(options, "custom_domain", None)
        self.authenticator_status = "ACTIVE"
        self.user_verification = "PREFERRED"  # Okta Verify authenticator settings.userVerification
        self.aasa_apps: list[str] = list(AASA_APPS)  # settable, so the sandbox can disagree with odatui
        self.token_read_only = False  # SSWS token of a read-only admin: writes get E0000006
        self.require_dpop = False
        self.granted_scopes: set[str] = set(ALL_SCOPES)
        self.token_ttl = 3600
        self.rate_limits = dict(DEFAULT_LIMITS)
        self._buckets: dict[str, list[int]] = {}  # class → [window start, count]
        self.tokens: dict[str, tuple[float, frozenset[str]]] = {}
        self._used_jti: set[str] = set()

        self.groups: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.apps: dict[str, dict[str, Any]] = {}
        self.assignments: dict[str, dict[str, dict[str, Any]]] = {}
        self._seed()
        self._make_service_app()

    # --- seed data ---------------------------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        return prefix + "".join(self.rng.choice(ALNUM) for _ in range(17))

    def _seed(self) -> None:
        t0 = time.time() - 86400 * 90
        self.admin = self._add_user("admin@acme.example", "Ada", "Admin", t0)
        for name in ("Everyone", *[g for g in OKTA_GROUPS if g != "Everyone"], "Mac Pilot Wave 2", "Engineering"):
            self._add_group(name, t0)
        everyone = self.group_by_name("Everyone")
        pilot = self.group_by_name("Mac Pilot")
        for i, (first, last) in enumerate((("Grace", "Hopper"), ("Alan", "Turing"), ("Katherine", "Johnson"),
                                           ("Dorothy", "Vaughan"), ("Edsger", "Dijkstra"))):
            user = self._add_user(f"{first.lower()}.{last.lower()}@acme.example", first, last, t0 + i)
            self.members[pilot["id"]].append(user["id"])
        # Field failures the readiness check must find in the demo group: a federated user has no Okta password
        # (credentials without `password`, as listed for users that sign in through an IdP), and an invited user
        # who never activated is PROVISIONED (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/)
        federated = self.users[self.members[pilot["id"]][3]]
        federated["credentials"] = {"provider": {"type": "FEDERATION", "name": "FEDERATION"}}
        self.users[self.members[pilot["id"]][4]]["status"] = "PROVISIONED"
        self.members[everyone["id"]] = list(self.users)
        for i, label in enumerate(OTHER_APPS):
            kind = "OPENID_CONNECT" if i % 3 else "BOOKMARK"
            self.add_app(label, sign_on_mode=kind, created=t0 + 3600 * i)
        if getattr(self.options, "psso_app", "present") == "present":
            self.add_app(PSSO_LABEL, created=t0 + 86400 * 30)

    def _add_user(self, login: str, first: str, last: str, t: float) -> dict[str, Any]:
        uid = self._id("00u")
        user = {
            "id": uid, "status": "ACTIVE", "created": _now_iso(t), "activated": _now_iso(t),
            "statusChanged": _now_iso(t), "lastLogin": _now_iso(), "lastUpdated": _now_iso(t),
            "passwordChanged": _now_iso(t), "type": {"id": "oty1sandboxusertype0"},
            "profile": {"login": login, "email": login, "firstName": first, "lastName": last},
            "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": f"{self.base_url}/api/v1/users/{uid}"}},
        }
        self.users[uid] = user
        return user

    def _add_group(self, name: str, t: float) -> dict[str, Any]:
        gid = self._id("00g")
        group = {
            "id": gid, "created": _now_iso(t), "lastUpdated": _now_iso(t), "lastMembershipUpdated": _now_iso(t),
            "objectClass": ["okta:user_group"], "type": "BUILT_IN" if name == "Everyone" else "OKTA_GROUP",
            "profile": {"name": name, "description": "All users in your organization" if name == "Everyone" else ""},
            "_links": {"users": {"href": f"{self.base_url}/api/v1/groups/{gid}/users"},
                       "apps": {"href": f"{self.base_url}/api/v1/groups/{gid}/apps"}},
        }
        self.groups[gid] = group
        self.members[gid] = []
        return group

    def group_by_name(self, name: str) -> dict[str, Any]:
        return next(g for g in self.groups.values() if g["profile"]["name"] == name)

    def add_app(self, label: str, *, sign_on_mode: str = "OPENID_CONNECT", status: str = "ACTIVE",
                created: float | None = None) -> dict[str, Any]:
        """Add an app as the Admin Console would (the PSSO app comes from the catalog this way)."""
        app_id = self._id("0oa")
        ts = _now_iso(created)
        links = {
            "self": {"href": f"{self.base_url}/api/v1/apps/{app_id}"},
            "groups": {"href": f"{self.base_url}/api/v1/apps/{app_id}/groups"},
            "users": {"href": f"{self.base_url}/api/v1/apps/{app_id}/users"},
            "deactivate": {"href": f"{self.base_url}/api/v1/apps/{app_id}/lifecycle/deactivate"},
        }
        app: dict[str, Any] = {
            "id": app_id, "label": label, "status": status, "signOnMode": sign_on_mode, "created": ts,
            "lastUpdated": ts, "features": [],
            "accessibility": {"selfService": False},
            "visibility": {"autoLaunch": False, "autoSubmitToolbar": False,
                           "hide": {"iOS": sign_on_mode != "BOOKMARK", "web": sign_on_mode != "BOOKMARK"}},
            "_links": links,
        }
        if sign_on_mode == "OPENID_CONNECT":
            # The PSSO app's catalog `name` is unverified (reference/okta.md §3.2); odatui matches on label and
            # signOnMode only, so the generic OIDC key keeps responses valid against the spec.
            app["name"] = "oidc_client"
            app["credentials"] = {
                "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
                "oauthClient": {"autoKeyRotation": True, "client_id": app_id, "token_endpoint_auth_method": "none",
                                "pkce_required": True},
            }
            app["settings"] = {
                "app": {}, "implicitAssignment": False,
                "oauthClient": {"application_type": "native", "consent_method": "REQUIRED",
                                "grant_types": ["authorization_code"], "response_types": ["code"],
                                "redirect_uris": [f"com.okta.{app_id}:/callback"], "issuer_mode": "DYNAMIC"},
            }
        else:
            app["name"] = "bookmark"
            app["credentials"] = {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"}}
            app["settings"] = {"app": {"url": f"https://{label.lower().replace(' ', '')}.example.com",
                                       "requestIntegration": False}}
        self.apps[app_id] = app
        self.assignments[app_id] = {}
        return app

    def _make_service_app(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        # P-256 (ES256): Okta accepts it for private_key_jwt, and it is made in a millisecond (start-up < 1 s).
        key = ec.generate_private_key(ec.SECP256R1())
        self.service_app_client_id = self._id("0oa")
        self.service_app_kid = "sandbox-service-app-key"
        self.service_app_public_key = key.public_key()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        self.service_app_key_path = self.world.data_dir / "okta-service-app.pem"
        fd = os.open(self.service_app_key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)

    # --- plumbing ----------------------------------------------------------------------------------------------
    def _error(self, err: OktaError) -> JSONResponse:
        body = {"errorCode": err.code, "errorSummary": err.summary, "errorLink": err.code,
                "errorId": "oae" + "".join(self.rng.choice(ALNUM) for _ in range(22)),
                "errorCauses": [{"errorSummary": c} for c in err.causes]}
        return JSONResponse(body, status_code=err.status, headers=err.headers)

    def _take(self, cls: str) -> tuple[int, int, int, bool]:
        now = int(time.time())
        window = now - now % 60
        bucket = self._buckets.setdefault(cls, [window, 0])
        if bucket[0] != window:
            bucket[:] = [window, 0]
        bucket[1] += 1
        limit = self.rate_limits.get(cls, 600)
        return limit, max(0, limit - bucket[1]), window + 60, bucket[1] > limit

    def _route(self, path: str, handler: Any, methods: list[str], cls: str, read: str | None,
               write: str | None = None, *, auth: bool = True) -> Route:
        async def endpoint(request: Request) -> Response:
            limit, remaining, reset, over = self._take(cls)
            try:
                if over:
                    raise OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests.")
                if auth:
                    self._authorize(request, write if request.method in ("POST", "PUT", "DELETE") else read)
                response = await handler(request)
            except OktaError as err:
                response = self._error(err)
            except OAuthError as err:
                response = JSONResponse({"error": err.error, "error_description": err.description},
                                        status_code=err.status)
            response.headers["X-Rate-Limit-Limit"] = str(limit)
            response.headers["X-Rate-Limit-Remaining"] = str(remaining)
            response.headers["X-Rate-Limit-Reset"] = str(reset)
            return response

        return Route(path, endpoint, methods=methods)

    def _authorize(self, request: Request, scope: str | None) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        invalid = OktaError(401, "E0000011", "Invalid token provided")
        if scheme == "SSWS":
            if not secrets.compare_digest(credential.strip(), OKTA_TOKEN):
                raise invalid
            if self.token_read_only and scope and scope.endswith(".manage"):
                raise OktaError(403, "E0000006", "You do not have permission to perform the requested action")
            return
        if scheme == "Bearer":
            entry = self.tokens.get(credential.strip())
            if entry is None or entry[0] < time.time():
                raise OktaError(401, "E0000011", "Invalid token provided",
                                headers={"WWW-Authenticate": 'Bearer error="invalid_token", '
                                         'error_description="The token is not valid."'})
            if scope and scope not in entry[1]:
                raise OktaError(403, "E0000006", "You do not have permission to perform the requested action",
                                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", error_description='
                                         '"The access token provided does not contain the required scopes.", '
                                         f'resource="{request.url.path}"'})
            return
        raise invalid

    def _page(self, request: Request, items: list[dict[str, Any]], *, default: int, cap: int,
              response_items: list[Any] | None = None) -> JSONResponse:
        """Cursor paging as Okta does it: `after` is the last id seen; `Link: rel="next"` while more remain."""
        params = request.query_params
        try:
            limit = int(params.get("limit", default))
        except ValueError:
            raise OktaError(400, "E0000001", "Api validation failed: limit", ["limit: must be a number"]) from None
        limit = max(1, min(limit, cap))
        start = 0
        after = params.get("after")
        if after:
            ids = [item["id"] for item in items]
            start = ids.index(after) + 1 if after in ids else len(items)
        chunk = items[start:start + limit]
        response = JSONResponse(chunk if response_items is None else response_items[start:start + limit])
        response.headers.append("link", f'<{request.url}>; rel="self"')
        if start + limit < len(items):
            query = {k: v for k, v in params.items() if k != "after"}
            query.update(after=chunk[-1]["id"], limit=str(limit))
            next_url = str(request.url.replace(query=urlencode(query)))
            response.headers.append("link", f'<{next_url}>; rel="next"')
        return response

    async def _json_body(self, request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise OktaError(400, "E0000003", "The request body was not well-formed.") from None
        if not isinstance(data, dict):
            raise OktaError(400, "E0000003", "The request body was not well-formed.")
        return data

    # --- routes ------------------------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        r = self._route
        return [
            r("/.well-known/okta-organization", self.org_metadata, ["GET"], "org", None, auth=False),
            r("/api/v1/authenticators", self.list_authenticators, ["GET"], "authenticators", "okta.authenticators.read"),
            r("/api/v1/apps", self.list_apps, ["GET"], "apps", "okta.apps.read"),
            r("/api/v1/apps/{app_id}", self.get_app, ["GET"], "apps", "okta.apps.read"),
            r("/api/v1/apps/{app_id}/groups", self.list_app_groups, ["GET"], "apps", "okta.apps.read"),
            r("/api/v1/apps/{app_id}/groups/{group_id}", self.app_group, ["GET", "PUT", "DELETE"], "apps",
              "okta.apps.read", "okta.apps.manage"),
            r("/api/v1/apps/{app_id}/users", self.list_app_users, ["GET"], "apps", "okta.apps.read"),
            r("/api/v1/groups", self.list_groups, ["GET"], "groups", "okta.groups.read"),
            r("/api/v1/groups/{group_id}/users", self.list_group_users, ["GET"], "groups", "okta.groups.read"),
            r("/api/v1/devices", self.list_devices, ["GET"], "devices", "okta.devices.read"),
            r("/.well-known/apple-app-site-association", self.aasa, ["GET"], "org", None, auth=False),
            r("/api/v1/users/me", self.users_me, ["GET"], "users", "okta.users.read"),
            r("/oauth2/v1/token", self.token, ["POST"], "token", None, auth=False),
        ]

    def admin_routes(self) -> list[Route]:
        return [
            Route("/_sandbox/okta/psso-app", self.admin_add_psso_app, methods=["POST"]),
            Route("/_sandbox/okta/settings", self.admin_settings, methods=["GET", "POST"]),
        ]

    async def org_metadata(self, request: Request) -> Response:
        links: dict[str, Any] = {"organization": {"href": self.base_url}}
        if self.custom_domain:
            links["alternate"] = {"href": f"https://{self.custom_domain}"}
        return JSONResponse({"id": self.org_id, "pipeline": self.pipeline, "_links": links})

    async def list_authenticators(self, request: Request) -> Response:
        if self.pipeline != "idx":
            # Authenticators are an Identity Engine API; a Classic org answers as for an unlicensed feature.
            raise OktaError(401, "E0000015", "You do not have permission to access the feature you are requesting")
        items = []
        for key, name, kind, status in (("okta_email", "Email", "email", "ACTIVE"),
                                        ("okta_password", "Password", "password", "ACTIVE"),
                                        ("okta_verify", "Okta Verify", "app", self.authenticator_status)):
            aid = "aut" + key.replace("_", "")[:17].ljust(17, "0")
            item: dict[str, Any] = {
                "id": aid, "key": key, "name": name, "type": kind, "status": status,
                "created": _now_iso(time.time() - 86400 * 400), "lastUpdated": _now_iso(time.time() - 86400 * 10),
                "_links": {"self": {"href": f"{self.base_url}/api/v1/authenticators/{aid}"}},
            }
            if key == "okta_verify":
                item["settings"] = {"channelBinding": {"style": "NUMBER_CHALLENGE", "required": "HIGH_RISK_ONLY"},
                                    "userVerification": self.user_verification, "appInstanceId": self.okta_verify_app_id}
            items.append(item)
        return JSONResponse(items)

    @staticmethod
    def _filter(items: list[dict[str, Any]], expr: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
        """Okta's filter/search expressions, the subset odatui and its tests use: `f eq "v"`, `f sw "v"`, `and`."""
        terms = []
        for part in re.split(r"\s+and\s+", expr.strip()):
            m = _FILTER_TERM.match(part)
            if not m or m.group(1) not in fields:
                raise OktaError(400, "E0000031", "Invalid search criteria.", [f"unsupported expression: {part}"])
            terms.append((fields[m.group(1)], m.group(2), re.sub(r"\\(.)", r"\1", m.group(3))))
        out = []
        for item in items:
            ok = True
            for getter, op, value in terms:
                actual = str(getter(item))
                if (op == "eq" and actual != value) or (op == "sw" and not actual.lower().startswith(value.lower())):
                    ok = False
            if ok:
                out.append(item)
        return out

    async def list_apps(self, request: Request) -> Response:
        apps = list(self.apps.values())
        q = request.query_params.get("q")
        if q:
            # Okta: "name or label starts with", case-insensitive.
            ql = q.lower()
            apps = [a for a in apps if a["label"].lower().startswith(ql) or a["name"].lower().startswith(ql)]
        expr = request.query_params.get("filter")
        if expr:
            apps = self._filter(apps, expr, {"status": lambda a: a["status"], "name": lambda a: a["name"],
                                             "id": lambda a: a["id"], "signOnMode": lambda a: a["signOnMode"]})
        return self._page(request, apps, default=20, cap=200)

    def _app(self, app_id: str) -> dict[str, Any]:
        app = self.apps.get(app_id)
        if app is None:
            raise _not_found(app_id, "AppInstance")
        return app

    async def get_app(self, request: Request) -> Response:
        return JSONResponse(self._app(request.path_params["app_id"]))

    async def list_app_groups(self, request: Request) -> Response:
        app_id = request.path_params["app_id"]
        self._app(app_id)
        items = list(self.assignments[app_id].values())
        q = request.query_params.get("q")
        if q:
            items = [a for a in items if self.groups[a["id"]]["profile"]["name"].lower().startswith(q.lower())]
        return self._page(request, items, default=20, cap=200)

    async def app_group(self, request: Request) -> Response:
        app_id, group_id = request.path_params["app_id"], request.path_params["group_id"]
        self._app(app_id)
        if group_id not in self.groups:
            raise _not_found(group_id, "UserGroup")
        current = self.assignments[app_id].get(group_id)
        if request.method == "GET":
            if current is None:
                raise _not_found(group_id, "ApplicationGroupAssignment")
            return JSONResponse(current)
        if request.method == "DELETE":
            self.assignments[app_id].pop(group_id, None)
            return Response(status_code=204)
        if "content-length" not in request.headers and "transfer-encoding" not in request.headers:
            # Okta's edge refuses a PUT with neither a body nor Content-Length (reference/okta.md §3, D1).
            return Response("<html><body><h1>411 Length Required</h1></body></html>", status_code=411,
                            media_type="text/html")
        body = await self._json_body(request)
        priority = body.get("priority", current["priority"] if current else len(self.assignments[app_id]))
        if not isinstance(priority, int) or priority < 0:
            raise OktaError(400, "E0000001", "Api validation failed: priority", ["priority: must be a whole number"])
        assignment = {
            "id": group_id, "priority": priority, "lastUpdated": _now_iso(), "profile": body.get("profile") or {},
            "_links": {"app": {"href": f"{self.base_url}/api/v1/apps/{app_id}"},
                       "group": {"href": f"{self.base_url}/api/v1/groups/{group_id}"}},
        }
        self.assignments[app_id][group_id] = assignment
        return JSONResponse(assignment)

    async def list_app_users(self, request: Request) -> Response:
        app_id = request.path_params["app_id"]
        self._app(app_id)
        seen: dict[str, dict[str, Any]] = {}
        for group_id in self.assignments[app_id]:
            for uid in self.members.get(group_id, []):
                user = self.users[uid]
                seen.setdefault(uid, {
                    "id": uid, "scope": "GROUP", "status": "ACTIVE", "syncState": "DISABLED",
                    "created": user["created"], "lastUpdated": user["lastUpdated"], "statusChanged": user["created"],
                    "credentials": {"userName": user["profile"]["login"]}, "profile": {}, "externalId": "",
                    "_links": {"app": {"href": f"{self.base_url}/api/v1/apps/{app_id}"},
                               "user": {"href": f"{self.base_url}/api/v1/users/{uid}"}},
                })
        items = list(seen.values())
        q = request.query_params.get("q")
        if q:
            items = [u for u in items if u["credentials"]["userName"].lower().startswith(q.lower())]
        return self._page(request, items, default=50, cap=500)

    async def list_groups(self, request: Request) -> Response:
        groups = list(self.groups.values())
        params = request.query_params
        if params.get("q"):
            # `q` matches name prefixes and cannot be paged (reference/okta.md §3).
            ql = params["q"].lower()
            found = [g for g in groups if g["profile"]["name"].lower().startswith(ql)]
            return JSONResponse(found[: min(int(params.get("limit", 300) or 300), 300)])
        if params.get("search"):
            groups = self._filter(groups, params["search"], {
                "profile.name": lambda g: g["profile"]["name"], "type": lambda g: g["type"], "id": lambda g: g["id"]})
        return self._page(request, groups, default=200, cap=10000)

    async def list_group_users(self, request: Request) -> Response:
        """listGroupUsers: full user objects (status, credentials) of a group's members, cursor-paged."""
        group_id = request.path_params["group_id"]
        if group_id not in self.groups:
            raise _not_found(group_id, "UserGroup")
        users = [self.users[uid] for uid in self.members.get(group_id, [])]
        return self._page(request, users, default=1000, cap=1000)

    def _okta_devices(self) -> list[dict[str, Any]]:
        """Macs that finished Okta Verify registration: the fleet's registered share of those with the profile."""
        ws1 = self.world.emulators.get("ws1")
        if ws1 is None:
            return []

        def build() -> list[dict[str, Any]]:
            installed = {d.id for p in ws1.profiles.values() for d in ws1._profile_devices(p)
                         if ws1.fleet.installed(d, "profile", p["assigned_at"])}
            # Device object fields from listDevices (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/Device/)
            return [{"id": f"guo{d.id:017d}", "status": "ACTIVE", "resourceType": "UDDevice",
                     "profile": {"displayName": d.name, "platform": "MACOS", "serialNumber": d.serial,
                                 "registered": True, "osVersion": d.os_version}}
                    for d in ws1.fleet.devices if d.okta_registered and d.id in installed]

        return ws1._listing(("okta-devices",), build)

    async def list_devices(self, request: Request) -> Response:
        devices = self._okta_devices()
        if request.query_params.get("search"):
            devices = self._filter(devices, request.query_params["search"], {
                "profile.platform": lambda d: d["profile"]["platform"], "status": lambda d: d["status"]})
        return self._page(request, devices, default=200, cap=200)

    async def aasa(self, request: Request) -> Response:
        return JSONResponse({"authsrv": {"apps": list(self.aasa_apps)}})

    async def users_me(self, request: Request) -> Response:
        if request.headers.get("authorization", "").startswith("Bearer "):
            # A service app's token has no user behind it.
            raise _not_found("me", "User")
        return JSONResponse(self.admin)

    async def token(self, request: Request) -> Response:
        import jwt

        from urllib.parse import parse_qsl

        # A plain form body; parsed here so the sandbox needs no multipart library.
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "The authorization grant type is not supported by the "
                             "authorization server. Configured grant types: [client_credentials].")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise OAuthError(401, "invalid_client", "Client authentication failed: a client_assertion of type "
                             "jwt-bearer (private_key_jwt) is required for this client.")
        assertion = str(form["client_assertion"])
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OAuthError(401, "invalid_client", "The client_assertion token is malformed.") from None
        if unverified.get("iss") != self.service_app_client_id or unverified.get("sub") != unverified.get("iss"):
            raise OAuthError(401, "invalid_client", "Invalid value for 'client_id' parameter.")
        if header.get("kid") not in (None, self.service_app_kid):
            raise OAuthError(401, "invalid_client", "The client_assertion token has a 'kid' that does not match "
                             "any registered key.")
        audience = f"{request.url.scheme}://{request.url.netloc}/oauth2/v1/token"
        try:
            claims = jwt.decode(assertion, self.service_app_public_key, algorithms=["ES256"],
                                audience=audience, options={"require": ["exp", "iss", "sub", "aud"]}, leeway=30)
        except jwt.InvalidSignatureError:
            raise OAuthError(401, "invalid_client", "The client_assertion signature is invalid.") from None
        except jwt.ExpiredSignatureError:
            raise OAuthError(401, "invalid_client", "The client_assertion token is expired.") from None
        except jwt.InvalidAudienceError:
            raise OAuthError(401, "invalid_client", f"The audience claim must be {audience}.") from None
        except jwt.PyJWTError as exc:
            raise OAuthError(401, "invalid_client", f"The client_assertion token is invalid: {exc}.") from None
        if claims["exp"] - time.time() > 3600 + 30:
            raise OAuthError(401, "invalid_client", "The client_assertion token has an expiration too far in the future.")
        jti = claims.get("jti")
        if jti:
            if jti in self._used_jti:
                raise OAuthError(401, "invalid_client", "The client_assertion token has already been used.")
            self._used_jti.add(jti)
        if self.require_dpop and not request.headers.get("dpop"):
            raise OAuthError(400, "invalid_dpop_proof", "The DPoP proof JWT header is missing.")
        requested = str(form.get("scope") or "").split()
        if not requested:
            raise OAuthError(400, "invalid_scope", "The authorization server resource does not have any configured "
                             "default scopes, 'scope' must be provided.")
        missing = [s for s in requested if s not in self.granted_scopes]
        if missing:
            raise OAuthError(400, "invalid_scope", "One or more scopes are not configured for the authorization "
                             f"server resource: {' '.join(missing)}")
        access = "sbx." + secrets.token_urlsafe(32)
        self.tokens[access] = (time.time() + self.token_ttl, frozenset(requested))
        return JSONResponse({"token_type": "Bearer", "expires_in": self.token_ttl, "access_token": access,
                             "scope": " ".join(requested)}, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # --- sandbox admin -----------------------------------------------------------------------------------------
    async def admin_add_psso_app(self, request: Request) -> Response:
        body: dict[str, Any] = {}
        if await request.body():
            body = await request.json()
        app = self.add_app(str(body.get("label") or PSSO_LABEL), status=str(body.get("status") or "ACTIVE"))
        return JSONResponse(app, status_code=201)

    async def admin_settings(self, request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            if "pipeline" in body:
                self.pipeline = str(body["pipeline"])
            if "authenticator_status" in body:
                self.authenticator_status = str(body["authenticator_status"])
            if "user_verification" in body:
                self.user_verification = str(body["user_verification"])
            if "aasa_apps" in body:
                self.aasa_apps = [str(a) for a in body["aasa_apps"]]
            if "custom_domain" in body:
                self.custom_domain = body["custom_domain"] or None
            if "token_read_only" in body:
                self.token_read_only = bool(body["token_read_only"])
            if "require_dpop" in body:
                self.require_dpop = bool(body["require_dpop"])
            if "granted_scopes" in body:
                self.granted_scopes = set(body["granted_scopes"])
            if "token_ttl" in body:
                self.token_ttl = int(body["token_ttl"])
            if "rate_limits" in body:
                self.rate_limits.update({k: int(v) for k, v in body["rate_limits"].items()})
                self._buckets.clear()
        return JSONResponse(self.settings())

    def settings(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "authenticator_status": self.authenticator_status,
                "user_verification": self.user_verification, "aasa_apps": self.aasa_apps,
                "custom_domain": self.custom_domain, "token_read_only": self.token_read_only,
                "require_dpop": self.require_dpop, "granted_scopes": sorted(self.granted_scopes),
                "token_ttl": self.token_ttl, "rate_limits": self.rate_limits,
                "service_app_client_id": self.service_app_client_id,
                "service_app_key_path": str(self.service_app_key_path)}

    def snapshot(self) -> dict[str, Any]:
        apps = [{"id": a["id"], "label": a["label"], "status": a["status"], "signOnMode": a["signOnMode"],
                 "client_id": a.get("credentials", {}).get("oauthClient", {}).get("client_id")}
                for a in self.apps.values()]
        assignments = [{"app_id": app_id, "group_id": gid, "group_name": self.groups[gid]["profile"]["name"],
                        "priority": a["priority"]}
                       for app_id, per_app in self.assignments.items() for gid, a in per_app.items()]
        return {"apps": apps, "group_assignments": assignments}
