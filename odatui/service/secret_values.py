"""Checks on a secret's value before the keychain sees it: the faces ask the service, which knows the clients."""

from __future__ import annotations

from odatui.core.errors import OdatuiError, UsageError


def check_kind(name: str, value: str) -> None:
    """A value that cannot be what its name says is refused before the keychain sees it (exit 2): a private key
    must load as the signing key the Okta service app uses, exactly as a run would load it."""
    if name != "okta.private_key":
        return
    from odatui.okta.auth import load_signing_key  # deferred: start-up (cryptography)

    try:
        load_signing_key(value)
    except OdatuiError as exc:
        raise UsageError(f"okta.private_key: {exc.message} Nothing was stored.",
                         hint=getattr(exc, "hint", None) or "give a PEM private key or a private JWK") from None
