"""The Okta emulator's directory beyond the seed: users in every lifecycle status (and some without a password),
groups with many members (paged), devices registered through Okta Verify (Devices API), and the org's
apple-app-site-association. Shapes follow Okta's management OpenAPI (management-minimal.yaml: User, DeviceList,
PublicAppleAppSiteWellKnownURI); mixes and proportions are the sandbox's own choice (unverified, just varied)."""

from __future__ import annotations

import time
from typing import Any

from odatui.sandbox.okta_common import now_iso

# The User schema's status enum (Okta management OpenAPI, UserStatus).
USER_STATUSES = ("ACTIVE", "STAGED", "PROVISIONED", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED",
                 "DEPROVISIONED")
# Okta Verify's app IDs Okta itself puts under `authsrv` on every org host and custom domain ("When serving this
# URI, Okta adds authsrv content ... You can't modify the content in the authsrv object"), as listed in the
# PublicAppleAppSiteWellKnownURIResponse example of
# https://developer.okta.com/docs/api/openapi/okta-management/management/tag/AssociatedDomainCustomizations
AUTHSRV_APPS = ("B7F62B65BN.com.okta.mobile", "B7F62B65BN.com.okta.mobile.auth-service-extension",
                "B7F62B65BN.com.okta.authenticator.beta",
                "B7F62B65BN.com.okta.authenticator.beta.auth-service-extension")


def add_members(okta: Any, group_name: str, count: int, *, passwordless_every: int = 9) -> list[str]:
    """Add `count` users to a group: mostly ACTIVE, one in every few in each other status, and every
    `passwordless_every`-th without a password credential (a federated user: provider FEDERATION)."""
    group = okta.seeding.group_by_name(group_name)
    everyone = okta.seeding.group_by_name("Everyone")
    t0 = time.time() - 86400 * 30
    added = []
    start = len(okta.users)
    for i in range(count):
        n = start + i
        status = USER_STATUSES[n % len(USER_STATUSES)] if n % 3 == 0 else "ACTIVE"
        login = f"user{n:05d}@acme.example"
        user = okta.seeding._add_user(login, "User", f"{n:05d}", t0 + i)
        user["status"] = status
        if status in ("STAGED", "PROVISIONED"):
            user["activated"] = None  # never activated (User: activated is nullable)
        if status == "DEPROVISIONED":
            user["statusChanged"] = now_iso()
        if passwordless_every and n % passwordless_every == 0:
            user["credentials"] = {"provider": {"type": "FEDERATION", "name": "FEDERATION"}}
            user["passwordChanged"] = None
        okta.members[group["id"]].append(user["id"])
        if user["id"] not in okta.members[everyone["id"]]:
            okta.members[everyone["id"]].append(user["id"])
        added.append(user["id"])
    return added


def add_devices(okta: Any, macs: int, others: int = 2) -> list[dict[str, Any]]:
    """Register `macs` macOS devices (as Okta Verify does when a Mac registers) and a few phones, each with the
    user it belongs to."""
    users = [u for u in okta.users.values() if u["status"] == "ACTIVE"]
    out = []
    for i in range(macs + others):
        mac = i < macs
        did = okta._id("guo")
        name = f"Mac-{i:04d}" if mac else f"iPhone-{i:04d}"
        device = _device(okta, did, name, mac=mac, serial=f"C02SBX{i:06d}", os_version="15.1.1" if mac else "18.1",
                         model="MacBookPro18,3" if mac else "iPhone15,2", created=time.time() - 3600 * (i + 1),
                         updated=time.time() - 60 * (i + 1))
        owner = users[i % len(users)] if users else None
        okta.devices[did] = device
        okta.device_users[did] = owner["id"] if owner else None
        out.append(device)
    return out


def aasa_body(okta: Any) -> dict[str, Any]:
    """What Okta serves at /.well-known/apple-app-site-association: the `authsrv` apps it adds for Okta Verify
    (spec: "Okta adds authsrv content ... You can't modify the content in the authsrv object"). `aasa_authsrv` False
    models a host whose proxy or CDN serves its own file instead (field reports of custom domains fronted by a CDN;
    unverified)."""
    if not okta.aasa_authsrv:
        return {"applinks": {"details": []}}
    return {"authsrv": {"apps": list(okta.aasa_apps)}}  # `aasa_apps` settable: a file that lacks some ids


def _device(okta: Any, did: str, name: str, *, mac: bool, serial: str, os_version: str, model: str,
            created: float, updated: float) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "displayName": name, "platform": "MACOS" if mac else "IOS", "registered": True,
        "secureHardwarePresent": True, "manufacturer": "APPLE", "model": model, "osVersion": os_version,
        "serialNumber": serial,
    }
    if mac:
        profile["diskEncryptionType"] = "ALL_INTERNAL_VOLUMES"
    return {
        "id": did, "status": "ACTIVE", "created": now_iso(created), "lastUpdated": now_iso(updated),
        "profile": profile, "resourceType": "UDDevice", "resourceDisplayName": {"value": name, "sensitive": False},
        "resourceId": did,  # resourceAlternateId: the spec example has null, its schema forbids it: left out
        "_links": {"self": {"href": f"{okta.base_url}/api/v1/devices/{did}"},
                   "users": {"href": f"{okta.base_url}/api/v1/devices/{did}/users"}},
    }


def fleet_device(okta: Any, mac: Any) -> dict[str, Any]:
    """The Okta device of a WS1 fleet Mac whose user finished Okta Verify registration (same name and serial as
    in WS1); its owner is the fleet Mac's user (see fleet_user)."""
    did = f"guo{mac.id:017d}"
    okta.fleet_owners[did] = mac
    return _device(okta, did, mac.name, mac=True, serial=mac.serial, os_version=mac.os_version, model=mac.model,
                   created=okta.started - 3600, updated=okta.started)


def fleet_user(okta: Any, device: dict[str, Any]) -> dict[str, Any] | None:
    """The Okta user behind a fleet Mac's registration, as a User object (built on demand: the fleet's users are
    not in the directory, which would otherwise hold 50,000 of them)."""
    mac = okta.fleet_owners.get(device["id"])
    if mac is None:
        return None
    uid = f"00u{mac.id:017d}"
    first, _, last = mac.user.partition(".")
    return {"id": uid, "status": "ACTIVE",
            "profile": {"login": mac.email, "email": mac.email, "firstName": first.title(),
                        "lastName": last.rstrip("0123456789").title()},
            "_links": {"self": {"href": f"{okta.base_url}/api/v1/users/{uid}"}}}
