"""The WS1 emulator's state and plumbing (see ws1.py for what it emulates and why)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from odatui.macos.pkg import version_key
from odatui.mdm.ws1.emulator.cert_authorities import CertificateAuthorities
from odatui.mdm.ws1.emulator.common import MAX_JSON_BYTES, NS, Ws1Error, Ws1Tenant, error_response, requested_version


class Ws1State:
    """The emulator's state and plumbing: ids, smart-group membership, per-version endpoints, request helpers.
    The routes live in per-resource routers (auth, groups, apps, rules, profiles, devices, certificates), each handed
    this state; the auth router's check is plugged in as `authenticate`."""

    def __init__(self, options: Any, world: Any, *, tenant: Ws1Tenant, fleet: Any) -> None:
        """`tenant` and `fleet` (the Macs: odatui.sandbox.fleet.Fleet) come from the sandbox that runs the emulator."""
        self.options = options
        self.tenant = tenant
        self.world = world
        self.seed = getattr(options, "seed", 0)
        self.blob_dir = Path(world.data_dir) / "ws1-blobs"
        self.blob_dir.mkdir(parents=True, exist_ok=True)
        self.settings: dict[str, Any] = {
            "token_lifetime_s": 3600,
            "profile_update_noop": False,  # the known bug: update answers 200 without saving
            # A tenant that silently leaves out explicitly added devices when it creates a smart group (so odatui's
            # read-back must catch it); how often this happens for real is unverified.
            "smartgroup_drop_additions": 0,
            "max_blob_bytes": 5 << 30,
        }
        self.tokens: dict[str, float] = {}
        self.failed_logins = 0
        self.fleet = fleet
        self._counters = {"blob": 40_000, "app": 3_000, "profile": 900, "sg": 4_710}
        self.org_groups = [
            # Uuid per sandbox instance (like the Okta org id): a fresh sandbox is another tenant, whose groups
            # share Group ID and Id with the last one but never the GUID.
            {"Id": 570, "Uuid": self._instance_uuid("og-acme"), "Name": "ACME Corp", "GroupId": tenant.group_id,
             "LocationGroupType": "Customer", "Country": "United States", "Locale": "en-US", "LgLevel": 1},
            {"Id": 571, "Uuid": self._instance_uuid("og-acme-eu"), "Name": "ACME Europe", "GroupId": f"{tenant.group_id}-EU",
             "LocationGroupType": "Container", "Country": "Germany", "Locale": "de-DE", "LgLevel": 2},
        ]
        # Child OG → parent OG: a smart group managed at an OG applies to apps at that OG and below it, not above
        # (UEM: "Smart groups provided is not applicable for this application", PUT assignment-rules 400, code 6).
        self.og_parent: dict[int, int] = {571: 570}
        self.smart_groups: list[dict[str, Any]] = []
        self.add_smart_group(tenant.smart_group, members="rollout")
        self.add_smart_group(f"{tenant.smart_group} (pilot)", members="none")  # substring trap for exact matching
        self.add_smart_group("All Macs", members="all")
        # The first wave of a rollout in waves: a handful of Macs, a subset of the rollout group's.
        self.add_smart_group("Okta PSSO Pilot", members="pilot")
        self.blobs: dict[int, dict[str, Any]] = {}
        self.apps: dict[int, dict[str, Any]] = {}
        self.assignment_rules: dict[str, dict[str, Any]] = {}
        self.assigned_at: dict[str, float] = {}  # app uuid → when an AUTO rule reached the rollout group
        self.profiles: dict[int, dict[str, Any]] = {}
        self.profile_installs: list[dict[str, int]] = []  # install commands queued (repush), in order
        self.queued_installs: dict[tuple[int, int], float] = {}  # (profile, device) → when its last one was queued
        self.cas = CertificateAuthorities(tenant.okta_scep_challenge)  # added by the admin route, as in the console (no API in 2604)
        self._listings: dict[tuple[Any, ...], list[Any]] = {}  # paged listings, rebuilt at most once a second
        self.authenticate: Any = self._no_auth_part  # the auth router's check, plugged in by the emulator

    # ------------------------------------------------------------------ helpers
    def _uuid(self, name: str) -> str:
        return str(uuid.uuid5(NS, f"{self.seed}:{name}"))

    def _instance_uuid(self, name: str) -> str:
        return str(uuid.uuid5(NS, f"{self.seed}:{getattr(self.world, 'instance_id', '')}:{name}"))

    def _next(self, kind: str) -> int:
        self._counters[kind] += 1
        return self._counters[kind]

    def add_smart_group(self, name: str, members: str = "none", og_id: int = 570) -> dict[str, Any]:
        sg_id = self._next("sg")
        group = {"id": sg_id, "uuid": self._uuid(f"sg-{sg_id}"), "name": name, "og_id": og_id, "members": members}
        self.smart_groups.append(group)
        return group

    def sg_devices(self, group: dict[str, Any]) -> list[Any]:
        if group["members"] == "rollout":
            return self.fleet.members()
        if group["members"] == "pilot":
            return self.fleet.members()[:3]
        if group["members"] == "all":
            return list(self.fleet.devices)
        if group["members"] == "explicit":  # CriteriaType UserDevice: the DeviceAdditions, nothing else
            return [self.fleet.by_id[i] for i in group.get("device_ids", ()) if i in self.fleet.by_id]
        if group["members"] == "criteria":  # created through the API: platform, OS and CPU criteria
            return [d for d in self.fleet.devices if self._matches(group, d)]
        return []

    def in_group(self, group: dict[str, Any], device: Any) -> bool:
        """Membership of one device without listing the group (50,000 Macs, asked per device)."""
        kind = group["members"]
        if kind == "all":
            return True
        if kind == "rollout":
            return device.id in self.fleet.member_ids
        if kind == "pilot":
            return device in self.fleet.members()[:3]
        if kind == "explicit":
            return device.id in set(group.get("device_ids", ()))
        if kind == "criteria":
            return self._matches(group, device)
        return False

    @staticmethod
    def _matches(group: dict[str, Any], device: Any) -> bool:
        """The criteria the emulator evaluates: OS version against each OperatingSystems rule (GreaterThan /
        LessThan, compared as versions) and CPUArchitectures (case-insensitive: UEM echoes what it was sent,
        Omnissa terraform-provider-uem internal/smartgroup/resource_test.go)."""
        for rule in group.get("operating_systems") or []:
            have, value = version_key(device.os_version), version_key(str(rule.get("Value") or "0"))
            op = str(rule.get("Operator"))
            if (op == "GreaterThan" and not have > value) or (op == "LessThan" and not have < value):
                return False
        arches = [str(a).lower() for a in group.get("cpu_architectures") or []]
        return not arches or device.arch.lower() in arches

    def profile_at(self, profile: dict[str, Any], device: Any) -> float | None:
        """When the profile reached this device: the earliest assignment among its smart groups that hold the
        device (a wave added later starts its own clock), or None when it is not assigned to the device."""
        times = profile.get("group_at") or {}
        found = [times[str(sg.get("SmartGroupId"))] for sg in profile["body"]["General"].get("AssignedSmartGroups") or []
                 if str(sg.get("SmartGroupId")) in times
                 and (group := self._sg_by_id(sg.get("SmartGroupId"))) is not None and self.in_group(group, device)]
        return min(found) if found else None

    def app_at(self, device: Any) -> float | None:
        """When Okta Verify's assignment reached this device (any active app version whose rules cover it)."""
        found = [at for app in self.apps.values() if app.get("status", "Active") != "Retired"
                 and (at := self.app_rule_at(app, device)) is not None]
        return min(found) if found else None

    def app_rule_at(self, app: dict[str, Any], device: Any) -> float | None:
        """Fleet time from which this app may install on this device: the AUTO assignment, or the effective_date
        of the rule that applies to the device when later. Of several rules whose groups hold the device, the one
        with the highest priority (lowest number) applies (UEM flexible deployment: "the assignment with the
        highest priority" wins for a device in several assignment groups; VMware docs, Application Management,
        "Add Assignments and Exclusions", unverified for 2604). effective_date is taken as UTC (mamv2 says "in
        Admin's timezone", which the emulator does not model)."""
        at = self.assigned_at.get(app["uuid"])
        if at is None:
            return None
        rules = sorted(self.assignment_rules.get(app["uuid"], {}).get("assignments", []),
                       key=lambda r: r.get("priority", 0))
        for rule in rules:
            dist = rule.get("distribution", {})
            if any((g := self._sg_by_uuid(u)) is not None and self.in_group(g, device)
                   for u in dist.get("smart_groups") or []):
                return max(at, self._fleet_time(dist.get("effective_date")))
        return None

    def _fleet_time(self, when: Any) -> float:
        """A wall-clock date-time as fleet time (the fleet's clock runs on from now, advanced by the admin route)."""
        if not when:
            return float("-inf")
        try:
            moment = datetime.fromisoformat(str(when).replace("Z", "+00:00"))
        except ValueError:
            return float("-inf")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return self.fleet.now() + (moment.timestamp() - self.fleet.wall_now())

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

    # ------------------------------------------------------------------ a profile on a Mac
    def profile_installed(self, profile: dict[str, Any], device: Any) -> bool:
        """Installed by now: the fleet's timing, unless its certificate cannot be issued (then it never installs)."""
        if self.cas.refused(profile):
            return False
        return self.fleet.installed(device, "profile", self.profile_at(profile, device))

    def profile_failed(self, profile: dict[str, Any], device: Any) -> bool:
        """The profile reached the Mac and broke: the fleet's share of broken installs, or a refused certificate."""
        if self.cas.refused(profile):
            return self.fleet.reached(device, "profile", self.profile_at(profile, device))
        return self.fleet.failed(device, "profile", self.profile_at(profile, device))

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

    def _targets(self, profile: dict[str, Any], device: Any) -> bool:
        """Whether the profile is assigned to this device (without listing every member)."""
        for sg in profile["body"]["General"].get("AssignedSmartGroups") or []:
            group = self._sg_by_id(sg.get("SmartGroupId"))
            if group is not None and self.in_group(group, device):
                return True
        return False

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

    def _no_auth_part(self, request: Request) -> None:
        raise Ws1Error(500, 500, "No auth part is plugged in.")
