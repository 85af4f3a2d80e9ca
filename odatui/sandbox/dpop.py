"""DPoP proof checks as an authorization and resource server makes them (RFC 9449 §4.3, §7.1), for the Okta emulator.

The checks are the RFC's; Okta's answers to a failed check (`invalid_dpop_proof`, `use_dpop_nonce` with a
`DPoP-Nonce` header on the token endpoint) are the ones its official Python SDK handles (okta/oauth.py,
okta/errors/dpop_errors.py in PyPI `okta` 3.x) and https://developer.okta.com/docs/guides/dpop/oktaresourceserver/main/.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import jwt

# Okta's authorization servers advertise these as dpop_signing_alg_values_supported.
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
MAX_AGE = 300  # seconds either side of now an `iat` may be (unverified: Okta does not publish its window)


class ProofError(Exception):
    """A proof that fails a check; `nonce` is set when the only problem is a missing or stale nonce."""

    def __init__(self, description: str, *, nonce: bool = False) -> None:
        super().__init__(description)
        self.description, self.nonce = description, nonce


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (the `jkt` a DPoP-bound token is bound to)."""
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}.get(str(jwk.get("kty")))
    if members is None:
        raise ProofError("The DPoP proof JWT has an unsupported key type.")
    canonical = json.dumps({k: jwk[k] for k in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()


def verify(proof: str | None, *, method: str, url: str, seen_jti: set[str], nonce: str | None = None,
           access_token: str | None = None, now: float | None = None) -> str:
    """Check a proof; return the thumbprint of its key. `nonce`: the nonce the proof must carry (None: no nonce
    required). `access_token`: the token the proof must be bound to through `ath`."""
    if not proof:
        raise ProofError("The DPoP proof JWT header is missing.")
    try:
        header = jwt.get_unverified_header(proof)
    except jwt.PyJWTError:
        raise ProofError("The DPoP proof JWT is malformed.") from None
    if header.get("typ") != "dpop+jwt":
        raise ProofError("The DPoP proof JWT 'typ' header must be 'dpop+jwt'.")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise ProofError(f"The DPoP proof JWT 'alg' must be one of {', '.join(ALGORITHMS)}.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or "d" in jwk or any(k in jwk for k in ("p", "q", "dp", "dq", "qi")):
        raise ProofError("The DPoP proof JWT 'jwk' header must be a public key.")
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
        claims = jwt.decode(proof, key, algorithms=[alg], options={"verify_aud": False, "verify_exp": False,
                                                                   "require": ["iat", "jti"]})
    except jwt.InvalidSignatureError:
        raise ProofError("The DPoP proof JWT signature is invalid.") from None
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise ProofError(f"The DPoP proof JWT is invalid: {exc}.") from None
    if claims.get("htm") != method:
        raise ProofError(f"The DPoP proof 'htm' claim must be {method}.")
    if claims.get("htu") != url.split("?", 1)[0]:
        raise ProofError("The DPoP proof 'htu' claim does not match the request URL.")
    if abs((now if now is not None else time.time()) - float(claims["iat"])) > MAX_AGE:
        raise ProofError("The DPoP proof 'iat' claim is too far from the current time.")
    if access_token is not None:
        digest = hashlib.sha256(access_token.encode("ascii")).digest()
        if claims.get("ath") != base64.urlsafe_b64encode(digest).rstrip(b"=").decode():
            raise ProofError("The DPoP proof 'ath' claim does not match the access token.")
    if nonce is not None and claims.get("nonce") != nonce:
        raise ProofError("Authorization server requires nonce in DPoP proof.", nonce=True)
    if claims["jti"] in seen_jti:
        raise ProofError("The DPoP proof 'jti' has already been used.")
    seen_jti.add(claims["jti"])
    return thumbprint(jwk)
