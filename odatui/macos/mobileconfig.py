"""Configuration profiles: assemble, serialise (XML plist), WS1 Custom Settings fragments, CMS signing.

A profile is System-scoped (Okta: the SSO payload must be deployed at the computer level; Apple: UseSharedDeviceKeys
works on the device channel only) and targets Macs (TargetDeviceType 5).
"""

from __future__ import annotations

import plistlib
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from odatui.core.errors import OdatuiError, UsageError
from odatui.macos.payloads import UUID_NAMESPACE, PssoSettings

_PLIST_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
    b'<plist version="1.0">\n'
)


def profile(
    settings: PssoSettings, payloads: list[dict[str, Any]], *, name: str, kind: str = "profile"
) -> dict[str, Any]:
    """Wrap payloads in a top-level Configuration dict. `kind` keeps identifiers of per-payload profiles apart."""
    identifier = settings.identifier if kind == "profile" else f"{settings.identifier}.{kind}.profile"
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": identifier,
        "PayloadUUID": str(uuid.uuid5(UUID_NAMESPACE, f"{settings.org_host}|{kind}|profile")).upper(),
        "PayloadDisplayName": name,
        "PayloadDescription": (
            f"Okta Desktop Password Sync (Platform SSO) for {settings.org_host}, macOS {settings.macos_min} and later. "
            "Install through a user-approved MDM at the device (computer) level."
        ),
        "PayloadOrganization": settings.org_host,
        "PayloadScope": "System",
        "TargetDeviceType": 5,
        "PayloadContent": payloads,
    }


def to_xml(obj: dict[str, Any]) -> bytes:
    """XML plist with sorted keys: the same input always gives the same bytes."""
    return plistlib.dumps(obj, fmt=plistlib.FMT_XML, sort_keys=True)


def ws1_custom_settings(payload: dict[str, Any]) -> str:
    """The payload as WS1 "Custom Settings" text: one bare <dict>…</dict>, no XML declaration, no <plist>."""
    xml = to_xml(payload).decode("utf-8")
    start = xml.index("<dict>")
    end = xml.rindex("</dict>") + len("</dict>")
    return xml[start:end] + "\n"


def plist_data(obj: Any) -> Any:
    """`obj` as a plist reads back: tuples become lists, mappings dicts (plistlib writes both as the same XML). The
    payloads compared as data equal `parse_ws1_custom_settings(ws1_custom_settings(obj))`, without the XML."""
    if isinstance(obj, Mapping):
        return {k: plist_data(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plist_data(v) for v in obj]
    return obj


_WRAPPERS = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<plist[^>]*>|</plist\s*>", re.IGNORECASE)


def parse_ws1_custom_settings(text: str) -> list[dict[str, Any]]:
    """Read WS1 Custom Settings text back: one or more bare <dict>s (a full plist is tolerated) → payload dicts."""
    body = _WRAPPERS.sub("", text or "").strip()
    if not body:
        return []
    try:
        items = plistlib.loads(_PLIST_HEAD + b"<array>" + body.encode("utf-8") + b"</array></plist>")
    except Exception as exc:  # plistlib raises ExpatError, ValueError, … for malformed input
        raise OdatuiError(
            f"The Custom Settings text is not a valid plist fragment ({exc}).",
            hint="It must be one or more <dict>…</dict> payloads; re-create the profile with `odatui apply --only ws1.profile`.",
        ) from None
    if not all(isinstance(item, dict) for item in items):
        raise OdatuiError(
            "The Custom Settings text holds something other than <dict> payloads.",
            hint="Each payload must be a <dict>…</dict>; re-create the profile with `odatui apply --only ws1.profile`.",
        )
    return items


# ---- signing -------------------------------------------------------------------------------------------------


class SigningIdentity:
    """A signing certificate, its key and the intermediates to ship with it, checked for use."""

    def __init__(self, cert: x509.Certificate, key: Any, intermediates: list[x509.Certificate]) -> None:
        self.cert, self.key, self.intermediates = cert, key, intermediates


def _read(path: Path, what: str, flag: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(
            f"Cannot read the {what} {str(path)!r}: {exc.strerror or exc}.",
            hint=f"Check the path given to {flag} and that this user can read it.",
        ) from None


def load_signing_identity(cert_path: Path, key_path: Path, passphrase: bytes | None = None) -> SigningIdentity:
    """Read a PEM certificate (optionally followed by intermediates) and its PEM private key; refuse anything off."""
    cert_pem = _read(cert_path, "signing certificate", "--sign-cert")
    try:
        certs = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise UsageError(
            f"The signing certificate {str(cert_path)!r} is not a PEM certificate.",
            hint="Give a PEM file that starts with -----BEGIN CERTIFICATE----- "
            "(convert DER with `openssl x509 -inform DER -in cert.cer -out cert.pem`).",
        ) from None

    key_pem = _read(key_path, "signing key", "--sign-key")
    try:
        key = serialization.load_pem_private_key(key_pem, password=passphrase)
    except TypeError:
        # cryptography raises TypeError when the key is encrypted and no passphrase was given (or vice versa)
        if passphrase is None:
            raise UsageError(
                f"The signing key {str(key_path)!r} is encrypted and no passphrase was given.",
                hint="Set ODATUI_SIGN_KEY_PASSPHRASE, or export an unencrypted copy: "
                "`openssl pkey -in key.pem -out key-plain.pem` (keep it private).",
            ) from None
        raise UsageError(
            f"The signing key {str(key_path)!r} is not encrypted, but a passphrase was given.",
            hint="Unset ODATUI_SIGN_KEY_PASSPHRASE.",
        ) from None
    except ValueError:
        hint = "Give a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA/EC PRIVATE KEY-----)."
        if passphrase is not None and b"ENCRYPTED" in key_pem:
            hint = "Check the passphrase in ODATUI_SIGN_KEY_PASSPHRASE."
        raise UsageError(
            f"The signing key {str(key_path)!r} cannot be read as a PEM private key"
            + (" with the given passphrase." if passphrase is not None and b"ENCRYPTED" in key_pem else "."),
            hint=hint,
        ) from None
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise UsageError(
            f"The signing key {str(key_path)!r} is a {type(key).__name__}; profiles are signed with RSA or EC keys.",
            hint="Use an RSA (2048+) or EC P-256/P-384 key and certificate.",
        )

    wanted = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    leaf = next(
        (
            c
            for c in certs
            if c.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            == wanted
        ),
        None,
    )
    if leaf is None:
        raise UsageError(
            f"The signing key {str(key_path)!r} does not belong to the certificate in {str(cert_path)!r}.",
            hint="Give the private key that was issued with this certificate (their public keys must match).",
        )
    now = datetime.now(timezone.utc)
    if leaf.not_valid_after_utc < now:
        raise UsageError(
            f"The signing certificate in {str(cert_path)!r} expired on {leaf.not_valid_after_utc:%Y-%m-%d}.",
            hint="Renew it: Macs show a profile signed with an expired certificate as unverified.",
        )
    if leaf.not_valid_before_utc > now:
        raise UsageError(
            f"The signing certificate in {str(cert_path)!r} is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}.",
            hint="Check this machine's clock, or use a certificate that is valid today.",
        )
    intermediates = [c for c in certs if c is not leaf and c.subject != c.issuer]  # ship chain, never the root
    return SigningIdentity(leaf, key, intermediates)


def sign(data: bytes, identity: SigningIdentity) -> bytes:
    """CMS SignedData, DER, content attached, SHA-256, intermediates included (else Macs show "Unverified")."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(data).add_signer(identity.cert, identity.key, hashes.SHA256())
    for cert in identity.intermediates:
        builder = builder.add_certificate(cert)
    # Binary: sign the bytes as they are (no MIME canonicalisation); no DetachedSignature → content attached.
    return builder.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
