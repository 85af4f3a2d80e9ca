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

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from odatui.sandbox.okta_apps import OktaApps
from odatui.sandbox.okta_auth import OktaAuth
from odatui.sandbox.okta_common import PSSO_LABEL, SIGN_ON_MODES, OktaError
from odatui.sandbox.okta_directory import add_devices, add_members
from odatui.sandbox.okta_logs import OktaLogs
from odatui.sandbox.okta_org import OktaOrg
from odatui.sandbox.okta_base import OktaState
from odatui.sandbox.okta_seed import OktaSeed


class OktaEmulator(OktaState):
    """The whole emulator: the org's state and plumbing (okta_base), and one router per resource over it: seed
    (okta_seed), auth (okta_auth), apps (okta_apps), org-level reads (okta_org), the System Log (okta_logs); here the
    route table and the sandbox admin switches."""

    def __init__(self, options: Any, world: Any) -> None:
        super().__init__(options, world)
        self.seeding = OktaSeed(self)
        self.auth = OktaAuth(self)
        self.app_routes = OktaApps(self)
        self.org_routes = OktaOrg(self)
        self.log_routes = OktaLogs(self, self.seeding, self.org_routes)
        self.authorize = self.auth._authorize
        self.seeding._seed()
        self.auth._make_service_app()

    # --- routes ------------------------------------------------------------------------------------------------
    def routes(self) -> list[Route]:
        r = self._route
        return [
            r("/.well-known/okta-organization", self.org_routes.org_metadata, ["GET"], "org", None, auth=False),
            r("/api/v1/authenticators", self.org_routes.list_authenticators, ["GET"], "authenticators", "okta.authenticators.read"),
            r("/api/v1/apps", self.app_routes.list_apps, ["GET"], "apps", "okta.apps.read"),
            r("/api/v1/apps/{app_id}", self.app_routes.get_app, ["GET"], "apps", "okta.apps.read"),
            r("/api/v1/apps/{app_id}/groups", self.app_routes.list_app_groups, ["GET"], "apps", "okta.apps.read"),
            r("/api/v1/apps/{app_id}/lifecycle/activate", self.app_routes.activate_app, ["POST"], "apps", "okta.apps.read",
              "okta.apps.manage"),
            r("/api/v1/apps/{app_id}/groups/{group_id}", self.app_routes.app_group, ["GET", "PUT", "DELETE"], "apps",
              "okta.apps.read", "okta.apps.manage"),
            r("/api/v1/apps/{app_id}/users", self.app_routes.list_app_users, ["GET"], "apps", "okta.apps.read"),
            r("/api/v1/groups", self.org_routes.list_groups, ["GET"], "groups", "okta.groups.read"),
            r("/api/v1/groups/{group_id}/users", self.org_routes.list_group_users, ["GET"], "groups", "okta.groups.read"),
            r("/api/v1/devices", self.org_routes.list_devices, ["GET"], "devices", "okta.devices.read"),
            r("/api/v1/logs", self.log_routes.list_logs, ["GET"], "logs", "okta.logs.read"),
            r("/.well-known/apple-app-site-association", self.org_routes.aasa, ["GET"], "org", None, auth=False),
            r("/api/v1/users/me", self.org_routes.users_me, ["GET"], "users", "okta.users.read"),
            r("/oauth2/v1/token", self.auth.token, ["POST"], "token", None, auth=False),
        ]

    def admin_routes(self) -> list[Route]:
        return [
            Route("/_sandbox/okta/psso-app", self.admin_add_psso_app, methods=["POST"]),
            Route("/_sandbox/okta/settings", self.admin_settings, methods=["GET", "POST"]),
        ]

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
        if mode not in SIGN_ON_MODES:
            return JSONResponse({"error": f"signOnMode must be one of {', '.join(SIGN_ON_MODES)}"}, status_code=400)
        app = self.seeding.add_app(str(body.get("label") or PSSO_LABEL), status=status, sign_on_mode=mode)
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
                for name, count in dict(body["group_members"]).items():
                    add_members(self, str(name), int(count))
            if "registered_macs" in body:
                add_devices(self, int(body["registered_macs"]))
            if "dps_enrollments" in body:  # {"group": name, "count": n}: those users register Password Sync
                self.log_routes.add_dps_enrollments(str(body["dps_enrollments"]["group"]), int(body["dps_enrollments"]["count"]))
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

