"""The Okta emulator's state and plumbing (see okta.py for what it emulates and why)."""

from __future__ import annotations

import json
import random
import re
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from odatui.sandbox.okta_common import ALL_SCOPES, ALNUM, DEFAULT_LIMITS, OAuthError, OktaError, FILTER_TERM
from odatui.sandbox.okta_directory import AUTHSRV_APPS


class OktaState:
    """The emulator's state and plumbing: per-route rate-limit buckets and concurrency, auth check, errors, paging.
    The routes live in per-resource routers (okta_seed, okta_auth, okta_apps, okta_org, okta_logs), each handed this
    state; the auth router's check is plugged in as `authorize`."""

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
        self.log_events: list[dict[str, Any]] = []  # System Log events added by admin tests (okta_logs)
        self.device_users: dict[str, str | None] = {}
        self.fleet_owners: dict[str, Any] = {}  # Okta device id → the WS1 fleet Mac it is (okta_directory.fleet_device)
        self.started = time.time()
        self.aasa_authsrv = True
        self.authorize: Any = self._no_auth_part  # the auth router's check, plugged in by the emulator

    def _id(self, prefix: str) -> str:
        return prefix + "".join(self.rng.choice(ALNUM) for _ in range(17))

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
                    self.authorize(request, write if request.method in ("POST", "PUT", "DELETE") else read)
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

    @staticmethod
    def _filter(items: list[dict[str, Any]], expr: str, fields: dict[str, Any]) -> list[dict[str, Any]]:
        """Okta's filter/search expressions, the subset odatui and its tests use: `f eq "v"`, `f sw "v"`, `and`."""
        terms = []
        for part in re.split(r"\s+and\s+", expr.strip()):
            m = FILTER_TERM.match(part)
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

    def _no_auth_part(self, request: Request, scope: str | None) -> None:
        raise OktaError(500, "E0000009", "Internal Server Error (no auth part plugged in)")
