"""Workspace ONE API auth: Basic + `aw-tenant-code`, or OAuth client credentials at the region token URL.

The token is renewed before its hour runs out, and kept fresh in the background while a long upload runs
(Workspace ONE UEM, "Using UEM Functionality with a REST API" — OAuth client credentials: https://docs.omnissa.com/).
"""

from __future__ import annotations

import asyncio
import base64
import time

import httpx

from odatui.core.errors import StepError
from odatui.core.http import send
from odatui.core.log import get_logger, register_secret
from odatui.mdm.ws1.api.errors import Ws1ApiError, json_or_none

log = get_logger("ws1")


class BasicAuth:
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


class OAuthClientCredentials:
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
        data = json_or_none(response)
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

