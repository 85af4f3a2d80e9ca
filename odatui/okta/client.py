"""Async client for exactly the Okta Management API calls odatui's steps need (Okta Management API reference:
https://developer.okta.com/docs/api/).

Auth: an SSWS API token, or an OAuth service app with `private_key_jwt` (client assertion signed with the admin's RSA
or EC key, access token cached until shortly before it expires). A service app that requires DPoP is detected by
Okta's answer to the first token request (`invalid_dpop_proof`); from then on the client sends DPoP proofs (RFC 9449,
see dpop.py), answers `use_dpop_nonce` with the nonce Okta gives, and calls the API with `Authorization: DPoP`. Rate
limits: never more than 2 requests in flight per org, slow down when `X-Rate-Limit-Remaining` drops under 10 %, sleep
until `X-Rate-Limit-Reset` on 429. Paging follows `Link: rel="next"` as an opaque URL. Every failure is one
`OktaApiError`; the steps turn its code into a sentence for the admin. Secrets never appear in messages or logs (they
are registered with the log redactor).
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

from odatui.errors import ApiError, ConfigError, StepError
from odatui.http import (
    IDEMPOTENT,
    RETRY_STATUS,
    PageGuard,
    RetryPolicy,
    describe_transport_error,
    make_client,
    overall_deadline,
    server_wait,
)
from odatui.log import get_logger, register_secret

log = get_logger("okta")

SCOPES = ("okta.apps.read", "okta.apps.manage", "okta.groups.read", "okta.users.read", "okta.authenticators.read")
MAX_IN_FLIGHT = 2
SLOW_DOWN_BELOW = 0.10  # fraction of X-Rate-Limit-Limit left
TOKEN_EARLY_REFRESH = 120.0  # seconds before expiry a cached access token is replaced
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class OktaApiError(ApiError):
    """An Okta call failed. `status` 0 means no HTTP answer (network/TLS); `error_code` (also `code`) is Okta's
    `errorCode` (E0000011, …), the OAuth `error` (invalid_client, …), or "non_json" for a body that is not Okta's."""

    def __init__(self, status: int, error_code: str, summary: str, error_id: str = "", *,
                 causes: list[str] | None = None, hint: str | None = None, retryable: bool | None = None,
                 operation: str = "") -> None:
        where = f" ({operation})" if operation else ""
        code = f" {error_code}" if error_code and error_code != "non_json" else ""
        message = f"Okta answered HTTP {status}{code}{where}: {summary}" if status else f"{summary}{where}"
        if causes:
            message += " — " + "; ".join(causes)
        super().__init__(message, status=status, code=error_code, operation=operation, hint=hint,
                         retryable=retryable)
        self.error_code = error_code
        self.summary = summary
        self.error_id = error_id
        self.causes = causes or []
        self.concurrent = False  # a 429 for too many requests in flight, not for the per-minute limit


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
        self._token_type = "Bearer"
        self._dpop: Any = None  # a DPoPKey once Okta asked for DPoP
        self._dpop_nonce: str | None = None  # the token endpoint's latest DPoP-Nonce
        self._resource_nonce: str | None = None  # the API's latest DPoP-Nonce, if it ever sends one
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
    @property
    def uses_dpop(self) -> bool:
        return self._dpop is not None

    async def _auth_header(self, method: str = "GET", url: str = "/") -> dict[str, str]:
        if self.auth_mode == "api_token":
            return {"Authorization": f"SSWS {self._api_token}"}
        if self.auth_mode == "service_app":
            token = await self.access_token()
            if self._dpop is not None and self._token_type.lower() == "dpop":
                # A DPoP-bound token goes with scheme DPoP and a fresh proof carrying its hash (RFC 9449 §7.1).
                absolute = url if "://" in url else f"{self.org_url}{url}"
                return {"Authorization": f"DPoP {token}",
                        "DPoP": self._dpop.proof(method, absolute, nonce=self._resource_nonce, access_token=token)}
            return {"Authorization": f"Bearer {token}"}
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
            for _ in range(4):
                form = {"grant_type": "client_credentials", "scope": " ".join(self.scopes),
                        "client_assertion_type": ASSERTION_TYPE, "client_assertion": self._assertion()}
                response = await self._send("POST", "/oauth2/v1/token", data=form, auth=False, token_dpop=True,
                                            operation="service app token")
                if response.status_code != 400:
                    break
                body = self._json(response, "service app token", strict=False)
                error = body.get("error") if isinstance(body, dict) else None
                nonce = response.headers.get("dpop-nonce")
                if error == "use_dpop_nonce" and self._dpop is not None and nonce and nonce != self._dpop_nonce:
                    # Okta answers the first DPoP token request with a nonce to put in the next proof (RFC 9449 §8).
                    self._dpop_nonce = nonce
                    continue
                if error == "invalid_dpop_proof" and self._dpop is None:
                    # The app requires DPoP: Okta refuses a token request that has no proof. Send one from now on.
                    from odatui.okta.dpop import DPoPKey

                    self._dpop = DPoPKey()
                    log.info("service app %s requires DPoP; sending DPoP proofs", self._client_id)
                    continue
                break
            body = self._json(response, "service app token")
            token = body.get("access_token") if isinstance(body, dict) else None
            if not token:
                raise OktaApiError(response.status_code, "invalid_response", "the token endpoint returned no access_token",
                                   operation="service app token")
            register_secret(token)
            self._access_token = token
            self._token_type = str(body.get("token_type") or "Bearer")
            self._token_expires = time.time() + float(body.get("expires_in", 3600))
            log.info("service app token for %s obtained, valid %ss", self.host, body.get("expires_in"))
            return token

    # --- transport ---------------------------------------------------------------------------------------------
    async def _send(self, method: str, url: str, *, auth: bool = True, operation: str = "", token_dpop: bool = False,
                    **kwargs: Any) -> httpx.Response:
        try:
            async with overall_deadline(self.policy, f"{self.org_url}{_path(url)}"):
                return await self._attempts(method, url, auth=auth, operation=operation, token_dpop=token_dpop,
                                            **kwargs)
        except OktaApiError:
            raise
        except StepError as exc:  # the deadline, named
            raise OktaApiError(0, "deadline", exc.message, hint=exc.hint, retryable=False,
                               operation=operation) from None

    async def _attempts(self, method: str, url: str, *, auth: bool = True, operation: str = "",
                        token_dpop: bool = False, **kwargs: Any) -> httpx.Response:
        limiter = org_limiter(self.host)
        may_retry = method in IDEMPOTENT
        refreshed = False
        nonce_retries = 0
        attempt = 0
        while True:
            attempt += 1
            await limiter.wait_turn()
            headers = await self._auth_header(method, url) if auth else {}
            if token_dpop and self._dpop is not None:
                # A fresh proof per attempt: Okta refuses a proof whose jti it has seen (RFC 9449 §11.1).
                headers["DPoP"] = self._dpop.proof(method, f"{self.org_url}{url}", nonce=self._dpop_nonce)
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
            nonce = response.headers.get("dpop-nonce")
            if (status == 401 and auth and self._dpop is not None and nonce and nonce_retries < 2
                    and "use_dpop_nonce" in response.headers.get("www-authenticate", "")):
                # A resource server may demand a nonce in the proof too (RFC 9449 §9): retry with it.
                nonce_retries += 1
                self._resource_nonce = nonce
                continue
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
        if isinstance(body, dict) and str(body.get("errorCode", "")).startswith("E0"):
            causes = [str(c.get("errorSummary", c)) for c in body.get("errorCauses") or [] if isinstance(c, dict)]
            err = OktaApiError(status, str(body["errorCode"]), str(body.get("errorSummary", "")),
                               str(body.get("errorId", "")), causes=causes, operation=operation)
            # Okta reports a concurrent-limit 429 with X-Rate-Limit-Limit 0
            # (https://developer.okta.com/docs/reference/rl2-monitor/).
            err.concurrent = status == 429 and response.headers.get("X-Rate-Limit-Limit") == "0"
            raise err
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
        guard = PageGuard(self._http.base_url, "Okta")  # the token goes with each page: same origin, no loops
        while next_url:
            response = await self._send("GET", next_url, operation=operation, params=params if first else None)
            self._raise_for(response, operation)
            page = self._json(response, operation)
            if not isinstance(page, list):
                raise OktaApiError(response.status_code, "invalid_response", "expected a list", operation=operation)
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
        self._raise_for(response, "assign group")
        return self._json(response, "assign group")

    async def activate_app(self, app_id: str) -> None:
        """`POST /api/v1/apps/{appId}/lifecycle/activate` (Okta Management API, Application lifecycle operation
        activateApplication: 200 with an empty object; needs okta.apps.manage)."""
        response = await self._send("POST", f"/api/v1/apps/{app_id}/lifecycle/activate", json={},
                                    operation="activate the app")
        self._raise_for(response, "activate the app")

    async def unassign_group(self, app_id: str, group_id: str) -> bool:
        """DELETE /api/v1/apps/{appId}/groups/{groupId} (Application Groups API: 204). False when it was not
        assigned (404)."""
        response = await self._send("DELETE", f"/api/v1/apps/{app_id}/groups/{group_id}",
                                    operation="unassign group")
        if response.status_code == 404:
            return False
        self._raise_for(response, "unassign group")
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
        async for page in self._pages("/api/v1/groups", params, "find group"):
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
        self._raise_for(response, "apple-app-site-association")
        data = self._json(response, "apple-app-site-association", strict=False)
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

    async def check_credentials(self) -> str:
        """The cheapest call that proves the credentials work; returns who or what they belong to."""
        if self.auth_mode == "api_token":
            me = await self._get_json("/api/v1/users/me", "credential check")
            return f"API token of {me.get('profile', {}).get('login', me.get('id', 'an admin'))}"
        if self.auth_mode == "service_app":
            await self.access_token()
            await self._get_json("/api/v1/apps", "service app credential check", params={"limit": 1})
            return f"service app {self._client_id}" + (" (DPoP-bound tokens)" if self._dpop is not None else "")
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
