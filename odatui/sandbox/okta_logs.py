"""The Okta emulator's System Log (`GET /api/v1/logs`, scope okta.logs.read): the Desktop Password Sync
registration events, `device.password_sync.enrollment.create` (Okta, "Configure Platform Single Sign-on for
macOS 14", help.okta.com/oie/en-us/content/topics/oda/configure-psso-oda.htm: track registrations with this event).

Two sources: every WS1 fleet Mac whose user finished registration once the profile is there (the same Macs the
Devices API lists), and events an admin test adds for directory users (`dps_enrollments` in the settings route).
LogEvent shape from Okta's management OpenAPI (uuid, published, eventType, actor, target, outcome); which of actor
or target names the user for this event type is not documented: the actor is the user here (unverified).
Org-wide Okta Verify registrations for FastPass (`registered_macs`) never log this event.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from odatui.sandbox.okta_base import OktaState
from odatui.sandbox.okta_org import OktaOrg
from odatui.sandbox.okta_seed import OktaSeed
from odatui.sandbox.okta_common import OktaError, now_iso
from odatui.sandbox.okta_directory import fleet_user

DPS_EVENT = "device.password_sync.enrollment.create"
_NS = uuid.UUID("0b5f3c52-8f3e-4a57-9d56-6a1d0d4c7e10")


def dps_event(user: dict[str, Any], device_name: str, published: str) -> dict[str, Any]:
    return {
        "uuid": str(uuid.uuid5(_NS, f"{user['id']}|{device_name}")), "published": published, "eventType": DPS_EVENT,
        "version": "0", "severity": "INFO", "displayMessage": "Device Password Sync enrollment",
        "legacyEventType": None,
        "actor": {"id": user["id"], "type": "User", "alternateId": user["profile"]["login"],
                  "displayName": f"{user['profile'].get('firstName', '')} {user['profile'].get('lastName', '')}".strip()},
        "target": [{"id": f"guo-{device_name}", "type": "Device", "alternateId": device_name, "displayName": device_name}],
        "outcome": {"result": "SUCCESS"},
    }


class OktaLogs:
    """GET /api/v1/logs with `filter` (eventType eq), `since`, `until`, `limit` (≤ 1000) and cursor paging."""

    def __init__(self, okta: OktaState, seeding: OktaSeed, directory: OktaOrg) -> None:
        self.okta = okta
        self.seeding = seeding
        self.directory = directory

    def add_dps_enrollments(self, group_name: str, count: int) -> int:
        """Directory users of a group register Desktop Password Sync (admin route): events for the first `count`."""
        group = self.seeding.group_by_name(group_name)
        added = 0
        for uid in self.okta.members[group["id"]][:count]:
            user = self.okta.users[uid]
            self.okta.log_events.append(dps_event(user, f"Mac-of-{uid}", now_iso()))
            added += 1
        return added

    def _fleet_events(self) -> list[dict[str, Any]]:
        out = []
        for device in self.directory._fleet_devices():  # the fleet Macs that finished registration (okta_org)
            user = fleet_user(self.okta, device)
            if user is not None:
                out.append(dps_event(user, device["profile"]["displayName"], device["created"]))
        return out

    async def list_logs(self, request: Request) -> Response:
        params = request.query_params
        events = self.okta.log_events + self._fleet_events()
        since, until = _when(params.get("since")), _when(params.get("until"))
        events = [e for e in events if (since is None or _when(e["published"]) >= since)
                  and (until is None or _when(e["published"]) <= until)]  # bounds inclusive: unverified
        if params.get("filter"):
            events = self.okta._filter(events, params["filter"], {"eventType": lambda e: e["eventType"]})
        if params.get("sortOrder", "ASCENDING") == "DESCENDING":
            events = list(reversed(events))
        return self.okta._page(request, [{"id": e["uuid"]} for e in events], default=100, cap=1000, response_items=events)


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise OktaError(400, "E0000001", "Api validation failed: since/until", [f"not a date-time: {text}"]) from None
