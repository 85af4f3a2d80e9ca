"""The Okta emulator's auth: the service app key pair, the token endpoint and the per-request checks
(https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/; DPoP: RFC 9449)."""

from __future__ import annotations

import os
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odatui.sandbox.credentials import OKTA_TOKEN
from odatui.sandbox.dpop import ProofError, verify
from odatui.sandbox.okta_base import OktaState
from odatui.sandbox.okta_common import ASSERTION_TYPE, OAuthError, OktaError


class OktaAuth:
    """How callers prove who they are: SSWS token or service-app tokens from /oauth2/v1/token (private_key_jwt,
    optionally DPoP-bound), and the scope each route needs."""

    def __init__(self, okta: OktaState) -> None:
        self.okta = okta

    def _make_service_app(self) -> None:
        self.okta.service_app_key_type = getattr(self.okta.options, "service_app_key", "ec")
        if self.okta.service_app_key_type == "rsa":
            # What the Admin Console generates by default for "Public key / Private key" client authentication
            # (RSA 2048, RS256): https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/
            key: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.okta.service_app_algorithms = ["RS256"]
        else:
            # P-256 (ES256): Okta accepts it for private_key_jwt, and it is made in a millisecond (start-up < 1 s).
            key = ec.generate_private_key(ec.SECP256R1())
            self.okta.service_app_algorithms = ["ES256"]
        self.okta.service_app_client_id = self.okta._id("0oa")
        self.okta.service_app_kid = "sandbox-service-app-key"
        self.okta.service_app_public_key = key.public_key()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        self.okta.service_app_key_path = self.okta.world.data_dir / "okta-service-app.pem"
        fd = os.open(self.okta.service_app_key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)

    def _authorize(self, request: Request, scope: str | None) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.startswith("SSWS") and len(scheme) > 4 and not credential:
            # Okta's own Python SDK 3.x sends `SSWS<token>` with no space (okta/configuration.py auth_settings:
            # `self.authorization_mode + self.access_token`) and its calls work against real orgs, so Okta accepts it
            # (field source: okta-sdk-python 3.x as shipped on PyPI; the header grammar Okta documents has the space).
            scheme, credential = "SSWS", scheme[4:]
        invalid = OktaError(401, "E0000011", "Invalid token provided")
        if scheme == "SSWS":
            if not secrets.compare_digest(credential.strip(), OKTA_TOKEN):
                raise invalid
            if self.okta.token_read_only and scope and scope.endswith(".manage"):
                raise OktaError(403, "E0000006", "You do not have permission to perform the requested action")
            return
        if scheme in ("Bearer", "DPoP"):
            token = credential.strip()
            entry = self.okta.tokens.get(token)
            if entry is None or entry[0] < time.time():
                raise OktaError(401, "E0000011", "Invalid token provided",
                                headers={"WWW-Authenticate": f'{scheme} error="invalid_token", '
                                         'error_description="The token is not valid."'})
            bound = self.okta.token_jkt.get(token)
            if bound is not None or scheme == "DPoP":
                self._check_resource_proof(request, token, scheme, bound)
            if scope and scope not in entry[1]:
                raise OktaError(403, "E0000006", "You do not have permission to perform the requested action",
                                headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", error_description='
                                         '"The access token provided does not contain the required scopes.", '
                                         f'resource="{request.url.path}"'})
            return
        raise invalid

    def _check_resource_proof(self, request: Request, token: str, scheme: str, bound: str | None) -> None:
        """A DPoP-bound token needs scheme DPoP and a proof by the bound key carrying the token's hash; a Bearer token
        is not accepted under scheme DPoP (RFC 9449 §7.1, §7.2)."""
        def refuse(description: str) -> OktaError:
            return OktaError(401, "E0000011", "Invalid token provided", headers={
                "WWW-Authenticate": f'DPoP algs="ES256 RS256", error="invalid_dpop_proof", '
                                    f'error_description="{description}"'})

        if bound is None:
            raise refuse("The access token is not DPoP-bound.")
        if scheme != "DPoP":
            raise refuse("A DPoP-bound access token must be sent with the DPoP authorization scheme.")
        try:
            jkt = verify(request.headers.get("dpop"), method=request.method, url=str(request.url),
                         seen_jti=self.okta._dpop_jti, access_token=token, now=time.time() + self.okta.clock_skew,
                         nonce=self.okta.dpop_nonce if self.okta.resource_nonce else None)
        except ProofError as err:
            if err.nonce:
                raise OktaError(401, "E0000011", "Invalid token provided", headers={
                    "WWW-Authenticate": 'DPoP error="use_dpop_nonce", '
                                        'error_description="Resource server requires nonce in DPoP proof"',
                    "DPoP-Nonce": self.okta.dpop_nonce}) from None
            raise refuse(err.description) from None
        if jkt != bound:
            raise refuse("The DPoP proof was not signed by the key the access token is bound to.")

    async def token(self, request: Request) -> Response:
        # A plain form body; parsed here so the sandbox needs no multipart library.
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        if form.get("grant_type") != "client_credentials":
            raise OAuthError(400, "unsupported_grant_type", "The authorization grant type is not supported by the "
                             "authorization server. Configured grant types: [client_credentials].")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
            raise OAuthError(401, "invalid_client", "Client authentication failed: a client_assertion of type "
                             "jwt-bearer (private_key_jwt) is required for this client.")
        assertion = str(form["client_assertion"])
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise OAuthError(401, "invalid_client", "The client_assertion token is malformed.") from None
        if unverified.get("iss") != self.okta.service_app_client_id or unverified.get("sub") != unverified.get("iss"):
            raise OAuthError(401, "invalid_client", "Invalid value for 'client_id' parameter.")
        if header.get("kid") not in (None, self.okta.service_app_kid):
            raise OAuthError(401, "invalid_client", "The client_assertion token has a 'kid' that does not match "
                             "any registered key.")
        audience = f"{request.url.scheme}://{request.url.netloc}/oauth2/v1/token"
        try:
            claims = jwt.decode(assertion, self.okta.service_app_public_key, algorithms=self.okta.service_app_algorithms,
                                audience=audience, options={"require": ["exp", "iss", "sub", "aud"]}, leeway=30)
        except jwt.InvalidSignatureError:
            raise OAuthError(401, "invalid_client", "The client_assertion signature is invalid.") from None
        except jwt.ExpiredSignatureError:
            raise OAuthError(401, "invalid_client", "The client_assertion token is expired.") from None
        except jwt.InvalidAudienceError:
            raise OAuthError(401, "invalid_client", f"The audience claim must be {audience}.") from None
        except jwt.PyJWTError as exc:
            raise OAuthError(401, "invalid_client", f"The client_assertion token is invalid: {exc}.") from None
        if claims["exp"] - time.time() > 3600 + 30:
            raise OAuthError(401, "invalid_client", "The client_assertion token has an expiration too far in the future.")
        jkt = None
        if self.okta.require_dpop:
            # Checked before the assertion's jti is spent: a client retrying with a nonce signs a new assertion
            # anyway, but Okta's own SDK (okta/oauth.py) may not, and real Okta serves it.
            try:
                jkt = verify(request.headers.get("dpop"), method="POST", url=audience, seen_jti=self.okta._dpop_jti,
                             nonce=self.okta.dpop_nonce, now=time.time() + self.okta.clock_skew)
            except ProofError as err:
                if err.nonce:
                    raise OAuthError(400, "use_dpop_nonce", err.description,
                                     headers={"DPoP-Nonce": self.okta.dpop_nonce}) from None
                raise OAuthError(400, "invalid_dpop_proof", err.description) from None
        # Unverified: a proof sent to an app that does not require DPoP is ignored and a Bearer token issued (RFC 9449
        # §5 lets a server that does not bind tokens do so).
        jti = claims.get("jti")
        if jti:
            if jti in self.okta._used_jti:
                raise OAuthError(401, "invalid_client", "The client_assertion token has already been used.")
            self.okta._used_jti.add(jti)
        requested = str(form.get("scope") or "").split()
        if not requested:
            raise OAuthError(400, "invalid_scope", "The authorization server resource does not have any configured "
                             "default scopes, 'scope' must be provided.")
        missing = [s for s in requested if s not in self.okta.granted_scopes]
        if missing:
            raise OAuthError(400, "invalid_scope", "One or more scopes are not configured for the authorization "
                             f"server resource: {' '.join(missing)}")
        access = "sbx." + secrets.token_urlsafe(32)
        self.okta.tokens[access] = (time.time() + self.okta.token_ttl, frozenset(requested))
        if jkt is not None:
            self.okta.token_jkt[access] = jkt
        return JSONResponse({"token_type": "DPoP" if jkt else "Bearer", "expires_in": self.okta.token_ttl,
                             "access_token": access,
                             "scope": " ".join(requested)}, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
