"""The WS1 emulator's state and plumbing (see ws1.py for what it emulates and why)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from odatui.macos.pkg import version_key
from odatui.sandbox.credentials import WS1_GROUP_ID, WS1_SMART_GROUP
from odatui.sandbox.fleet import Fleet
from odatui.sandbox.ws1_common import MAX_JSON_BYTES, NS, Ws1Error, error_response, requested_version


class Ws1Base:
    """The emulator's state and plumbing: ids, smart-group membership, per-version endpoints, request helpers.
    The routes live in the resource modules (ws1_auth, ws1_groups, ws1_apps, ws1_rules, ws1_profiles,
    ws1_devices) that build on it."""

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

    def _targets(self, profile: dict[str, Any], device: Any) -> bool:
        """Whether the profile is assigned to this device (without listing every member)."""
        for sg in profile["body"]["General"].get("AssignedSmartGroups") or []:
            group = self._sg_by_id(sg.get("SmartGroupId"))
            if group is not None and self.is_member(group, device):
                return True
        return False

    def is_member(self, group: dict[str, Any], device: Any) -> bool:
        """`device in sg_devices(group)` without listing the group: the same rule for every kind of group, so a
        Mac of a group odatui created (criteria) can be re-pushed as the device table lists it (issue 26: 422)."""
        members = group["members"]
        if members == "all":
            return True
        if members == "rollout":
            return device.id in self.fleet.member_ids
        if members == "pilot":
            return device.id in {d.id for d in self.fleet.members()[:3]}
        if members == "criteria":
            return version_key(device.os_version) >= version_key(group.get("os_floor") or "")
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

    # Defined by the auth part (ws1_auth); every endpoint calls it first.
    def authenticate(self, request: Request) -> None:
        raise NotImplementedError
