"""Async client for the slice of the Workspace ONE UEM REST API odatui uses (reference/ws1.md).

What it takes care of, so steps don't have to:
- auth: Basic + `aw-tenant-code`, or OAuth client credentials against the region token URL; the token is
  renewed before its hour runs out, and kept fresh in the background while a long upload runs;
- `Accept: application/json;version=N` per call, and the answer's shape checked: the API silently answers v1
  when the version is lost (a proxy, a trailing semicolon), which must be an error, not a mis-parse;
- one exception type, `Ws1ApiError`, with status, errorCode, message, activityId and a hint; 401/1005 is
  explained and never retried (retrying can lock a directory account);
- uploads streamed from disk with progress, never re-sent blindly once the server may have stored them;
- rollout status paged concurrently with bounded concurrency.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import math
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from odatui.errors import SecretsUnavailable, StepError
from odatui.http import MAX_PAGES, UPLOAD_TIMEOUT, PageGuard, RetryPolicy, describe_transport_error, make_client, send
from odatui.log import get_logger, register_secret

log = get_logger("ws1")

CHUNK = 1 << 20  # upload read size: big enough for line rate, small enough for flat memory
PAGE_SIZE = 500  # the API's maximum for device lists
PAGE_CONCURRENCY = 8  # pages in flight per listing; well inside WS1's per-minute API quota
ProgressFn = Callable[[int, int, float], Any]  # (bytes sent, total bytes, bytes per second)


class Ws1ApiError(StepError):
    """Any failed Workspace ONE call. `status` is None when no HTTP answer came back (network)."""

    def __init__(self, status: int | None, error_code: int | None, message: str, activity_id: str | None = None,
                 *, hint: str | None = None, retryable: bool | None = None, what: str = "") -> None:
        if retryable is None:
            retryable = status is None or status == 429 or status >= 500
        head = f"Workspace ONE {what + ': ' if what else ''}"
        code = f" (HTTP {status}" + (f", errorCode {error_code}" if error_code is not None else "") + ")" \
            if status is not None else ""
        text = f"{head}{message}{code}"
        if activity_id:
            text += f" [activityId {activity_id}]"
        super().__init__(text, hint=hint, retryable=retryable)
        self.status = status
        self.error_code = error_code
        self.api_message = message
        self.activity_id = activity_id


# --------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class OrgGroup:
    id: int
    uuid: str
    name: str
    group_id: str


@dataclass(frozen=True)
class SmartGroup:
    id: int
    uuid: str
    name: str
    managed_by: str = ""
    devices: int = 0


@dataclass(frozen=True)
class Blob:
    id: int
    uuid: str | None


@dataclass(frozen=True)
class AppSummary:
    id: int
    uuid: str
    name: str
    version: str
    status: str
    bundle_id: str = ""


@dataclass(frozen=True)
class ProfileSummary:
    id: int
    uuid: str
    name: str
    assignment_type: str = ""
    smart_group_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class RolloutStatus:
    devices: int  # devices in the smart group
    profile_installed: int
    app_installed: int
    requests_made: int


# --------------------------------------------------------------------------------------------- auth


class _BasicAuth:
    kind = "basic"

    def __init__(self, username: str, password: str, tenant_code: str) -> None:
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        register_secret(token)
        self._headers = {"Authorization": f"Basic {token}", "aw-tenant-code": tenant_code}

    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        return self._headers

    def invalidate(self) -> None:
        pass

    async def keep_fresh(self, http: httpx.AsyncClient) -> None:
        return None


class _OAuth:
    """Client credentials at the region token URL. Tokens live an hour; renew with a margin."""

    kind = "oauth"

    def __init__(self, token_url: str, client_id: str, client_secret: str, tenant_code: str | None) -> None:
        self.token_url = token_url.rstrip("/")  # a trailing slash makes the token service answer 404
        self._form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        self._tenant = tenant_code
        self._token: str | None = None
        self._expires = 0.0
        self._lifetime = 3600.0
        self._lock = asyncio.Lock()
        self.fetched = 0

    def _margin(self) -> float:
        # The SDK renews 5 minutes early; short-lived tokens (tests) renew at 10% of their life.
        return min(300.0, self._lifetime * 0.1)

    def _fresh(self) -> bool:
        return self._token is not None and time.monotonic() < self._expires - self._margin()

    async def headers(self, http: httpx.AsyncClient) -> dict[str, str]:
        if not self._fresh():
            async with self._lock:
                if not self._fresh():
                    await self._fetch(http)
        out = {"Authorization": f"Bearer {self._token}"}
        if self._tenant:  # optional with OAuth; sent when the admin gave it
            out["aw-tenant-code"] = self._tenant
        return out

    def invalidate(self) -> None:
        self._token = None

    async def keep_fresh(self, http: httpx.AsyncClient) -> None:
        """Renew in the background (during a long upload) so the next call never meets an expired token."""
        while True:
            await asyncio.sleep(max(0.05, self._expires - self._margin() - time.monotonic()))
            async with self._lock:
                if not self._fresh():
                    await self._fetch(http)

    async def _fetch(self, http: httpx.AsyncClient) -> None:
        try:
            response = await send(http, "POST", self.token_url, retry=False, data=self._form,
                                  headers={"Accept": "application/json"})
        except StepError as exc:
            raise Ws1ApiError(None, None, f"cannot reach the OAuth token URL {self.token_url}: {exc.message}",
                              hint=exc.hint or "check ws1.oauth_region or ws1.oauth_token_url") from None
        if response.status_code == 404:
            raise Ws1ApiError(404, None, f"the OAuth token URL {self.token_url} does not exist", retryable=False,
                              hint="pick the region of your tenant's data centre (na, emea, apac, uat) or set "
                                   "ws1.oauth_token_url; OAuth is available for SaaS tenants only")
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict) or not data.get("access_token"):
            error = data.get("error") if isinstance(data, dict) else None
            if error == "invalid_client" or response.status_code in (400, 401):
                raise Ws1ApiError(response.status_code, None,
                                  f"the OAuth client was refused by {self.token_url} ({error or 'no detail'})",
                                  retryable=False,
                                  hint="check ws1.oauth_client_id and the client secret (`odatui secrets set "
                                       "ws1.client_secret`), and that the client belongs to this region's tenant")
            raise Ws1ApiError(response.status_code, None, f"unexpected answer from the token URL {self.token_url}")
        self._token = str(data["access_token"])
        register_secret(self._token)
        self._lifetime = float(data.get("expires_in") or 3600)
        self._expires = time.monotonic() + self._lifetime
        self.fetched += 1
        log.info("OAuth token renewed (lifetime %.0fs)", self._lifetime)


# --------------------------------------------------------------------------------------------- client



def _shape_guard(fn):
    """A field of the wrong type deep in an answer (a proxy, another UEM release) becomes one readable
    Ws1ApiError instead of a KeyError/TypeError escaping to the admin."""
    import functools

    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        try:
            return await fn(*args, **kwargs)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise Ws1ApiError(None, None, f"the answer to {fn.__name__.replace('_', ' ')} has an unexpected shape "
                              f"({type(exc).__name__}: {exc})", retryable=False,
                              hint="a proxy may be rewriting answers, or the tenant runs an UEM release odatui "
                                   "does not know; send `odatui bundle` to support") from None
    return wrapper


class Ws1Client:
    def __init__(self, api_url: str, auth: _BasicAuth | _OAuth, *, ca_bundle: str | None = None,
                 policy: RetryPolicy = RetryPolicy()) -> None:
        self.api_url = api_url.rstrip("/")
        self.auth = auth
        self.policy = policy
        self.http = make_client(self.api_url, ca_bundle=ca_bundle, max_connections=PAGE_CONCURRENCY + 2)
        self.requests_made = 0

    @classmethod
    def from_config(cls, cfg: Any, secrets: Any, *, policy: RetryPolicy = RetryPolicy()) -> Ws1Client:
        if not cfg.api_url:
            raise StepError("No Workspace ONE API URL is configured.", hint="set [ws1] api_url, e.g. https://as1234.awmdm.com")
        target = cfg.api_url.removeprefix("https://")
        if cfg.auth == "oauth":
            if not cfg.oauth_client_id:
                raise StepError("ws1.auth is oauth but ws1.oauth_client_id is empty.",
                                hint="copy the client ID from Groups & Settings > Configurations > OAuth Client Management")
            try:
                tenant = secrets.get("ws1.tenant_code", target)
            except SecretsUnavailable:
                tenant = None
            auth: _BasicAuth | _OAuth = _OAuth(cfg.token_url, cfg.oauth_client_id,
                                               secrets.require("ws1.client_secret", target), tenant)
        else:
            if not cfg.username:
                raise StepError("ws1.auth is basic but ws1.username is empty.", hint="set [ws1] username")
            auth = _BasicAuth(cfg.username, secrets.require("ws1.password", target),
                              secrets.require("ws1.tenant_code", target))
        return cls(cfg.api_url, auth, ca_bundle=cfg.ca_bundle or None, policy=policy)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Ws1Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ core
    async def request(self, method: str, path: str, *, version: int, what: str, params: dict[str, Any] | None = None,
                      json_body: Any = None, ok: tuple[int, ...] = (200,), retry: bool | None = None) -> httpx.Response:
        """One API call with auth, version header and retry policy; error statuses raise Ws1ApiError.
        A 204 is returned as is (callers treat it as "none")."""
        content = None
        extra = {"Accept": f"application/json;version={version}"}
        if json_body is not None:
            content = json.dumps(json_body).encode()
            extra["Content-Type"] = "application/json"
        for attempt in (1, 2):
            headers = {**await self.auth.headers(self.http), **extra}
            try:
                self.requests_made += 1
                response = await send(self.http, method, path, policy=self.policy, retry=retry, params=params,
                                      content=content, headers=headers)
            except Ws1ApiError:
                raise
            except StepError as exc:
                raise Ws1ApiError(None, None, f"{what} failed: {exc.message}", hint=exc.hint,
                                  retryable=exc.retryable) from None
            if response.status_code == 401 and self.auth.kind == "oauth" and attempt == 1:
                # An expired or revoked bearer token was refused before anything was done: renew once.
                self.auth.invalidate()
                continue
            break
        if response.status_code in ok or response.status_code == 204:
            return response
        raise self.error(response, what)

    def error(self, response: httpx.Response, what: str) -> Ws1ApiError:
        status = response.status_code
        data = _json_or_none(response)
        if data is None:
            kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
            looks_html = b"<html" in response.content[:2048].lower() or kind == "text/html"
            return Ws1ApiError(status, None, f"{what}: the answer is not JSON ({kind})",
                               hint="an HTML page usually comes from a proxy, a login portal or the console host: "
                                    "check that ws1.api_url is the API host (as…, not cn…) and the proxy settings"
                               if looks_html else None, what="")
        if isinstance(data, dict) and "errorSummary" in data and str(data.get("errorCode", "")).startswith("E0"):
            # Okta's error body (E0000022 …): the request went to an Okta org, not to Workspace ONE.
            return Ws1ApiError(status, None, f"{what}: an Okta org answered, not Workspace ONE "
                               f"({data.get('errorSummary')})", retryable=False,
                               hint="ws1.api_url points at an Okta org: set it to the Workspace ONE API host "
                                    "(e.g. https://as1234.awmdm.com, from Groups & Settings > System > Advanced > "
                                    "Site URLs > REST API URL)", what="")
        code = data.get("errorCode") if isinstance(data, dict) else None
        message = data.get("message") if isinstance(data, dict) else None
        message = message if isinstance(message, str) else json.dumps(message) if message else str(data)[:200]
        activity = data.get("activityId") if isinstance(data, dict) else None
        hint = None
        retryable = None
        if status == 401 and code == 1005:
            if self.auth.kind == "basic":
                hint = ("the user name, password or REST API key (aw-tenant-code) was refused. Common causes: the "
                        "API user is a directory (AD/LDAP) account — use a basic (local) admin account — or the "
                        "tenant code is wrong or was generated below the Customer organization group. odatui does "
                        "not retry, because repeated failures can lock a directory account")
            else:
                hint = "the OAuth token was refused; check that the OAuth client is bound to an admin role with API access"
            retryable = False
        elif code == 7000:
            hint = "the app does not exist any more or is not visible to this admin (another organization group?)"
            retryable = False
        elif code == 200011:
            # PUT assignment-rules, 500: "Application publish failed, Please republish the Application" (UEM 2604
            # MAM API v2 swagger). The rules are saved; only the publish to devices failed.
            hint = ("Workspace ONE saved the assignment but could not publish it to devices. Run `odatui retry` "
                    "(odatui saves and publishes again), or in the UEM console open Apps → Native → Internal → "
                    "Okta Verify and choose Save & Publish")
            retryable = False
        elif code in (1011, 5093) or (status == 403 and code in (11, 403)):
            # "User doesn't have sufficient permissions to perform this operation." (UEM 2604 swagger, 1011).
            hint = ("the WS1 admin odatui signs in as lacks a permission for this call: give its role the Apps and "
                    "Devices & Users → Profiles edit rights (or use an admin with the Console Administrator role) "
                    "at the organization group in ws1.group_id, then run `odatui retry`")
            retryable = False
        elif code == 5143:
            # "The given organization group is not accessible" (UEM 2604 MAM API v2 swagger).
            hint = ("the admin cannot reach this organization group: check ws1.group_id and that the admin's role is "
                    "assigned at that group or one above it")
            retryable = False
        elif status == 401:
            retryable = False
        return Ws1ApiError(status, code if isinstance(code, int) else None, f"{what}: {message}",
                           activity if isinstance(activity, str) else None, hint=hint, retryable=retryable)

    def _body(self, response: httpx.Response, what: str, expect: str | None = None) -> Any:
        """The JSON body; `expect` names the key the requested version's shape must carry."""
        data = _json_or_none(response)
        if data is None and response.content:
            raise self.error(response, what)
        if expect is not None and (not isinstance(data, dict) or expect not in data):
            keys = ", ".join(sorted(data)[:6]) if isinstance(data, dict) else type(data).__name__
            raise Ws1ApiError(response.status_code, None,
                              f"{what}: the answer has an unexpected shape (no {expect!r}; got {keys})",
                              retryable=False,
                              hint="the API answers version 1 shapes when the Accept version header is lost; a proxy "
                                   "may be rewriting headers, or the tenant runs an older UEM release")
        return data

    # ------------------------------------------------------------------ organization and smart groups
    @_shape_guard
    async def find_org_group(self, group_id: str) -> OrgGroup | None:
        what = f"organization group search for Group ID {group_id!r}"
        r = await self.request("GET", "/api/system/groups/search", version=2, what=what, params={"groupid": group_id})
        if r.status_code == 204:
            return None
        data = self._body(r, what, expect="OrganizationGroups")
        for g in data["OrganizationGroups"] or []:
            if str(g.get("GroupId", "")).lower() == group_id.lower():
                if not isinstance(g.get("Id"), int):
                    raise Ws1ApiError(r.status_code, None, f"{what}: Id is not a number (v1 shape?)", retryable=False)
                return OrgGroup(g["Id"], str(g.get("Uuid") or ""), str(g.get("Name") or ""), str(g["GroupId"]))
        return None

    @_shape_guard
    async def search_smart_groups(self, name: str) -> list[SmartGroup]:
        """Smart groups whose name contains `name` (the API matches substrings; callers filter exactly)."""
        what = f"smart group search for {name!r}"
        out: list[SmartGroup] = []
        page = 0
        guard = PageGuard(self.http.base_url, "Workspace ONE")  # a Total that never ends must not page forever
        while True:
            r = await self.request("GET", "/api/mdm/smartgroups/search", version=1, what=what,
                                   params={"name": name, "page": page, "pagesize": PAGE_SIZE})
            if r.status_code == 204:
                return out
            data = self._body(r, what, expect="SmartGroups")
            for g in data["SmartGroups"] or []:
                out.append(SmartGroup(int(g["SmartGroupID"]), str(g.get("SmartGroupUuid") or ""), str(g.get("Name")),
                                      str(g.get("ManagedByOrganizationGroupName") or ""), int(g.get("Devices") or 0)))
            page += 1
            if page * PAGE_SIZE >= int(data.get("Total") or 0):
                return out
            try:
                guard.count()
            except StepError as exc:
                raise Ws1ApiError(None, None, f"{what}: {exc.message}", hint=exc.hint, retryable=False) from None

    @_shape_guard
    async def get_smart_group(self, smart_group_id: int) -> SmartGroup | None:
        """One smart group by id, or None when it does not exist (any more)."""
        what = f"reading smart group {smart_group_id}"
        try:
            r = await self.request("GET", f"/api/mdm/smartgroups/{smart_group_id}", version=1, what=what)
        except Ws1ApiError as exc:
            if exc.status in (400, 404):  # the spec: 400/404 "Smart Group not found with Id"
                return None
            raise
        g = self._body(r, what, expect="SmartGroupID")
        return SmartGroup(int(g["SmartGroupID"]), str(g.get("SmartGroupUuid") or ""), str(g.get("Name")),
                          str(g.get("ManagedByOrganizationGroupName") or ""), int(g.get("Devices") or 0))

    @_shape_guard
    async def create_smart_group(self, name: str, og: OrgGroup, *, macos_min: int) -> int:
        """POST /api/mdm/smartgroups (mdmv1 SmartGroupEditV1Model): macOS devices of the organization group at or
        above the floor; returns the new id (EntityId). The Operator spelling is not enumerated by the spec
        (\"Greater Than, Less Than etc.\"): "GreaterThanOrEqualTo" is unverified."""
        body = {"Name": name, "CriteriaType": "All", "ManagedByOrganizationGroupId": str(og.id),
                "OrganizationGroups": [{"Id": str(og.id), "Uuid": og.uuid, "Name": og.name}],
                "Platforms": ["AppleOsX"],
                "OperatingSystems": [{"DeviceType": "AppleOsX", "Operator": "GreaterThanOrEqualTo",
                                      "Value": f"{macos_min}.0"}]}
        what = f"creating smart group {name!r}"
        r = await self.request("POST", "/api/mdm/smartgroups", version=1, what=what, json_body=body, retry=False)
        return int(self._body(r, what, expect="Value")["Value"])

    async def delete_smart_group(self, smart_group_id: int) -> bool:
        """True when deleted, False when it was already gone."""
        try:
            await self.request("DELETE", f"/api/mdm/smartgroups/{smart_group_id}", version=1,
                               what=f"deleting smart group {smart_group_id}")
        except Ws1ApiError as exc:
            if exc.status == 404 or (exc.status == 400 and _not_found(exc)):
                return False
            raise
        return True

    # ------------------------------------------------------------------ blobs and apps
    async def upload_blob(self, source: str | os.PathLike[str] | bytes, *, file_name: str, og_id: int,
                          module_type: str | None = None, progress: ProgressFn | None = None) -> Blob:
        """Stream a file (or small bytes) to uploadblob. Re-sent only when the server cannot have stored it:
        429/503 answers and connections that failed before sending; otherwise the error says so."""
        what = f"upload of {file_name}"
        params: dict[str, Any] = {"fileName": file_name, "organizationGroupId": og_id}
        if module_type:
            params["moduleType"] = module_type
        total = len(source) if isinstance(source, bytes) else os.path.getsize(source)
        keeper = asyncio.create_task(self.auth.keep_fresh(self.http))
        try:
            for attempt in range(1, self.policy.attempts + 1):
                headers = {**await self.auth.headers(self.http), "Accept": "application/json;version=1",
                           "Content-Type": "application/octet-stream", "Content-Length": str(total)}
                body = source if isinstance(source, bytes) else _file_chunks(source, total, progress)
                self.requests_made += 1
                try:
                    response = await self.http.request("POST", "/api/mam/blobs/uploadblob", params=params,
                                                       content=body, headers=headers, timeout=UPLOAD_TIMEOUT)
                except httpx.ConnectError as exc:  # nothing was sent: safe to try again
                    err = describe_transport_error(exc, self.api_url)
                    if attempt == self.policy.attempts:
                        raise Ws1ApiError(None, None, f"{what} failed: {err.message}", hint=err.hint) from None
                    await asyncio.sleep(self.policy.backoff(attempt))
                    continue
                except httpx.TransportError as exc:
                    err = describe_transport_error(exc, self.api_url)
                    raise Ws1ApiError(None, None, f"{what} was interrupted: {err.message}", retryable=True,
                                      hint="the server may have stored part or all of it; odatui looks for the app "
                                           "before it uploads again") from None
                if response.status_code in (429, 503) or (response.status_code == 401 and self.auth.kind == "oauth"
                                                         and attempt == 1):
                    # Refused before storing anything (rate limit, maintenance, token expired on arrival).
                    if response.status_code == 401:
                        self.auth.invalidate()
                    elif attempt < self.policy.attempts:
                        await asyncio.sleep(self.policy.wait_for(response, attempt))
                    if attempt < self.policy.attempts:
                        continue
                if response.status_code != 200:
                    raise self.error(response, what)
                data = self._body(response, what, expect="Value")
                return Blob(int(data["Value"]), data.get("uuid"))
            raise Ws1ApiError(None, None, f"{what} failed after {self.policy.attempts} attempts")
        finally:
            keeper.cancel()

    @_shape_guard
    async def create_macos_app(self, og_id: int, *, app_blob_id: int, pkginfo_blob_id: int, version: str,
                               name: str) -> int:
        """Create the macOS app from its blobs; returns the app id from the Location header. If the answer is
        lost or a 5xx, looks for an app of that name and version before anyone sends the create again."""
        what = f"creating the macOS app {name} {version}"
        body = {"applicationBlobId": app_blob_id, "pkgInfoBlobId": pkginfo_blob_id, "version": version}
        try:
            r = await self.request("POST", f"/api/mam/groups/{og_id}/macos/apps", version=1, what=what,
                                   json_body=body, ok=(201,))
        except Ws1ApiError as exc:
            if exc.status is not None and exc.status < 500:
                raise
            existing = await self.find_app(og_id, name, version)
            if existing is not None:
                log.info("%s: the answer was lost but the app exists (id %s)", what, existing.id)
                return existing.id
            raise
        location = r.headers.get("Location", "")
        tail = location.rstrip("/").rsplit("/", 1)[-1]
        if not tail.isdigit():
            raise Ws1ApiError(r.status_code, None, f"{what}: no app id in the Location header ({location!r})",
                              retryable=False)
        return int(tail)

    @_shape_guard
    async def get_internal_app(self, app_id: int) -> dict[str, Any]:
        what = f"reading internal app {app_id}"
        r = await self.request("GET", f"/api/mam/apps/internal/{app_id}", version=1, what=what)
        return self._body(r, what, expect="uuid")

    @_shape_guard
    async def search_apps(self, og_id: int, name: str) -> list[AppSummary]:
        what = f"app search for {name!r}"
        r = await self.request("GET", "/api/mam/apps/search", version=1, what=what,
                               params={"locationgroupid": og_id, "applicationname": name, "platform": "AppleOsX",
                                       "pagesize": PAGE_SIZE})
        if r.status_code == 204:
            return []
        data = self._body(r, what, expect="Application")
        out = []
        for a in data["Application"] or []:
            ident = a.get("Id")
            app_id = ident.get("Value") if isinstance(ident, dict) else ident
            out.append(AppSummary(int(app_id), str(a.get("Uuid") or ""), str(a.get("ApplicationName") or ""),
                                  str(a.get("ActualFileVersion") or ""), str(a.get("Status") or ""),
                                  str(a.get("BundleId") or "")))
        return out

    async def find_app(self, og_id: int, name: str, version: str) -> AppSummary | None:
        """The active app with exactly this name and version, if any."""
        for app in await self.search_apps(og_id, name):
            if app.name == name and app.version == version and app.status.lower() != "retired":
                return app
        return None

    async def active_apps(self, og_id: int, name: str) -> list[AppSummary]:
        """Every version of the app with exactly this name that is not retired (WS1 keeps each version of an
        internal app as its own app record)."""
        return [a for a in await self.search_apps(og_id, name) if a.name == name and a.status.lower() != "retired"]

    async def app_exists(self, app_id: int) -> bool:
        try:
            await self.get_internal_app(app_id)
        except Ws1ApiError as exc:
            if exc.error_code == 7000 or exc.status == 404:  # 7000 AppNotFoundOrInAccsessible (answered as 401)
                return False
            raise
        return True

    async def retire_internal_app(self, app_id: int) -> None:
        """POST /api/mam/apps/internal/{id}/retire (mamv1): the version stays listed, no longer deployed."""
        try:
            await self.request("POST", f"/api/mam/apps/internal/{app_id}/retire", version=1,
                               what=f"retiring app {app_id}", retry=True, ok=(200, 202))
        except Ws1ApiError as exc:
            if exc.status == 403 and "already retired" in exc.api_message.lower():  # mamv1: 403 when already retired
                return
            raise

    async def unretire_internal_app(self, app_id: int) -> None:
        """POST /api/mam/apps/internal/{id}/unretire (mamv1): a retired version is deployable again."""
        try:
            await self.request("POST", f"/api/mam/apps/internal/{app_id}/unretire", version=1,
                               what=f"unretiring app {app_id}", retry=True, ok=(200, 202))
        except Ws1ApiError as exc:
            if exc.status == 403 and "already unretired" in exc.api_message.lower():
                return
            raise

    async def delete_internal_app(self, app_id: int) -> bool:
        """DELETE /api/mam/apps/internal/{id} (mamv1). True when deleted, False when it was already gone."""
        try:
            await self.request("DELETE", f"/api/mam/apps/internal/{app_id}", version=1,
                               what=f"deleting app {app_id}", ok=(200, 202))
        except Ws1ApiError as exc:
            # mamv1: 400 "Application not found or user does not have access to it."
            if exc.error_code == 7000 or exc.status == 404 or (exc.status == 400 and _not_found(exc)):
                return False
            raise
        return True

    @_shape_guard
    async def get_assignment_rules(self, app_uuid: str) -> dict[str, Any]:
        what = f"reading the assignment rules of app {app_uuid}"
        r = await self.request("GET", f"/api/mam/apps/{app_uuid}/assignment-rules", version=2, what=what)
        if r.status_code == 204:
            return {"assignments": [], "excluded_smart_groups": []}
        return self._body(r, what, expect="assignments")

    async def put_assignment_rules(self, app_uuid: str, rules: dict[str, Any]) -> None:
        """Full replace and publish (202). PUT is idempotent, so a lost answer may be re-sent."""
        await self.request("PUT", f"/api/mam/apps/{app_uuid}/assignment-rules", version=2,
                           what=f"saving the assignment rules of app {app_uuid}", json_body=rules, ok=(202, 200))

    # ------------------------------------------------------------------ profiles
    @_shape_guard
    async def search_profiles(self, og_id: int, name: str) -> list[ProfileSummary]:
        what = f"profile search for {name!r}"
        r = await self.request("GET", "/api/mdm/profiles/search", version=2, what=what,
                               params={"searchtext": name, "platform": "AppleOsX", "organizationgroupid": og_id,
                                       "pagesize": PAGE_SIZE})
        if r.status_code == 204:
            return []
        data = self._body(r, what, expect="ProfileList")
        return [ProfileSummary(int(p["ProfileId"]), str(p.get("ProfileUuid") or ""), str(p.get("ProfileName") or ""),
                               str(p.get("AssignmentType") or ""),
                               tuple(int(s["Id"]) for s in p.get("AssignmentSmartGroups") or [] if s.get("Id")))
                for p in data["ProfileList"] or []]

    @_shape_guard
    async def get_profile(self, profile_id: int) -> dict[str, Any]:
        what = f"reading profile {profile_id}"
        r = await self.request("GET", f"/api/mdm/profiles/{profile_id}", version=2, what=what)
        return self._body(r, what, expect="General")

    @_shape_guard
    async def create_macos_profile(self, body: dict[str, Any]) -> int:
        name = body.get("General", {}).get("Name", "")
        what = f"creating the macOS profile {name!r}"
        og_id = body.get("General", {}).get("ManagedLocationGroupID")
        try:
            r = await self.request("POST", "/api/mdm/profiles/platforms/appleosx/create", version=2, what=what,
                                   json_body=body, ok=(200, 201))
        except Ws1ApiError as exc:
            if exc.status is not None and exc.status < 500:
                raise
            same = [p for p in await self.search_profiles(og_id, name) if p.name == name]
            if len(same) == 1:
                return same[0].id
            raise
        data = self._body(r, what)
        if isinstance(data, bool) or not isinstance(data, int):
            raise Ws1ApiError(r.status_code, None, f"{what}: expected the new profile id, got {str(data)[:80]!r}",
                              retryable=False)
        return data

    async def update_macos_profile(self, body: dict[str, Any]) -> None:
        # POST, but it names the profile by id: sending it twice writes the same thing twice.
        await self.request("POST", "/api/mdm/profiles/platforms/appleosx/update", version=2,
                           what=f"updating profile {body.get('General', {}).get('ProfileId')}", json_body=body,
                           retry=True)

    async def delete_profile(self, profile_id: int) -> bool:
        """DELETE /api/mdm/profiles/{profileid} (mdmv1). True when deleted, False when it was already gone."""
        try:
            await self.request("DELETE", f"/api/mdm/profiles/{profile_id}", version=1,
                               what=f"deleting profile {profile_id}")
        except Ws1ApiError as exc:
            # mdmv1: 400 "Profile not found or User does not have access to the Profile."
            if exc.status == 404 or (exc.status == 400 and _not_found(exc)):
                return False
            raise
        return True

    async def profile_exists(self, profile_id: int) -> bool:
        try:
            await self.get_profile(profile_id)
        except Ws1ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    # ------------------------------------------------------------------ rollout
    @_shape_guard
    async def smart_group_device_ids(self, smart_group_id: int) -> list[int]:
        what = f"listing the devices of smart group {smart_group_id}"
        r = await self.request("GET", f"/api/mdm/smartgroups/{smart_group_id}/devices", version=1, what=what)
        if r.status_code == 204:
            return []
        data = self._body(r, what, expect="Devices")
        return [int(d["Id"]) for d in data["Devices"] or [] if str(d.get("Id", "")).isdigit()]

    async def _paged_ids(self, path: str, params: dict[str, Any], *, list_key: str, total_key: str,
                         id_of: Callable[[Any], int], what: str, sem: asyncio.Semaphore) -> set[int]:
        async def page(n: int) -> dict[str, Any] | None:
            async with sem:
                r = await self.request("GET", path, version=1, what=what,
                                       params={**params, "page": n, "pagesize": PAGE_SIZE})
            return None if r.status_code == 204 else self._body(r, what, expect=list_key)

        first = await page(0)
        if first is None:
            return set()
        pages = [first]
        total = int(first.get(total_key) or 0)
        more = math.ceil(total / PAGE_SIZE) - 1
        if more + 1 > MAX_PAGES:  # a hostile Total would otherwise start millions of requests at once
            raise Ws1ApiError(None, None, f"{what}: Workspace ONE announced {total} items, more than the "
                              f"{MAX_PAGES}-page limit for one listing; stopped paging", retryable=False)
        if more > 0:
            pages += await asyncio.gather(*(page(n) for n in range(1, more + 1)))
        return {id_of(item) for p in pages if p for item in p[list_key] or []}

    @_shape_guard
    async def rollout_status(self, smart_group_id: int, app_id: int | None, profile_id: int | None,
                             *, og_id: int | None = None) -> RolloutStatus:
        """How far the fleet got: devices in the smart group, and how many of them have the profile and the app."""
        start = self.requests_made
        sem = asyncio.Semaphore(PAGE_CONCURRENCY)
        members_task = asyncio.create_task(self.smart_group_device_ids(smart_group_id))
        profile_ids: set[int] = set()
        app_ids: set[int] = set()
        profile_uuid = None
        if profile_id is not None:
            general = (await self.get_profile(profile_id)).get("General") or {}
            profile_uuid = general.get("ProfileUuid")
            og_id = og_id or general.get("ManagedLocationGroupID")
        jobs = []
        if profile_uuid:
            jobs.append(self._paged_ids(f"/api/mdm/profiles/{profile_uuid}/devices", {"profilestatus": "INSTALLED"},
                                        list_key="profileAssignedDevices", total_key="TotalResults",
                                        id_of=lambda d: int(d["id"]), what="profile install status", sem=sem))
        if app_id is not None and og_id is not None:
            jobs.append(self._paged_ids(f"/api/mam/apps/internal/{app_id}/devices",
                                        {"status": "installed", "locationgroupid": og_id},
                                        list_key="DeviceId", total_key="Total", id_of=int,
                                        what="app install status", sem=sem))
        results = await asyncio.gather(*jobs)
        if profile_uuid:
            profile_ids = results[0]
        if app_id is not None and og_id is not None:
            app_ids = results[-1]
        members = set(await members_task)
        return RolloutStatus(devices=len(members), profile_installed=len(profile_ids & members),
                             app_installed=len(app_ids & members), requests_made=self.requests_made - start)

    # ------------------------------------------------------------------ per-device status (odatui.ws1.devices)
    async def profile_device_ids(self, profile_uuid: str, status: str, sem: asyncio.Semaphore) -> set[int]:
        """ProfilesV1_GetDevicesForProfileStatus (mdm v1): ids of devices with profilestatus INSTALLED or
        NOT_INSTALLED (assigned, not installed), all pages."""
        return await self._paged_ids(f"/api/mdm/profiles/{profile_uuid}/devices", {"profilestatus": status},
                                     list_key="profileAssignedDevices", total_key="TotalResults",
                                     id_of=lambda d: int(d["id"]), what=f"profile devices ({status.lower()})", sem=sem)

    async def app_device_ids(self, app_id: int, og_id: int, sem: asyncio.Semaphore) -> set[int]:
        """InternalAppsV1_GetInternalAppInstalledOrAssignedDevices (mam v1), status=installed, all pages."""
        return await self._paged_ids(f"/api/mam/apps/internal/{app_id}/devices",
                                     {"status": "installed", "locationgroupid": og_id}, list_key="DeviceId",
                                     total_key="Total", id_of=int, what="app install status", sem=sem)

    async def device_page(self, og_id: int, page: int) -> tuple[list[dict[str, Any]], int]:
        """Devices_SearchAsync (mdm v1, GET /mdm/devices/search): one page of the OG's Macs with serial, name,
        OperatingSystem, UserName and UserApprovedEnrollment (DeviceExtended); returns (devices, Total)."""
        what = f"listing devices (page {page})"
        r = await self.request("GET", "/api/mdm/devices/search", version=1, what=what,
                               params={"lgid": og_id, "platform": "AppleOsX", "page": page, "pagesize": PAGE_SIZE})
        if r.status_code == 204:
            return [], 0
        data = self._body(r, what, expect="Devices")
        return [d for d in data.get("Devices") or [] if isinstance(d, dict)], int(data.get("Total") or 0)

    async def device_profiles(self, device_id: int) -> list[dict[str, Any]]:
        """Profiles_GetProfilesByDevice (mdm v1): the device's profiles with their Status."""
        what = f"profiles of device {device_id}"
        r = await self.request("GET", f"/api/mdm/devices/{device_id}/profiles", version=1, what=what)
        if r.status_code == 204:
            return []
        return list(self._body(r, what, expect="DeviceProfiles").get("DeviceProfiles") or [])

    async def device_certificates(self, device_id: int) -> list[dict[str, Any]]:
        """Certificates_GetCertificatesByDeviceAsync (mdm v1): the device's certificates (Name, IssuedBy,
        ExpiresOn, Status, Error)."""
        what = f"certificates of device {device_id}"
        r = await self.request("GET", f"/api/mdm/devices/{device_id}/certificates", version=1, what=what)
        if r.status_code == 204:
            return []
        return list(self._body(r, what, expect="DeviceCertificates").get("DeviceCertificates") or [])

    async def install_profile(self, profile_id: int, device_id: int) -> None:
        """ProfilesV1_InstallProfileAsync (mdm v1): POST /mdm/profiles/{profileid}/install with a DeviceInfo
        body; WS1 queues an InstallProfile command for that Mac. Sending it twice queues it twice (harmless)."""
        await self.request("POST", f"/api/mdm/profiles/{profile_id}/install", version=1,
                           what=f"re-pushing profile {profile_id} to device {device_id}",
                           json_body={"DeviceId": device_id}, ok=(200, 202))


async def _file_chunks(path: str | os.PathLike[str], total: int, progress: ProgressFn | None) -> AsyncIterator[bytes]:
    """Read the file in 1 MiB chunks in a worker thread (the event loop never waits on the disk)."""
    started = time.monotonic()
    sent = 0
    last_report = 0.0
    with open(path, "rb") as fh:
        while True:
            chunk = await asyncio.to_thread(fh.read, CHUNK)
            if not chunk:
                break
            yield chunk
            sent += len(chunk)
            now = time.monotonic()
            if progress is not None and (now - last_report >= 0.1 or sent >= total):
                last_report = now
                result = progress(sent, total, sent / max(now - started, 1e-6))
                if inspect.isawaitable(result):
                    await result


def _not_found(exc: Ws1ApiError) -> bool:
    return "not found" in exc.api_message.lower()


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
