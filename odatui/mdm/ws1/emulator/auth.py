"""The WS1 emulator's auth: the OAuth token endpoint and the check every API call passes first."""

from __future__ import annotations

import base64
import os
import time
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odatui.mdm.ws1.emulator.base import Ws1State
from odatui.mdm.ws1.emulator.common import LOCKOUT_AFTER, Ws1Error


class Ws1Auth:
    """Basic + `aw-tenant-code` (repeated failures lock the account) or an OAuth bearer token from the region token
    URL; 401 errorCode 1005 otherwise."""

    def __init__(self, ws1: Ws1State) -> None:
        self.ws1 = ws1

    # ------------------------------------------------------------------ auth
    async def token(self, request: Request) -> Response:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            return JSONResponse({"error": "invalid_request", "error_description": "form body expected"}, 400)
        body = await request.body()
        if len(body) > 65536:
            return JSONResponse({"error": "invalid_request"}, 400)
        form = {k: v[0] for k, v in parse_qs(body.decode("latin-1")).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):  # client_secret_basic, as Omnissa's own 2026 sample does
            try:
                client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except Exception:
                return JSONResponse({"error": "invalid_client"}, 400)
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, 400)
        if client_id != self.ws1.tenant.oauth_client_id or secret != self.ws1.tenant.oauth_secret:
            return JSONResponse({"error": "invalid_client"}, 400)
        token = base64.urlsafe_b64encode(os.urandom(24)).decode().rstrip("=")
        lifetime = float(self.ws1.settings["token_lifetime_s"])
        self.ws1.tokens[token] = time.time() + lifetime
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": int(lifetime) or 1,
                             "scope": "api"})

    async def token_slash(self, request: Request) -> Response:
        return Response("Not Found", status_code=404, media_type="text/plain")

    def authenticate(self, request: Request) -> None:
        creds_error = Ws1Error(401, 1005, "An error occurred while validating remote service client credentials.")
        auth = request.headers.get("authorization", "")
        tenant = request.headers.get("aw-tenant-code")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer":
            expires = self.ws1.tokens.get(value.strip())
            if expires is None or expires <= time.time():
                raise Ws1Error(401, 1005, "The access token is missing, invalid or expired.",
                               {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            if tenant is not None and tenant != self.ws1.tenant.tenant_code:
                raise creds_error
            return
        if scheme.lower() != "basic":
            raise creds_error
        try:
            user, _, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
        except Exception:
            raise creds_error from None
        if self.ws1.failed_logins >= LOCKOUT_AFTER:
            raise Ws1Error(401, 1005, "An error occurred while validating remote service client credentials. "
                           "The account is locked.")
        if user != self.ws1.tenant.user or password != self.ws1.tenant.password or tenant != self.ws1.tenant.tenant_code:
            self.ws1.failed_logins += 1
            raise creds_error
        self.ws1.failed_logins = 0
