"""Async client for exactly the Okta Management API calls odatui's steps need (reference/okta.md §3–4).

Auth: an SSWS API token, or an OAuth service app with `private_key_jwt` (client assertion signed with the admin's
key, access token cached until shortly before it expires). Rate limits: never more than 2 requests in flight per
org, slow down when `X-Rate-Limit-Remaining` drops under 10 %, sleep until `X-Rate-Limit-Reset` on 429. Paging
follows `Link: rel="next"` as an opaque URL. Every failure is one `OktaApiError`; the steps turn its code into a
sentence for the admin. Secrets never appear in messages or logs (they are registered with the log redactor).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
import weakref
from collections.abc import AsyncIterator
from typing import Any

import httpx

from odatui.errors import ConfigError, StepError
from odatui.http import IDEMPOTENT, RETRY_STATUS, RetryPolicy, describe_transport_error, make_client, server_wait
from odatui.log import get_logger, register_secret

log = get_logger("okta")

SCOPES = ("okta.apps.read", "okta.apps.manage", "okta.groups.read", "okta.users.read", "okta.authenticators.read")
MAX_IN_FLIGHT = 2
SLOW_DOWN_BELOW = 0.10  # fraction of X-Rate-Limit-Limit left
TOKEN_EARLY_REFRESH = 120.0  # seconds before expiry a cached access token is replaced
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class OktaApiError(StepError):
    """An Okta call failed. `status` 0 means no HTTP answer (network/TLS); `error_code` is Okta's `errorCode`
    (E0000011, …), the OAuth `error` (invalid_client, …), or "non_json" for a body that is not Okta's."""

    def __init__(self, status: int, error_code: str, summary: str, error_id: str = "", *,
                 causes: list[str] | None = None, hint: str | None = None, retryable: bool | None = None,
                 operation: str = "") -> None:
        if retryable is None:
            retryable = status == 429 or status >= 500 or status == 0
        where = f" ({operation})" if operation else ""
        code = f" {error_code}" if error_code and error_code != "non_json" else ""
        message = f"Okta answered HTTP {status}{code}{where}: {summary}" if status else f"{summary}{where}"
        if causes:
            message += " — " + "; ".join(causes)
        super().__init__(message, hint=hint, retryable=retryable)
        self.status = status
        self.error_code = error_code
        self.summary = summary
        self.error_id = error_id
        self.causes = causes or []
        self.operation = operation


class _OrgLimiter:
    """Shared by every client of one org in one event loop: in-flight cap and rate-limit pacing."""

    def __init__(self) -> None:
        self.sem = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.not_before = 0.0  # monotonic time before which no request starts
        self.in_flight = 0
        self.peak_in_flight = 0

    async def wait_turn(self) -> None:
        delay = self.not_before - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def pause(self, seconds: float) -> None:
        self.not_before = max(self.not_before, time.monotonic() + seconds)

    def observe(self, response: httpx.Response) -> None:
        try:
            limit = int(response.headers["X-Rate-Limit-Limit"])
            remaining = int(response.headers["X-Rate-Limit-Remaining"])
            reset = float(response.headers["X-Rate-Limit-Reset"])
        except (KeyError, ValueError):
            return
        if limit > 0 and remaining < limit * SLOW_DOWN_BELOW:
            # Spread what is left of the window over the remaining calls instead of running into a 429.
            window_left = max(0.0, reset - time.time())
            self.pause(min(window_left, window_left / max(remaining, 1)))


_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _OrgLimiter]] = weakref.WeakKeyDictionary()


def org_limiter(host: str) -> _OrgLimiter:
    loop = asyncio.get_running_loop()
    per_loop = _limiters.setdefault(loop, {})
    if host not in per_loop:
        per_loop[host] = _OrgLimiter()
    return per_loop[host]


def _load_signing_key(text: str) -> tuple[Any, str, str | None]:
    """(key, JWS algorithm, kid) from a PEM private key or a private JWK. Never echoes the key."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    text = text.strip()
    if text.startswith("{"):
        try:
            jwk = jwt.PyJWK(json.loads(text))
        except (ValueError, jwt.PyJWTError):
            raise StepError("The Okta service app private key is a JSON value but not a usable private JWK.",
                            hint="paste the private key JWK Okta generated (it has \"d\"), or a PEM private key") from None
        return jwk.key, jwk.algorithm_name or "RS256", jwk.key_id
    try:
        key = serialization.load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise StepError("The Okta service app private key is not an unencrypted PEM private key or a JWK.",
                        hint="store the key with `odatui secrets set okta.private_key --from-file KEY.pem` "
                        "(PKCS#8 or PKCS#1 PEM, not password-protected)") from None
    if isinstance(key, rsa.RSAPrivateKey):
        return key, "RS256", None
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}.get(key.curve.name)
        if alg:
            return key, alg, None
    raise StepError("The Okta service app private key has a type Okta does not accept for private_key_jwt.",
                    hint="use an RSA key (RS256) or an EC P-256/P-384/P-521 key")


def _next_link(response: httpx.Response) -> str | None:
    for value in response.headers.get_list("link"):
        for match in _LINK_NEXT.finditer(value):
            return match.group(1)
    return None


class OktaClient:
    def __init__(self, org_url: str, *, api_token: str | None = None, service_app_client_id: str | None = None,
                 private_key: str | None = None, ca_bundle: str | None = None, page_size: int = 200,
                 policy: RetryPolicy = RetryPolicy(), scopes: tuple[str, ...] = SCOPES,
                 event_hooks: dict[str, list[Any]] | None = None, timeout: httpx.Timeout | None = None) -> None:
        self.org_url = org_url.rstrip("/")
        self.host = self.org_url.removeprefix("https://")
        self.page_size = page_size
        self.policy = policy
        self.scopes = scopes
        self.auth_mode = "api_token" if api_token else ("service_app" if service_app_client_id else "none")
        self._api_token = api_token
        self._client_id = service_app_client_id
        self._signing: tuple[Any, str, str | None] | None = None
        if self.auth_mode == "service_app":
            if not private_key:
                raise StepError("The Okta service app has no private key.",
                                hint="run `odatui secrets set okta.private_key --from-file KEY.pem`")
            register_secret(private_key)
            self._signing = _load_signing_key(private_key)
        if api_token:
            register_secret(api_token)
        self._access_token: str | None = None
        self._token_expires = 0.0
        self._groups: dict[str, dict[str, Any]] = {}  # found groups by name (see group_by_name)
        self._token_lock = asyncio.Lock()
        kwargs: dict[str, Any] = {"ca_bundle": ca_bundle or None, "max_connections": MAX_IN_FLIGHT,
                                  "headers": {"Accept": "application/json"}, "event_hooks": event_hooks}
        if timeout is not None:
            kwargs["timeout"] = timeout
        self._http = make_client(self.org_url, **kwargs)

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

    # --- auth ------------------------------------------------------------------------------------------------
    async def _auth_header(self) -> dict[str, str]:
        if self.auth_mode == "api_token":
            return {"Authorization": f"SSWS {self._api_token}"}
        if self.auth_mode == "service_app":
            return {"Authorization": f"Bearer {await self.access_token()}"}
        raise StepError("odatui has no Okta API access in this mode (okta.auth = \"none\").",
                        hint="set okta.auth to api_token or service_app to let odatui read Okta")

    def _assertion(self) -> str:
        import jwt

        assert self._signing is not None and self._client_id
        key, alg, kid = self._signing
        now = int(time.time())
        claims = {"iss": self._client_id, "sub": self._client_id, "aud": f"{self.org_url}/oauth2/v1/token",
                  "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid} if kid else None)

    async def access_token(self) -> str:
        """The service app's access token, from cache while it has more than two minutes left."""
        async with self._token_lock:
            if self._access_token and time.time() < self._token_expires - TOKEN_EARLY_REFRESH:
                return self._access_token
            form = {"grant_type": "client_credentials", "scope": " ".join(self.scopes),
                    "client_assertion_type": ASSERTION_TYPE, "client_assertion": self._assertion()}
            response = await self._send("POST", "/oauth2/v1/token", data=form, auth=False,
                                        operation="service app token")
            body = self._json(response, "service app token")
            token = body.get("access_token") if isinstance(body, dict) else None
            if not token:
                raise OktaApiError(response.status_code, "invalid_response", "the token endpoint returned no access_token",
                                   operation="service app token")
            register_secret(token)
            self._access_token = token
            self._token_expires = time.time() + float(body.get("expires_in", 3600))
            log.info("service app token for %s obtained, valid %ss", self.host, body.get("expires_in"))
            return token

    # --- transport ---------------------------------------------------------------------------------------------
    async def _send(self, method: str, url: str, *, auth: bool = True, operation: str = "",
                    **kwargs: Any) -> httpx.Response:
        limiter = org_limiter(self.host)
        may_retry = method in IDEMPOTENT
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            await limiter.wait_turn()
            headers = await self._auth_header() if auth else {}
            async with limiter.sem:
                limiter.in_flight += 1
                limiter.peak_in_flight = max(limiter.peak_in_flight, limiter.in_flight)
                try:
                    response = await self._http.request(method, url, headers=headers, **kwargs)
                except httpx.TransportError as exc:
                    err = describe_transport_error(exc, self.org_url)
                    if may_retry and err.retryable and attempt < self.policy.attempts:
                        wait = self.policy.backoff(attempt)
                        log.info("%s %s: %s, retry %d in %.1fs", method, _path(url), type(exc).__name__, attempt, wait)
                        await asyncio.sleep(wait)
                        continue
                    raise OktaApiError(0, "network", err.message, hint=err.hint, retryable=err.retryable,
                                       operation=operation) from None
                finally:
                    limiter.in_flight -= 1
            limiter.observe(response)
            status = response.status_code
            if status == 401 and self.auth_mode == "service_app" and auth and not refreshed:
                # The cached access token may have been revoked or expired early: get a new one once.
                refreshed = True
                self._access_token = None
                continue
            if status == 429 or (status in RETRY_STATUS and may_retry):
                if attempt < self.policy.attempts:
                    hinted = server_wait(response)
                    if status == 429:
                        # Until the reset time, at least a second; every caller of this org waits, not only this one.
                        wait = min(self.policy.max_wait, max(1.0, hinted if hinted is not None else 1.0))
                        limiter.pause(wait)
                    else:
                        wait = self.policy.wait_for(response, attempt)
                    log.info("%s %s: HTTP %d, retry %d in %.1fs", method, _path(url), status, attempt, wait)
                    if status != 429:
                        await asyncio.sleep(wait)
                    continue
            return response

    def _raise_for(self, response: httpx.Response, operation: str) -> None:
        if response.status_code < 400:
            return
        body = self._json(response, operation, strict=False)
        status = response.status_code
        if isinstance(body, dict) and "errorCode" in body:
            causes = [str(c.get("errorSummary", c)) for c in body.get("errorCauses") or [] if isinstance(c, dict)]
            raise OktaApiError(status, str(body["errorCode"]), str(body.get("errorSummary", "")),
                               str(body.get("errorId", "")), causes=causes, operation=operation)
        if isinstance(body, dict) and "error" in body:
            raise OktaApiError(status, str(body["error"]), str(body.get("error_description", "")), operation=operation)
        raise OktaApiError(status, "non_json" if body is None else "unknown",
                           _describe_foreign(response), operation=operation,
                           hint="a proxy or load balancer may have answered instead of Okta; check okta.org_url "
                           "and any proxy in between")

    def _json(self, response: httpx.Response, operation: str, *, strict: bool = True) -> Any:
        ctype = response.headers.get("content-type", "")
        if response.status_code >= 400 and strict:
            self._raise_for(response, operation)
        if "json" not in ctype:
            if not strict:
                return None
            raise OktaApiError(response.status_code, "non_json", _describe_foreign(response), operation=operation,
                               hint="a proxy, captive portal or the wrong host answered; check okta.org_url",
                               retryable=False)
        try:
            return response.json()
        except ValueError:
            if not strict:
                return None
            raise OktaApiError(response.status_code, "non_json", "Okta's answer was not valid JSON",
                               operation=operation) from None

    async def _get_json(self, url: str, operation: str, **kwargs: Any) -> Any:
        response = await self._send("GET", url, operation=operation, **kwargs)
        self._raise_for(response, operation)
        return self._json(response, operation)

    async def _pages(self, url: str, params: dict[str, Any], operation: str) -> AsyncIterator[list[dict[str, Any]]]:
        next_url: str | None = url
        first = True
        while next_url:
            response = await self._send("GET", next_url, operation=operation, params=params if first else None)
            self._raise_for(response, operation)
            page = self._json(response, operation)
            if not isinstance(page, list):
                raise OktaApiError(response.status_code, "invalid_response", "expected a list", operation=operation)
            yield page
            next_url, first = _next_link(response), False  # opaque: followed as given, never rebuilt

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
        self._raise_for(response, "assign group")
        return self._json(response, "assign group")

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
        async for page in self._pages("/api/v1/groups", params, "find group"):
            for group in page:
                if group.get("profile", {}).get("name") == name:
                    return group
        return None

    async def group_users(self, group_id: str) -> AsyncIterator[list[dict[str, Any]]]:
        """listGroupUsers, page by page: full user objects (`status`, `credentials.password` present or not)."""
        async for page in self._pages(f"/api/v1/groups/{group_id}/users", {"limit": 1000}, "list group users"):
            yield page

    async def apple_app_site_association(self) -> dict[str, Any] | None:
        """The org host's /.well-known/apple-app-site-association (no auth), or None when it is not JSON."""
        response = await self._send("GET", "/.well-known/apple-app-site-association", auth=False,
                                    operation="apple-app-site-association")
        self._raise_for(response, "apple-app-site-association")
        data = self._json(response, "apple-app-site-association", strict=False)
        return data if isinstance(data, dict) else None

    async def count_devices(self, platform: str = "MACOS") -> int:
        """listDevices with `search=profile.platform eq "MACOS"`: Macs registered with Okta Verify. The API has
        no total, so this pages through (200 a page, the maximum) and counts without keeping the devices."""
        total = 0
        async for page in self._pages("/api/v1/devices", {"search": f'profile.platform eq "{platform}"',
                                                          "limit": 200}, "list devices"):
            total += len(page)
        return total

    async def check_credentials(self) -> str:
        """The cheapest call that proves the credentials work; returns who or what they belong to."""
        if self.auth_mode == "api_token":
            me = await self._get_json("/api/v1/users/me", "credential check")
            return f"API token of {me.get('profile', {}).get('login', me.get('id', 'an admin'))}"
        if self.auth_mode == "service_app":
            await self.access_token()
            await self._get_json("/api/v1/apps", "service app credential check", params={"limit": 1})
            return f"service app {self._client_id}"
        raise StepError("odatui has no Okta API access in this mode (okta.auth = \"none\").")


def _path(url: str) -> str:
    return httpx.URL(url).path if "://" in url else url.split("?")[0]


def _describe_foreign(response: httpx.Response) -> str:
    ctype = response.headers.get("content-type", "no content type").split(";")[0]
    text = response.text[:2000] if response.content else ""
    title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
    snippet = title.group(1).strip() if title else re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()[:80]
    return f"not an Okta API answer ({ctype}{': ' + snippet if snippet else ''})"


__all__ = ["OktaApiError", "OktaClient", "SCOPES", "org_limiter"]
