"""Okta API auth: an SSWS API token, or an OAuth service app with `private_key_jwt` (a client assertion signed with
the admin's RSA or EC key; the access token cached until shortly before it expires). A service app that requires DPoP
is detected by Okta's answer to the first token request (`invalid_dpop_proof`); from then on the client sends DPoP
proofs (RFC 9449, see dpop.py), answers `use_dpop_nonce` with the nonce Okta gives, and calls the API with
`Authorization: DPoP` (https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/,
https://developer.okta.com/docs/guides/dpop/main/).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx

from odatui.core.errors import StepError
from odatui.core.log import get_logger, register_secret
from odatui.okta.errors import OktaApiError, parse_json

log = get_logger("okta")

TOKEN_EARLY_REFRESH = 120.0  # seconds before expiry a cached access token is replaced
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def load_signing_key(text: str) -> tuple[Any, str, str | None]:
    """(key, JWS algorithm, kid) from a PEM private key or a private JWK. Never echoes the key."""
    # deferred: start-up (jwt and cryptography load only when a service app is configured)
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
        if not isinstance(jwk.key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
            # A public JWK (no "d") or a shared-secret ("oct") one cannot sign a private_key_jwt assertion.
            raise StepError("The Okta service app key is a JWK but not an RSA or EC private key (no \"d\", or an "
                            "\"oct\" secret key).",
                            hint="paste the private key JWK Okta generated (it has \"d\"), or a PEM private key")
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



class OktaAuth:
    """The auth half of OktaClient: the header each request carries, and the service app's token. The client
    sets the attributes below and provides `_send`."""

    org_url: str
    host: str
    scopes: tuple[str, ...]
    auth_mode: str
    _api_token: str | None
    _client_id: str | None
    _signing: tuple[Any, str, str | None] | None
    _access_token: str | None
    _token_expires: float
    _token_type: str
    _dpop: Any
    _dpop_nonce: str | None
    _resource_nonce: str | None
    _token_lock: asyncio.Lock

    async def _send(self, method: str, url: str, *, auth: bool = True, operation: str = "",
                    token_dpop: bool = False, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

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
        import jwt  # deferred: start-up

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
                body = parse_json(response, "service app token", strict=False)
                error = body.get("error") if isinstance(body, dict) else None
                nonce = response.headers.get("dpop-nonce")
                if error == "use_dpop_nonce" and self._dpop is not None and nonce and nonce != self._dpop_nonce:
                    # Okta answers the first DPoP token request with a nonce to put in the next proof (RFC 9449 §8).
                    self._dpop_nonce = nonce
                    continue
                if error == "invalid_dpop_proof" and self._dpop is None:
                    # The app requires DPoP: Okta refuses a token request that has no proof. Send one from now on.
                    from odatui.okta.dpop import DPoPKey  # deferred: start-up (only for DPoP apps)

                    self._dpop = DPoPKey()
                    log.info("service app %s requires DPoP; sending DPoP proofs", self._client_id)
                    continue
                break
            body = parse_json(response, "service app token")
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

