"""The Okta emulator's seed data."""

from __future__ import annotations

import time
from typing import Any

from odatui.sandbox.credentials import OKTA_GROUPS
from odatui.sandbox.okta_base import OktaState
from odatui.sandbox.okta_common import OTHER_APPS, PSSO_LABEL, now_iso


class OktaSeed:
    """The demo org the sandbox starts with: an admin, pilot users (one federated, one never activated), groups,
    a few other apps and (unless absent) the PSSO app, added as the Admin Console would."""

    def __init__(self, okta: OktaState) -> None:
        self.okta = okta

    def _seed(self) -> None:
        t0 = time.time() - 86400 * 90
        self.okta.admin = self._add_user("admin@acme.example", "Ada", "Admin", t0)
        for name in ("Everyone", *[g for g in OKTA_GROUPS if g != "Everyone"], "Mac Pilot Wave 2", "Engineering"):
            self._add_group(name, t0)
        everyone = self.group_by_name("Everyone")
        pilot = self.group_by_name("Mac Pilot")
        for i, (first, last) in enumerate((("Grace", "Hopper"), ("Alan", "Turing"), ("Katherine", "Johnson"),
                                           ("Dorothy", "Vaughan"), ("Edsger", "Dijkstra"))):
            user = self._add_user(f"{first.lower()}.{last.lower()}@acme.example", first, last, t0 + i)
            self.okta.members[pilot["id"]].append(user["id"])
        # Field failures the readiness check must find in the demo group: a federated user has no Okta password
        # (credentials without `password`, as listed for users that sign in through an IdP), and an invited user
        # who never activated is PROVISIONED (https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/)
        federated = self.okta.users[self.okta.members[pilot["id"]][3]]
        federated["credentials"] = {"provider": {"type": "FEDERATION", "name": "FEDERATION"}}
        federated["passwordChanged"] = None
        invited = self.okta.users[self.okta.members[pilot["id"]][4]]
        invited.update(status="PROVISIONED", activated=None)  # never activated (User: activated is nullable)
        self.okta.members[everyone["id"]] = list(self.okta.users)
        for i, label in enumerate(OTHER_APPS):
            kind = "OPENID_CONNECT" if i % 3 else "BOOKMARK"
            self.add_app(label, sign_on_mode=kind, created=t0 + 3600 * i)
        if getattr(self.okta.options, "psso_app", "present") == "present":
            self.add_app(PSSO_LABEL, created=t0 + 86400 * 30)

    def _add_user(self, login: str, first: str, last: str, t: float) -> dict[str, Any]:
        uid = self.okta._id("00u")
        user = {
            "id": uid, "status": "ACTIVE", "created": now_iso(t), "activated": now_iso(t),
            "statusChanged": now_iso(t), "lastLogin": now_iso(), "lastUpdated": now_iso(t),
            "passwordChanged": now_iso(t), "type": {"id": "oty1sandboxusertype0"},
            "profile": {"login": login, "email": login, "firstName": first, "lastName": last},
            "credentials": {"password": {}, "provider": {"type": "OKTA", "name": "OKTA"}},
            "_links": {"self": {"href": f"{self.okta.base_url}/api/v1/users/{uid}"}},
        }
        self.okta.users[uid] = user
        return user

    def _add_group(self, name: str, t: float) -> dict[str, Any]:
        gid = self.okta._id("00g")
        group = {
            "id": gid, "created": now_iso(t), "lastUpdated": now_iso(t), "lastMembershipUpdated": now_iso(t),
            "objectClass": ["okta:user_group"], "type": "BUILT_IN" if name == "Everyone" else "OKTA_GROUP",
            "profile": {"name": name, "description": "All users in your organization" if name == "Everyone" else ""},
            "_links": {"users": {"href": f"{self.okta.base_url}/api/v1/groups/{gid}/users"},
                       "apps": {"href": f"{self.okta.base_url}/api/v1/groups/{gid}/apps"}},
        }
        self.okta.groups[gid] = group
        self.okta.members[gid] = []
        return group

    def group_by_name(self, name: str) -> dict[str, Any]:
        return next(g for g in self.okta.groups.values() if g["profile"]["name"] == name)

    def add_app(self, label: str, *, sign_on_mode: str = "OPENID_CONNECT", status: str = "ACTIVE",
                created: float | None = None) -> dict[str, Any]:
        """Add an app as the Admin Console would (the PSSO app comes from the catalog this way)."""
        app_id = self.okta._id("0oa")
        ts = now_iso(created)
        links = {
            "self": {"href": f"{self.okta.base_url}/api/v1/apps/{app_id}"},
            "groups": {"href": f"{self.okta.base_url}/api/v1/apps/{app_id}/groups"},
            "users": {"href": f"{self.okta.base_url}/api/v1/apps/{app_id}/users"},
            "deactivate": {"href": f"{self.okta.base_url}/api/v1/apps/{app_id}/lifecycle/deactivate"},
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
        self.okta.apps[app_id] = app
        self.okta.assignments[app_id] = {}
        return app
