"""The Okta emulator's org-level reads: org metadata, authenticators, groups and their users, registered
devices, the apple-app-site-association and /users/me (Okta management OpenAPI)."""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odatui.sandbox.okta_base import OktaState
from odatui.sandbox.okta_common import OktaError, now_iso, not_found
from odatui.sandbox.okta_directory import aasa_body, fleet_device, fleet_user


class OktaOrg:
    """Org-level reads: metadata, authenticators, groups and members, registered Macs, AASA, /users/me."""

    def __init__(self, okta: OktaState) -> None:
        self.okta = okta

    async def org_metadata(self, request: Request) -> Response:
        links: dict[str, Any] = {"organization": {"href": self.okta.base_url}}
        if self.okta.custom_domain:
            links["alternate"] = {"href": f"https://{self.okta.custom_domain}"}
        return JSONResponse({"id": self.okta.org_id, "pipeline": self.okta.pipeline, "_links": links})

    async def list_authenticators(self, request: Request) -> Response:
        if self.okta.pipeline != "idx":
            # Authenticators are an Identity Engine API; a Classic org answers as for an unlicensed feature.
            raise OktaError(401, "E0000015", "You do not have permission to access the feature you are requesting")
        items = []
        for key, name, kind, status in (("okta_email", "Email", "email", "ACTIVE"),
                                        ("okta_password", "Password", "password", "ACTIVE"),
                                        ("okta_verify", "Okta Verify", "app", self.okta.authenticator_status)):
            aid = "aut" + key.replace("_", "")[:17].ljust(17, "0")
            item: dict[str, Any] = {
                "id": aid, "key": key, "name": name, "type": kind, "status": status,
                "created": now_iso(time.time() - 86400 * 400), "lastUpdated": now_iso(time.time() - 86400 * 10),
                "_links": {"self": {"href": f"{self.okta.base_url}/api/v1/authenticators/{aid}"}},
            }
            if key == "okta_verify":
                item["settings"] = {"channelBinding": {"style": "NUMBER_CHALLENGE", "required": "HIGH_RISK_ONLY"},
                                    "userVerification": self.okta.user_verification, "appInstanceId": self.okta.okta_verify_app_id}
            items.append(item)
        return JSONResponse(items)

    async def list_groups(self, request: Request) -> Response:
        groups = list(self.okta.groups.values())
        params = request.query_params
        if params.get("q"):
            # `q` matches name prefixes and cannot be paged (Okta management OpenAPI, listGroups `q`).
            ql = params["q"].lower()
            found = [g for g in groups if g["profile"]["name"].lower().startswith(ql)]
            return JSONResponse(found[: min(int(params.get("limit", 300) or 300), 300)])
        if params.get("search"):
            groups = self.okta._filter(groups, params["search"], {
                "profile.name": lambda g: g["profile"]["name"], "type": lambda g: g["type"], "id": lambda g: g["id"]})
        return self.okta._page(request, groups, default=200, cap=10000)

    async def list_group_users(self, request: Request) -> Response:
        group_id = request.path_params["group_id"]
        if group_id not in self.okta.groups:
            raise not_found(group_id, "UserGroup")
        users = [self.okta.users[uid] for uid in self.okta.members[group_id]]
        # Collections of users carry only the `self` link (spec: Users API, "Links object").
        items = [{**u, "_links": {"self": u["_links"]["self"]}} for u in users]
        return self.okta._page(request, items, default=1000, cap=1000)

    def _fleet_devices(self) -> list[dict[str, Any]]:
        """Macs of the WS1 fleet that finished Okta Verify registration: the fleet's registered share of those
        with the profile installed (cached per fleet listing state, as the WS1 emulator's listings are)."""
        ws1 = self.okta.world.emulators.get("ws1")
        if ws1 is None:
            return []

        def build() -> list[dict[str, Any]]:
            # Registered: the profile installed after Okta Verify, on Apple silicon (odatui.sandbox.fleet.registers).
            first = {}
            for p in ws1.profiles.values():
                for d in ws1.profile_routes._profile_devices(p):
                    at = ws1.profile_at(p, d)
                    if at is not None and (d.id not in first or at < first[d.id][1]):
                        first[d.id] = (d, at)
            # Platform SSO 2.0 registration needs Okta's Device Access certificate on the Mac (Okta, "Device Access
            # SCEP certificates": required on macOS 14 and later): when a WS1 CA issues it (a native SCEP
            # profile exists), a Mac without that profile installed cannot register; the SSO profile (the one
            # without the native SCEP payload) is the one whose timing counts.
            cert_profiles = [p for p in ws1.profiles.values() if ws1.cas.issuers(p)]
            if cert_profiles:
                certified = {d.id for p in cert_profiles for d in ws1.profile_routes._profile_devices(p) if ws1.profile_installed(p, d)}
                first = {}
                for p in ws1.profiles.values():
                    if p in cert_profiles:
                        continue
                    for d in ws1.profile_routes._profile_devices(p):
                        at = ws1.profile_at(p, d)
                        if d.id in certified and at is not None and (d.id not in first or at < first[d.id][1]):
                            first[d.id] = (d, at)
            return [fleet_device(self.okta, d) for d in ws1.fleet.devices
                    if d.id in first and ws1.fleet.registers(d, ws1.app_at(d), first[d.id][1])]

        return ws1._listing(("okta-devices",), build)

    async def list_devices(self, request: Request) -> Response:
        # Devices registered by hand (admin route `registered_macs`) and the fleet's registered Macs.
        devices = list(self.okta.devices.values()) + self._fleet_devices()
        expr = request.query_params.get("search")
        if expr:
            devices = self.okta._filter(devices, expr, {
                "profile.platform": lambda d: d["profile"]["platform"], "status": lambda d: d["status"],
                "id": lambda d: d["id"], "profile.displayName": lambda d: d["profile"]["displayName"]})
        expand = request.query_params.get("expand")
        if expand in ("user", "userSummary"):
            out = []
            for device in devices:
                uid = self.okta.device_users.get(device["id"])
                user = self.okta.users[uid] if uid else fleet_user(self.okta, device)
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
        return self.okta._page(request, devices, default=200, cap=200)

    async def aasa(self, request: Request) -> Response:
        return JSONResponse(aasa_body(self.okta))

    async def users_me(self, request: Request) -> Response:
        if request.headers.get("authorization", "").startswith(("Bearer ", "DPoP ")):
            # A service app's token has no user behind it.
            raise not_found("me", "User")
        return JSONResponse(self.okta.admin)
