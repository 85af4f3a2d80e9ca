"""Async client for exactly the Okta Management API calls odatui's steps need (Okta Management API reference:
https://developer.okta.com/docs/api/).

Auth (SSWS token or service app with private_key_jwt, DPoP when the app requires it) is in auth.py; rate-limit
pacing (2 in flight per org, slowing down near the limit, waiting out a 429) in pacing.py; every request goes
through odatui.core.http.send, the one retry loop. Paging follows `Link: rel="next"` as an opaque URL. Every failure is
one `OktaApiError` (errors.py); the steps turn its code into a sentence for the admin. Secrets never appear in
messages or logs (they are registered with the log redactor).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx

from odatui.core.domain import OKTA_SCOPES
from odatui.core.errors import ConfigError, StepError
from odatui.core.http import DeadlineExceeded, NetworkError, RetryPolicy, make_client, send
from odatui.core.http_body import AnswerTooLarge
from odatui.core.paging import MAX_PAGES, PageGuard, check_page
from odatui.okta.auth import OktaAuth
from odatui.okta.errors import OktaApiError, parse_json, raise_for
from odatui.okta.pacing import MAX_IN_FLIGHT, org_limiter

SCOPES = OKTA_SCOPES  # what the service app's token asks for (odatui.core.domain: the help and README name the same)
# Okta tracks Desktop Password Sync registrations with this System Log event ("Configure Platform Single Sign-on for
# macOS 14", help.okta.com/oie/en-us/content/topics/oda/configure-psso-oda.htm).
DPS_ENROLLMENT_EVENT = "device.password_sync.enrollment.create"
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


def _next_link(response: httpx.Response) -> str | None:
    for value in response.headers.get_list("link"):
        for match in _LINK_NEXT.finditer(value):
            return match.group(1)
    return None


FIND_GROUP_PAGES = 5  # pages an exact group-name search may take (each up to page_size groups)


class OktaClient:
    def __init__(self, org_url: str, *, api_token: str | None = None, service_app_client_id: str | None = None,
                 private_key: str | None = None, ca_bundle: str | None = None, page_size: int = 200,
                 policy: RetryPolicy = RetryPolicy(), scopes: tuple[str, ...] = SCOPES,
                 event_hooks: dict[str, list[Any]] | None = None, timeout: httpx.Timeout | None = None) -> None:
        self.org_url = org_url.rstrip("/")
        self.host = self.org_url.removeprefix("https://")
        self.page_size = page_size
        self.policy = policy
        self.auth = OktaAuth(self.org_url, send=self._send, scopes=scopes, api_token=api_token,
                             client_id=service_app_client_id, private_key=private_key)
        self._groups: dict[str, dict[str, Any]] = {}  # found groups by name (see group_by_name)
        kwargs: dict[str, Any] = {"ca_bundle": ca_bundle or None, "max_connections": MAX_IN_FLIGHT,
                                  "headers": {"Accept": "application/json"}, "event_hooks": event_hooks}
        if timeout is not None:
            kwargs["timeout"] = timeout
        self._http = make_client(self.org_url, **kwargs)

    @property
    def auth_mode(self) -> str:
        """api_token, service_app or none."""
        return self.auth.mode

    @property
    def scopes(self) -> tuple[str, ...]:
        """What the service app's token asks for."""
        return self.auth.scopes

    @classmethod
    def from_config(cls, okta_cfg: Any, secrets: Any, **kwargs: Any) -> OktaClient:
        if not okta_cfg.org_url:
            raise ConfigError("okta.org_url is not set", hint="give your Okta org URL, e.g. https://acme.okta.com")
        if okta_cfg.auth == "api_token":
            kwargs["api_token"] = secrets.require("okta.api_token", target=okta_cfg.host)
        elif okta_cfg.auth == "service_app":
            if not okta_cfg.service_app_client_id:
                raise ConfigError("okta.service_app_client_id is not set (okta.auth = \"service_app\")",
                                  hint="copy the client ID of the API Services app from its General tab")
            kwargs["service_app_client_id"] = okta_cfg.service_app_client_id
            kwargs["private_key"] = secrets.require("okta.private_key", target=okta_cfg.host)
        return cls(okta_cfg.org_url, ca_bundle=okta_cfg.ca_bundle or None, **kwargs)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> OktaClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- transport ---------------------------------------------------------------------------------------------
    async def _send(self, method: str, url: str, *, auth: bool = True, operation: str = "", token_dpop: bool = False,
                    **kwargs: Any) -> httpx.Response:
        """One call through the shared retry loop, with this org's pacing and this client's auth."""
        async def headers() -> dict[str, str]:
            return await self.auth.headers(method, url, auth=auth, token_dpop=token_dpop)

        try:
            return await send(self._http, method, url, policy=self.policy, fresh_headers=headers,
                              resend=self.auth.resender(auth=auth),
                              pacer=org_limiter(self.host), where=self.org_url, **kwargs)
        except (NetworkError, AnswerTooLarge) as exc:
            raise OktaApiError(0, "network", exc.message, hint=exc.hint, retryable=exc.retryable,
                               operation=operation) from None
        except DeadlineExceeded as exc:  # the deadline, named
            raise OktaApiError(0, "deadline", exc.message, hint=exc.hint, retryable=False,
                               operation=operation) from None

    async def _get_json(self, url: str, operation: str, **kwargs: Any) -> Any:
        response = await self._send("GET", url, operation=operation, **kwargs)
        raise_for(response, operation)
        return parse_json(response, operation)

    async def _pages(self, url: str, params: dict[str, Any], operation: str,
                     max_pages: int = MAX_PAGES) -> AsyncIterator[list[dict[str, Any]]]:
        next_url: str | None = url
        first = True
        # the token goes with each page: same origin, no loops, at most `max_pages`
        guard = PageGuard(self._http.base_url, f"Okta ({operation})", max_pages=max_pages)
        while next_url:
            response = await self._send("GET", next_url, operation=operation, params=params if first else None)
            raise_for(response, operation)
            page = parse_json(response, operation)
            if not isinstance(page, list):
                raise OktaApiError(response.status_code, "invalid_response", "expected a list", operation=operation)
            try:  # Okta's largest documented page `limit` is 10000 (List all groups); more is not an Okta answer
                check_page(page, 10_000, f"Okta {operation}")
            except StepError as exc:
                raise OktaApiError(0, "paging", exc.message, hint=exc.hint, retryable=False,
                                   operation=operation) from None
            yield page
            next_url, first = _next_link(response), False  # opaque: followed as given, never rebuilt
            if next_url is not None:
                try:
                    guard.check(next_url)
                except StepError as exc:
                    raise OktaApiError(0, "paging", exc.message, hint=exc.hint, retryable=False,
                                       operation=operation) from None

    # --- what the steps need -----------------------------------------------------------------------------------
    async def org_metadata(self) -> dict[str, Any]:
        """`/.well-known/okta-organization` (no auth): `pipeline` idx/v1 and the custom-domain link."""
        return await self._get_json("/.well-known/okta-organization", "org metadata", auth=False)

    async def authenticators(self) -> list[dict[str, Any]]:
        return await self._get_json("/api/v1/authenticators", "list authenticators")

    async def list_apps(self, *, q: str | None = None, filter: str | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {"limit": self.page_size}
        if q:
            params["q"] = q
        if filter:
            params["filter"] = filter
        out: list[dict[str, Any]] = []
        async for page in self._pages("/api/v1/apps", params, "list apps"):
            out.extend(page)
        return out

    async def apps_by_label(self, label: str) -> list[dict[str, Any]]:
        """Apps whose label is `label` (case and surrounding spaces ignored); `q` narrows by prefix server-side."""
        wanted = label.strip().casefold()
        return [a for a in await self.list_apps(q=label.strip()) if str(a.get("label", "")).strip().casefold() == wanted]

    async def app(self, app_id: str) -> dict[str, Any]:
        return await self._get_json(f"/api/v1/apps/{app_id}", "get app")

    async def app_group_assignments(self, app_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        async for page in self._pages(f"/api/v1/apps/{app_id}/groups", {"limit": self.page_size}, "list app groups"):
            out.extend(page)
        return out

    async def assign_group(self, app_id: str, group_id: str, priority: int | None = None) -> dict[str, Any]:
        # Always a JSON body: a PUT with neither body nor Content-Length gets 411 from Okta's edge.
        body: dict[str, Any] = {} if priority is None else {"priority": priority}
        response = await self._send("PUT", f"/api/v1/apps/{app_id}/groups/{group_id}", json=body,
                                    operation="assign group")
        raise_for(response, "assign group")
        return parse_json(response, "assign group")

    async def activate_app(self, app_id: str) -> None:
        """`POST /api/v1/apps/{appId}/lifecycle/activate` (Okta Management API, Application lifecycle operation
        activateApplication: 200 with an empty object; needs okta.apps.manage)."""
        response = await self._send("POST", f"/api/v1/apps/{app_id}/lifecycle/activate", json={},
                                    operation="activate the app")
        raise_for(response, "activate the app")

    async def unassign_group(self, app_id: str, group_id: str) -> bool:
        """DELETE /api/v1/apps/{appId}/groups/{groupId} (Application Groups API: 204). False when it was not
        assigned (404)."""
        response = await self._send("DELETE", f"/api/v1/apps/{app_id}/groups/{group_id}",
                                    operation="unassign group")
        if response.status_code == 404:
            return False
        raise_for(response, "unassign group")
        return True

    async def group_by_name(self, name: str) -> dict[str, Any] | None:
        # A found group is kept for this client's life (its id does not change): the readiness check and
        # okta.assign both look the configured groups up in one run. A missing one is asked again (the admin
        # may be creating it while odatui waits).
        if name in self._groups:
            return self._groups[name]
        group = await self._group_by_name(name)
        if group is not None:
            self._groups[name] = group
        return group

    async def _group_by_name(self, name: str) -> dict[str, Any] | None:
        escaped = name.replace("\\", "\\\\").replace('"', '\\"')
        params = {"search": f'profile.name eq "{escaped}"', "limit": self.page_size}
        # An exact-name search answers a group or two: a server that pages on through thousands (60,000 groups
        # ran past a minute in the hostile review) ignores the filter, so a few pages are the limit.
        async for page in self._pages("/api/v1/groups", params, "find group", max_pages=FIND_GROUP_PAGES):
            for group in page:
                if group.get("profile", {}).get("name") == name:
                    return group
        return None

    async def group_users(self, group_id: str) -> AsyncIterator[list[dict[str, Any]]]:
        """listGroupUsers, page by page: full user objects (`status`, `credentials.password` present or not).
        Pages of 200, Okta's recommended limit for group users."""
        async for page in self._pages(f"/api/v1/groups/{group_id}/users", {"limit": min(self.page_size, 200)},
                                      "list group users"):
            yield page

    async def apple_app_site_association(self) -> dict[str, Any] | None:
        """The org host's /.well-known/apple-app-site-association (no auth; Okta adds Okta Verify's `authsrv`
        apps), or None when it is not JSON."""
        response = await self._send("GET", "/.well-known/apple-app-site-association", auth=False,
                                    operation="apple-app-site-association")
        raise_for(response, "apple-app-site-association")
        data = parse_json(response, "apple-app-site-association", strict=False)
        return data if isinstance(data, dict) else None

    async def macos_device_pages(self, *, users: bool = False) -> AsyncIterator[list[dict[str, Any]]]:
        """listDevices with `search=profile.platform eq "MACOS"`: Macs registered with Okta (Okta Verify device
        registration), 200 a page (the maximum); `users` embeds each Mac's users (expand=userSummary)."""
        params = {"search": 'profile.platform eq "MACOS"', "limit": min(self.page_size, 200)}
        if users:
            params["expand"] = "userSummary"
        async for page in self._pages("/api/v1/devices", params, "list devices"):
            yield page

    async def macos_devices(self) -> list[dict[str, Any]]:
        """Every registered Mac, each with its users embedded."""
        return [device async for page in self.macos_device_pages(users=True) for device in page]

    async def count_devices(self) -> int:
        """How many Macs are registered. The API has no total, so this pages through and counts without keeping
        the devices."""
        total = 0
        async for page in self.macos_device_pages():
            total += len(page)
        return total

    async def dps_enrollment_pages(self, since: str, until: str) -> AsyncIterator[list[dict[str, Any]]]:
        """System Log events `device.password_sync.enrollment.create` between `since` and `until` (ISO 8601; with
        an `until` the request is bounded, so its Link: next ends), 1,000 a page (the API's maximum). Scope
        okta.logs.read (Okta System Log API, developer.okta.com/docs/api/openapi/okta-management/management/tag/
        SystemLog/)."""
        params = {"filter": f'eventType eq "{DPS_ENROLLMENT_EVENT}"', "since": since, "until": until,
                  "limit": 1000, "sortOrder": "ASCENDING"}
        async for page in self._pages("/api/v1/logs", params, "read the System Log (Password Sync registrations)"):
            yield page

    async def check_credentials(self) -> str:
        """The cheapest call that proves the credentials work; returns who or what they belong to."""
        if self.auth_mode == "api_token":
            me = await self._get_json("/api/v1/users/me", "credential check")
            return f"API token of {me.get('profile', {}).get('login', me.get('id', 'an admin'))}"
        if self.auth_mode == "service_app":
            await self.auth.access_token()
            await self._get_json("/api/v1/apps", "service app credential check", params={"limit": 1})
            return f"service app {self.auth.client_id}" + (" (DPoP-bound tokens)" if self.auth.uses_dpop else "")
        raise StepError("odatui has no Okta API access in this mode (okta.auth = \"none\").")
