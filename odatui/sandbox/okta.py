"""Okta emulator: the slice of the Okta Management API odatui uses, in Okta's shapes (Okta management OpenAPI,
https://developer.okta.com/docs/api/openapi/okta-management/; docs/SANDBOX.md says what else each behaviour rests on).

Auth is an SSWS API token (the demo token) or a Bearer token from `/oauth2/v1/token`, which a service app gets with
`private_key_jwt`: the sandbox makes the service app's key pair (EC P-256 or RSA 2048,
`SandboxOptions.service_app_key`) at start and writes the private key to `<data_dir>/okta-service-app.pem`. With DPoP
required (`SandboxOptions.dpop`, or `require_dpop` in the settings) tokens are DPoP-bound and every proof is checked
(RFC 9449; see dpop.py). Every response carries `X-Rate-Limit-*` from a per-minute bucket per route class. Errors use
Okta's body (`errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`) and real codes. Admin-only switches
(Classic pipeline, authenticator status, read-only token, DPoP, scopes, limits) live under `/_sandbox/okta/…` so tests
can put the org into each state a real tenant can be in.
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

from odatui.sandbox.okta_directory import AUTHSRV_APPS
from odatui.sandbox.server import OKTA_GROUPS, OKTA_TOKEN

PSSO_LABEL = "Platform Single Sign-On for macOS"
FORMER_PSSO_LABEL = "Desktop Password Sync"
ALL_SCOPES = ("okta.apps.read", "okta.apps.manage", "okta.groups.read", "okta.users.read", "okta.authenticators.read",
              "okta.devices.read")
# Requests per minute per route class; close to Okta's defaults for a small org.
DEFAULT_LIMITS = {"apps": 100, "groups": 500, "authenticators": 100, "users": 600, "token": 600, "org": 1000,
                  "devices": 500}  # devices: unverified
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALNUM = string.ascii_letters + string.digits
OTHER_APPS = (
    "Slack", "Zoom", "Salesforce", "Workday", "GitHub Enterprise", "Atlassian Cloud", "Box", "Dropbox Business",
    "Google Workspace", "Microsoft Office 365", "ServiceNow", "Zendesk", "DocuSign", "Adobe Creative Cloud",
    "AWS IAM Identity Center", "Figma", "Miro", "Notion", "Asana", "Tableau", "Concur", "Greenhouse", "Lucidchart",
    "PagerDuty", "Datadog", "1Password", "Jamf Pro", "Workspace ONE Access", "Platform Status Page", "Expensify",
)
_FILTER_TERM = re.compile(r'^\s*([A-Za-z_.]+)\s+(eq|sw)\s+"((?:[^"\\]|\\.)*)"\s*$')  # \" escapes a quote


# Okta's Application signOnMode values (management spec `ApplicationSignOnMode`), the subset the sandbox can add.
# Non-OIDC apps get the bookmark-style body below with their own signOnMode (their other fields: unverified).
_SIGN_ON_MODES = ("OPENID_CONNECT", "SAML_2_0", "BOOKMARK")


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
    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
        self.headers = headers or {}


def _not_found(what: str, kind: str) -> OktaError:
    return OktaError(404, "E0000007", f"Not found: Resource not found: {what} ({kind})")


class OktaEmulator:
    def __init__(self, options: Any, world: Any) -> None:
        self.options = options
        self.world = world
        self.rng = random.Random(f"okta-{getattr(options, 'seed', 0)}")
        self.base_url = world.base_url
        self._id("00o")  # drawn as before, so every later seeded id (apps, groups, users) stays the same
        # The org's identity. Okta: "id: Org unique identifier" of GET /.well-known/okta-organization
        # (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/OrgSettingMetadata/). One per
        # sandbox instance (World.instance_id, kept in its data dir): a restart on the same data dir is the same
        # org (restored), a fresh sandbox is a new org, as two Okta orgs never share an id.
        instance = random.Random(f"okta-org-{getattr(world, 'instance_id', '')}")
        self.org_id = "00o" + "".join(instance.choice(ALNUM) for _ in range(17))
        self.okta_verify_app_id = self._id("0oa")
        # Switchable org facts (see /_sandbox/okta/settings).
        self.pipeline = "idx"
        self.custom_domain: str | None = getattr(options, "custom_domain", None)
        self.authenticator_status = "ACTIVE"
        self.user_verification = "PREFERRED"  # Okta Verify authenticator settings.userVerification
        self.aasa_apps: list[str] = list(AUTHSRV_APPS)  # settable, so the sandbox can disagree with odatui
        self.token_read_only = False  # SSWS token of a read-only admin: writes get E0000006
        self.require_dpop = getattr(options, "dpop", "off") == "required"
        self.dpop_nonce = secrets.token_urlsafe(16)  # what the token endpoint wants in a proof (RFC 9449 §8)
        self._dpop_jti: set[str] = set()
        self.token_jkt: dict[str, str] = {}  # DPoP-bound access token → thumbprint of its key
        self.clock_skew = 0.0  # seconds Okta's clock is ahead of the client's (a Mac with a wrong clock)
        # Resource calls demand a nonce in the proof too (RFC 9449 §9 allows it; whether Okta's management API does
        # is unverified: its official SDK handles the challenge on API calls, okta/request_executor.py).
        self.resource_nonce = False
        self.granted_scopes: set[str] = set(ALL_SCOPES)
        self.token_ttl = 3600
        self.rate_limits = dict(DEFAULT_LIMITS)
        self._buckets: dict[str, list[int]] = {}  # class → [window start, count]
        # Concurrent limit: 75 transactions in flight per org for API traffic
        # (https://developer.okta.com/docs/reference/rl-additional-limits/). `busy_in_flight` stands for other
        # tools' requests in flight at the same time, which the sandbox cannot otherwise produce.
        self.concurrency_limit = 75
        self.busy_in_flight = 0
        self._in_flight = 0
        self.tokens: dict[str, tuple[float, frozenset[str]]] = {}
        self._used_jti: set[str] = set()

        self.groups: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.apps: dict[str, dict[str, Any]] = {}
        self.assignments: dict[str, dict[str, dict[str, Any]]] = {}
        self.devices: dict[str, dict[str, Any]] = {}
        self.device_users: dict[str, str | None] = {}
        self.fleet_owners: dict[str, Any] = {}  # Okta device id → the WS1 fleet Mac it is (okta_directory.fleet_device)
        self.started = time.time()
        self.aasa_authsrv = True
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
        federated["passwordChanged"] = None
        invited = self.users[self.members[pilot["id"]][4]]
        invited.update(status="PROVISIONED", activated=None)  # never activated (User: activated is nullable)
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
            # The PSSO app's catalog `name` is unverified; odatui matches on label and
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
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        self.service_app_key_type = getattr(self.options, "service_app_key", "ec")
        if self.service_app_key_type == "rsa":
            # What the Admin Console generates by default for "Public key / Private key" client authentication
            # (RSA 2048, RS256): https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/
            key: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.service_app_algorithms = ["RS256"]
        else:
            # P-256 (ES256): Okta accepts it for private_key_jwt, and it is made in a millisecond (start-up < 1 s).
            key = ec.generate_private_key(ec.SECP256R1())
            self.service_app_algorithms = ["ES256"]
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
            self._in_flight += 1
            try:
                if self._in_flight + self.busy_in_flight > self.concurrency_limit:
                    # A concurrent-limit 429 reports 0 and 0 in the first two headers and a suggested reset
                    # (https://developer.okta.com/docs/reference/rl2-monitor/); the body is the usual E0000047.
                    limit, remaining, reset = 0, 0, int(time.time()) + 1
                    raise OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests.")
                if over:
                    raise OktaError(429, "E0000047", "API call exceeded rate limit due to too many requests.")
                if auth:
                    self._authorize(request, write if request.method in ("POST", "PUT", "DELETE") else read)
                response = await handler(request)
            except OktaError as err:
                response = self._error(err)
            except OAuthError as err:
                response = JSONResponse({"error": err.error, "error_description": err.description},
                                        status_code=err.status, headers=err.headers)
            finally:
                self._in_flight -= 1
            response.headers["X-Rate-Limit-Limit"] = str(limit)
            response.headers["X-Rate-Limit-Remaining"] = str(remaining)
            response.headers["X-Rate-Limit-Reset"] = str(reset)
            return response

        return Route(path, endpoint, methods=methods)

    def _authorize(self, request: Request, scope: str | None) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.startswith("SSWS") and len(scheme) > 4 and not credential:
            # Okta's own Python SDK 3.x sends `SSWS<token>` with no space (okta/configuration.py auth_settings:
            # `self.authorization_mode + self.access_token`) and its calls work against real orgs, so Okta accepts it
            # (field source: okta-sdk-python 3.x as shipped on PyPI; the header grammar Okta documents has the space).
            scheme, credential = "SSWS", scheme[4:]
        invalid = OktaError(401, "E0000011", "Invalid token provided")
        if scheme == "SSWS":
            if not secrets.compare_digest(credential.strip(), OKTA_TOKEN):
                raise invalid
            if self.token_read_only and scope and scope.endswith(".manage"):
                raise OktaError(403, "E0000006", "You do not have permission to perform the requested action")
            return
        if scheme in ("Bearer", "DPoP"):
            token = credential.strip()
            entry = self.tokens.get(token)
            if entry is None or entry[0] < time.time():
                raise OktaError(401, "E0000011", "Invalid token provided",
                                headers={"WWW-Authenticate": f'{scheme} error="invalid_token", '
                                         'error_description="The token is not valid."'})
            bound = self.token_jkt.get(token)
            if bound is not None or scheme == "DPoP":
                self._check_resource_proof(request, token, scheme, bound)
            if scope and scope not in entry[1]:
                raise OktaError(403, "E0000006", "You do not have permission to perform the requested action",
                                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", error_description='
                                         '"The access token provided does not contain the required scopes.", '
                                         f'resource="{request.url.path}"'})
            return
        raise invalid

    def _check_resource_proof(self, request: Request, token: str, scheme: str, bound: str | None) -> None:
        """A DPoP-bound token needs scheme DPoP and a proof by the bound key carrying the token's hash; a Bearer token
        is not accepted under scheme DPoP (RFC 9449 §7.1, §7.2)."""
        from odatui.sandbox.dpop import ProofError, verify

        def refuse(description: str) -> OktaError:
            return OktaError(401, "E0000011", "Invalid token provided", headers={
                "WWW-Authenticate": f'DPoP algs="ES256 RS256", error="invalid_dpop_proof", '
                                    f'error_description="{description}"'})

        if bound is None:
            raise refuse("The access token is not DPoP-bound.")
        if scheme != "DPoP":
            raise refuse("A DPoP-bound access token must be sent with the DPoP authorization scheme.")
        try:
            jkt = verify(request.headers.get("dpop"), method=request.method, url=str(request.url),
                         seen_jti=self._dpop_jti, access_token=token, now=time.time() + self.clock_skew,
                         nonce=self.dpop_nonce if self.resource_nonce else None)
        except ProofError as err:
            if err.nonce:
                raise OktaError(401, "E0000011", "Invalid token provided", headers={
                    "WWW-Authenticate": 'DPoP error="use_dpop_nonce", '
                                        'error_description="Resource server requires nonce in DPoP proof"',
                    "DPoP-Nonce": self.dpop_nonce}) from None
            raise refuse(err.description) from None
        if jkt != bound:
            raise refuse("The DPoP proof was not signed by the key the access token is bound to.")

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
            r("/api/v1/apps/{app_id}/lifecycle/activate", self.activate_app, ["POST"], "apps", "okta.apps.read",
              "okta.apps.manage"),
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

    async def activate_app(self, request: Request) -> Response:
        # Okta Management API activateApplication: 200 and an empty JSON object; activating an ACTIVE app is a
        # no-op (developer.okta.com/docs/api/openapi/okta-management/management/tag/ApplicationLifecycle/,
        # operation activateApplication).
        app = self._app(request.path_params["app_id"])
        app["status"] = "ACTIVE"
        app["lastUpdated"] = _now_iso()
        return JSONResponse({})

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
            # Okta's edge refuses a PUT with neither a body nor Content-Length (field: body-less assign-group PUTs
            # failing, okta/okta-sdk-php#133 and okta/okta-sdk-java#450; the 411 page itself is unverified).
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
            # `q` matches name prefixes and cannot be paged (Okta management OpenAPI, listGroups `q`).
            ql = params["q"].lower()
            found = [g for g in groups if g["profile"]["name"].lower().startswith(ql)]
            return JSONResponse(found[: min(int(params.get("limit", 300) or 300), 300)])
        if params.get("search"):
            groups = self._filter(groups, params["search"], {
                "profile.name": lambda g: g["profile"]["name"], "type": lambda g: g["type"], "id": lambda g: g["id"]})
        return self._page(request, groups, default=200, cap=10000)

    async def list_group_users(self, request: Request) -> Response:
        group_id = request.path_params["group_id"]
        if group_id not in self.groups:
            raise _not_found(group_id, "UserGroup")
        users = [self.users[uid] for uid in self.members[group_id]]
        # Collections of users carry only the `self` link (spec: Users API, "Links object").
        items = [{**u, "_links": {"self": u["_links"]["self"]}} for u in users]
        return self._page(request, items, default=1000, cap=1000)

    def _fleet_devices(self) -> list[dict[str, Any]]:
        """Macs of the WS1 fleet that finished Okta Verify registration: the fleet's registered share of those
        with the profile installed (cached per fleet listing state, as the WS1 emulator's listings are)."""
        from odatui.sandbox.okta_directory import fleet_device

        ws1 = self.world.emulators.get("ws1")
        if ws1 is None:
            return []

        def build() -> list[dict[str, Any]]:
            installed = {d.id for p in ws1.profiles.values() for d in ws1._profile_devices(p)
                         if ws1.fleet.installed(d, "profile", p["assigned_at"])}
            return [fleet_device(self, d) for d in ws1.fleet.devices if d.okta_registered and d.id in installed]

        return ws1._listing(("okta-devices",), build)

    async def list_devices(self, request: Request) -> Response:
        # Devices registered by hand (admin route `registered_macs`) and the fleet's registered Macs.
        devices = list(self.devices.values()) + self._fleet_devices()
        expr = request.query_params.get("search")
        if expr:
            devices = self._filter(devices, expr, {
                "profile.platform": lambda d: d["profile"]["platform"], "status": lambda d: d["status"],
                "id": lambda d: d["id"], "profile.displayName": lambda d: d["profile"]["displayName"]})
        expand = request.query_params.get("expand")
        if expand in ("user", "userSummary"):
            from odatui.sandbox.okta_directory import fleet_user

            out = []
            for device in devices:
                uid = self.device_users.get(device["id"])
                user = self.users[uid] if uid else fleet_user(self, device)
                users = []
                if user is not None:
                    summary = {"id": user["id"], "profile": {k: user["profile"][k] for k in
                                                             ("login", "firstName", "lastName")}}
                    users.append({"created": device["created"], "managementStatus": "NOT_MANAGED",
                                  "screenLockType": "BIOMETRIC",
                                  "user": {**user, "_links": {"self": user["_links"]["self"]}}
                                  if expand == "user" else summary})
                out.append({**device, "_embedded": {"users": users}})
            devices = out
        return self._page(request, devices, default=200, cap=200)

    async def aasa(self, request: Request) -> Response:
        from odatui.sandbox.okta_directory import aasa_body

        return JSONResponse(aasa_body(self))

    async def users_me(self, request: Request) -> Response:
        if request.headers.get("authorization", "").startswith(("Bearer ", "DPoP ")):
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
            claims = jwt.decode(assertion, self.service_app_public_key, algorithms=self.service_app_algorithms,
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
        jkt = None
        if self.require_dpop:
            # Checked before the assertion's jti is spent: a client retrying with a nonce signs a new assertion
            # anyway, but Okta's own SDK (okta/oauth.py) may not, and real Okta serves it.
            from odatui.sandbox.dpop import ProofError, verify

            try:
                jkt = verify(request.headers.get("dpop"), method="POST", url=audience, seen_jti=self._dpop_jti,
                             nonce=self.dpop_nonce, now=time.time() + self.clock_skew)
            except ProofError as err:
                if err.nonce:
                    raise OAuthError(400, "use_dpop_nonce", err.description,
                                     headers={"DPoP-Nonce": self.dpop_nonce}) from None
                raise OAuthError(400, "invalid_dpop_proof", err.description) from None
        # Unverified: a proof sent to an app that does not require DPoP is ignored and a Bearer token issued (RFC 9449
        # §5 lets a server that does not bind tokens do so).
        jti = claims.get("jti")
        if jti:
            if jti in self._used_jti:
                raise OAuthError(401, "invalid_client", "The client_assertion token has already been used.")
            self._used_jti.add(jti)
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
        if jkt is not None:
            self.token_jkt[access] = jkt
        return JSONResponse({"token_type": "DPoP" if jkt else "Bearer", "expires_in": self.token_ttl,
                             "access_token": access,
                             "scope": " ".join(requested)}, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # --- sandbox admin -----------------------------------------------------------------------------------------
    async def admin_add_psso_app(self, request: Request) -> Response:
        """Add the PSSO app as the admin would; `{"status": "INACTIVE"}` or `{"signOnMode": "SAML_2_0"}` adds it in
        that state (an app deactivated in the console, or a same-named app of another kind)."""
        try:
            body = await self._json_body(request)
        except OktaError as err:
            return self._error(err)
        status = str(body.get("status") or "ACTIVE")
        mode = str(body.get("signOnMode") or "OPENID_CONNECT")
        if status not in ("ACTIVE", "INACTIVE"):
            return JSONResponse({"error": "status must be ACTIVE or INACTIVE"}, status_code=400)
        if mode not in _SIGN_ON_MODES:
            return JSONResponse({"error": f"signOnMode must be one of {', '.join(_SIGN_ON_MODES)}"}, status_code=400)
        app = self.add_app(str(body.get("label") or PSSO_LABEL), status=status, sign_on_mode=mode)
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
            if "group_members" in body:
                from odatui.sandbox.okta_directory import add_members

                for name, count in dict(body["group_members"]).items():
                    add_members(self, str(name), int(count))
            if "registered_macs" in body:
                from odatui.sandbox.okta_directory import add_devices

                add_devices(self, int(body["registered_macs"]))
            if "aasa_authsrv" in body:
                self.aasa_authsrv = bool(body["aasa_authsrv"])
            if "busy_in_flight" in body:
                self.busy_in_flight = int(body["busy_in_flight"])
            if "concurrency_limit" in body:
                self.concurrency_limit = int(body["concurrency_limit"])
            if "resource_nonce" in body:
                self.resource_nonce = bool(body["resource_nonce"])
            if "clock_skew_seconds" in body:
                self.clock_skew = float(body["clock_skew_seconds"])
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
                "service_app_key_type": self.service_app_key_type,
                "service_app_key_path": str(self.service_app_key_path)}

    def snapshot(self) -> dict[str, Any]:
        apps = [{"id": a["id"], "label": a["label"], "status": a["status"], "signOnMode": a["signOnMode"],
                 "client_id": a.get("credentials", {}).get("oauthClient", {}).get("client_id")}
                for a in self.apps.values()]
        assignments = [{"app_id": app_id, "group_id": gid, "group_name": self.groups[gid]["profile"]["name"],
                        "priority": a["priority"]}
                       for app_id, per_app in self.assignments.items() for gid, a in per_app.items()]
        return {"apps": apps, "group_assignments": assignments}
