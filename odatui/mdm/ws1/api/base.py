"""The core of the Workspace ONE client: connection, auth, `Accept: application/json;version=N` per call, and
the answer's shape checked — the API silently answers v1 when the version is lost (a proxy, a trailing
semicolon), which must be an error, not a mis-parse (Workspace ONE UEM REST API versioning:
https://docs.omnissa.com/, "Workspace ONE UEM API Versioning")."""

from __future__ import annotations

import json
from typing import Any, Self

import httpx

from odatui.core.errors import SecretsUnavailable, StepError
from odatui.core.http import Pacer, ResendFn, RetryPolicy, make_client, send
from odatui.core.http_body import DEFAULT_LIMIT
from odatui.mdm.ws1.api.auth import BasicAuth, OAuthClientCredentials
from odatui.mdm.ws1.api.errors import Ws1ApiError, error_for, json_or_none, not_found
from odatui.mdm.ws1.api.pacing import DEFAULT_PER_MINUTE, Budgeted, BudgetSpent, RequestBudget, tenant_limiter

PAGE_SIZE = 500  # the API's maximum for device lists
PAGE_CONCURRENCY = 8  # pages in flight per listing; well inside WS1's per-minute API quota


class Ws1Base:
    """Connection, auth and the one `request` every WS1 call goes through; the resource modules build on it."""

    def __init__(self, api_url: str, auth: BasicAuth | OAuthClientCredentials, *, ca_bundle: str | None = None,
                 policy: RetryPolicy = RetryPolicy(), requests_per_minute: int = DEFAULT_PER_MINUTE) -> None:
        self.api_url = api_url.rstrip("/")
        self.auth = auth
        self.policy = policy
        self.http = make_client(self.api_url, ca_bundle=ca_bundle, max_connections=PAGE_CONCURRENCY + 2)
        self.requests_made = 0
        self.requests_per_minute = requests_per_minute
        # A cap on the requests this client sends (every attempt counted), set for `status --devices --detail`.
        self.budget: RequestBudget | None = None

    def pacer(self) -> Pacer:
        """The tenant's rate limit (shared in this event loop), with this client's request budget when one is set."""
        limiter = tenant_limiter(self.api_url, self.requests_per_minute)
        return limiter if self.budget is None else Budgeted(limiter, self.budget)

    @classmethod
    def from_config(cls, cfg: Any, secrets: Any, *, policy: RetryPolicy = RetryPolicy()) -> Self:
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
            auth: BasicAuth | OAuthClientCredentials = OAuthClientCredentials(cfg.token_url, cfg.oauth_client_id,
                                               secrets.require("ws1.client_secret", target), tenant)
        else:
            if not cfg.username:
                raise StepError("ws1.auth is basic but ws1.username is empty.", hint="set [ws1] username")
            auth = BasicAuth(cfg.username, secrets.require("ws1.password", target),
                              secrets.require("ws1.tenant_code", target))
        return cls(cfg.api_url, auth, ca_bundle=cfg.ca_bundle or None, policy=policy,
                   requests_per_minute=getattr(cfg, "requests_per_minute", DEFAULT_PER_MINUTE))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ core
    async def request(self, method: str, path: str, *, version: int, what: str, params: dict[str, Any] | None = None,
                      json_body: Any = None, ok: tuple[int, ...] = (200,), retry: bool | None = None,
                      limit: int = DEFAULT_LIMIT) -> httpx.Response:
        """One API call with auth, version header and retry policy; error statuses raise Ws1ApiError.
        A 204 is returned as is (callers treat it as "none"). `limit`: the answer body's cap (odatui.core.http_body)."""
        content = None
        extra = {"Accept": f"application/json;version={version}"}
        if json_body is not None:
            content = json.dumps(json_body).encode()
            extra["Content-Type"] = "application/json"

        async def fresh_headers() -> dict[str, str]:
            return {**await self.auth.headers(self.http), **extra}

        self.requests_made += 1
        try:
            response = await send(self.http, method, path, policy=self.policy, retry=retry, params=params,
                                  content=content, fresh_headers=fresh_headers, resend=self._renew_once(),
                                  pacer=self.pacer(), limit=limit)
        except (Ws1ApiError, BudgetSpent):
            raise
        except StepError as exc:
            raise Ws1ApiError(None, None, f"{what} failed: {exc.message}", hint=exc.hint,
                              retryable=exc.retryable) from None
        if response.status_code in ok or response.status_code == 204:
            return response
        raise self.error(response, what)

    async def delete(self, path: str, *, version: int, what: str, ok: tuple[int, ...] = (200,),
                     gone_codes: tuple[int, ...] = ()) -> bool:
        """DELETE `path`: True when deleted, False when it was already gone (404, WS1's 400 "… not found …", or an
        errorCode in `gone_codes`), so removing twice is harmless."""
        try:
            await self.request("DELETE", path, version=version, what=what, ok=ok)
        except Ws1ApiError as exc:
            if exc.status == 404 or (exc.status == 400 and not_found(exc)) or exc.error_code in gone_codes:
                return False
            raise
        return True

    def _renew_once(self) -> ResendFn:
        """The `resend` hook of one call: an OAuth bearer token refused (expired or revoked) before anything was
        done is renewed, and the call sent again, once."""
        renewed = False

        async def resend(response: httpx.Response) -> bool:
            nonlocal renewed
            if response.status_code == 401 and self.auth.kind == "oauth" and not renewed:
                renewed = True
                self.auth.invalidate()
                self.requests_made += 1
                return True
            return False

        return resend

    def error(self, response: httpx.Response, what: str) -> Ws1ApiError:
        return error_for(response, what, self.auth.kind)

    def _body(self, response: httpx.Response, what: str, expect: str | None = None) -> Any:
        """The JSON body; `expect` names the key the requested version's shape must carry."""
        data = json_or_none(response)
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
