"""DPoP proofs (RFC 9449) for a service app whose tokens Okta binds to a key ("Require Demonstrating Proof of
Possession (DPoP) header in token requests" on the app's General tab).

One ephemeral P-256 key per client: Okta accepts ES256 proofs (its authorization servers advertise
`dpop_signing_alg_values_supported` RS256…ES512). A proof is a JWT with header `typ: dpop+jwt`, `alg` and the public
`jwk`, and claims `htm` (method), `htu` (URL without query or fragment), `iat`, `jti`, plus `ath` (base64url SHA-256 of
the access token) on resource calls and `nonce` once a server has sent `DPoP-Nonce` (RFC 9449 §4.2, §8, §9;
https://developer.okta.com/docs/guides/dpop/oktaresourceserver/main/).
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

# Loaded only when a service app requires DPoP (client.py imports this module then), so these cost nothing at start.
import jwt
from cryptography.hazmat.primitives.asymmetric import ec


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def access_token_hash(token: str) -> str:
    """The `ath` claim: base64url(SHA-256(ASCII token)) (RFC 9449 §4.2)."""
    return _b64(hashlib.sha256(token.encode("ascii")).digest())


def htu(url: str) -> str:
    """The `htu` claim: the request URL without query and fragment (RFC 9449 §4.2)."""
    return url.split("#", 1)[0].split("?", 1)[0]


class DPoPKey:
    """An ephemeral key that signs proofs; never stored, never logged (it only lives as long as its client)."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        numbers = self._key.public_key().public_numbers()
        self.jwk: dict[str, Any] = {"kty": "EC", "crv": "P-256", "x": _b64(numbers.x.to_bytes(32, "big")),
                                    "y": _b64(numbers.y.to_bytes(32, "big"))}

    def proof(self, method: str, url: str, *, nonce: str | None = None, access_token: str | None = None) -> str:
        claims: dict[str, Any] = {"htm": method.upper(), "htu": htu(url), "iat": int(time.time()),
                                  "jti": uuid.uuid4().hex}
        if nonce:
            claims["nonce"] = nonce
        if access_token:
            claims["ath"] = access_token_hash(access_token)
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self.jwk})


__all__ = ["DPoPKey", "access_token_hash", "htu"]
