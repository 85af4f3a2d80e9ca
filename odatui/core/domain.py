"""Facts of the domain that the config, the secrets store, the log filter and the profile builders all need.

Below `config`, `secrets`, `log` and `macos`: it imports nothing from odatui except `errors`, so each of them can
use one definition without importing the others (no config → macos edge, no log ↔ secrets cycle).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from odatui.core.errors import UsageError

# The macOS floors a rollout may target: 13 (Platform SSO 1.0), 14, 15, 26 (2.0). Okta "PSSO for macOS: Version
# compatibility and features", help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/about-psso-version-history.htm
MACOS_FLOORS = (13, 14, 15, 26)

# An Okta OIDC client ID: "0oa" and 17 letters or digits, the shape of every app id in the Apps API examples
# (developer.okta.com/docs/api/openapi/okta-management/management/tag/Application/, e.g. 0oa1gjh63g214q0Hq0g4);
# Okta does not document the format as a rule: unverified.
CLIENT_ID_RE = re.compile(r"^0oa[A-Za-z0-9]{17}$")

# The scopes odatui asks an Okta service app's token for (every read and write its steps make; Okta OAuth 2.0
# scopes for the Management API, developer.okta.com/docs/api/oauth2/). One list: the client requests it, and the
# wizard's help (F1) and the README name it (tests/test_cli_help.py checks both).
OKTA_SCOPES = ("okta.apps.read", "okta.apps.manage", "okta.groups.read", "okta.users.read", "okta.authenticators.read")

# Secret name → (env var, what it is). Names are `table.field`, like the config. The secrets store reads them;
# the log filter registers the env values for redaction before any store exists.
SECRETS: dict[str, tuple[str, str]] = {
    "okta.api_token": ("ODATUI_OKTA__API_TOKEN", "Okta API token (SSWS)"),
    "okta.private_key": ("ODATUI_OKTA__PRIVATE_KEY", "Okta service app private key (PEM or JWK)"),
    "ws1.password": ("ODATUI_WS1__PASSWORD", "Workspace ONE API user's password"),
    "ws1.tenant_code": ("ODATUI_WS1__TENANT_CODE", "Workspace ONE REST API key (aw-tenant-code)"),
    "ws1.client_secret": ("ODATUI_WS1__CLIENT_SECRET", "Workspace ONE OAuth client secret"),
    # Admin Console → Security → Device Integrations → Device Access → the static SCEP configuration's secret key
    "okta.scep_challenge": ("ODATUI_OKTA__SCEP_CHALLENGE", "Okta Device Access SCEP secret key (challenge)"),
}


def check_scep_url(url: str) -> str:
    """Okta's static SCEP URL for Device Access: https, no spaces (help.okta.com/oie/en-us/content/topics/oda/ca/
    oda-ca-scep-macos-ws1-static.htm)."""
    parts = urlsplit((url or "").strip())
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise UsageError(f"okta.scep_url {url!r} is not an https URL.",
                         hint="Copy the SCEP URL Okta shows under Security → Device Integrations → Device Access "
                              "(it starts with https://).")
    if any(ord(c) < 33 for c in url.strip()):
        raise UsageError("okta.scep_url contains spaces or control characters.",
                         hint="Paste the SCEP URL again exactly as Okta shows it.")
    # The URL goes into the profile on every Mac: a user name or password in it would be pushed to all of them.
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UsageError("okta.scep_url must not contain a user name or password (it is pushed to every Mac).",
                         hint="Give the URL as Okta shows it, without user:password@; the secret key is "
                              "okta.scep_challenge (`odatui secrets set okta.scep_challenge`).")
    problem = numeric_host_problem(parts.hostname)
    if problem:
        raise UsageError(f"okta.scep_url {problem}.", hint="Give the host name Okta shows in the SCEP URL.")
    return url.strip()


def numeric_host_problem(host: str) -> str | None:
    """A host written as a number in a form other than a plain dotted IPv4 address (`0x7f.0.0.1`, `2130706433`,
    `0177.0.0.1`, `127.1`): resolvers and libraries read such forms differently (inet_aton takes them, Python's
    ipaddress does not), so what odatui checks and what it connects to could differ. None when the host is fine."""
    import ipaddress

    labels = host.rstrip(".").split(".")
    numeric = all(re.fullmatch(r"0x[0-9a-f]*|[0-9]+", label, re.IGNORECASE) for label in labels if label)
    if not numeric:
        return None
    try:
        ipaddress.IPv4Address(host)
        return None  # plain dotted decimal: one meaning everywhere
    except ValueError:
        return (f"has the host {host!r}, a number in a form that different programs read as different addresses "
                "(hex, octal or shortened)")


def check_scep_challenge(challenge: str) -> str:
    if not challenge:
        raise UsageError("okta.scep_challenge (the Device Access SCEP secret key) is empty.",
                         hint="Run `odatui secrets set okta.scep_challenge`, or set ODATUI_OKTA__SCEP_CHALLENGE.")
    if any(ord(c) < 32 or ord(c) == 127 for c in challenge):
        # Never echo the value: it is a secret.
        raise UsageError("okta.scep_challenge contains control characters (a pasted line break or tab?).",
                         hint="Copy the secret key again and store it with `odatui secrets set okta.scep_challenge`.")
    return challenge


# The WS1 certificate authority and template Okta's procedure has the admin create (Okta, "Static SCEP for macOS with
# Workspace ONE", help.okta.com/oie/en-us/content/topics/oda/ca/oda-ca-scep-macos-ws1-static.htm): the default names.
DEFAULT_CA_NAME = "Okta Device Access"
DEFAULT_TEMPLATE_NAME = "Okta Device Access"


def load_ca_certificate(path: str, *, now: float | None = None) -> bytes:
    """The Okta intermediate CA (PEM, downloaded from Okta's Device Access SCEP page) as DER bytes, for the
    certificate profile's credential payload. Refuses, with one line each: no file, not PEM, not a CA certificate
    (basicConstraints CA:TRUE, RFC 5280 4.2.1.9), expired or not yet valid. Okta: "download the x509 certificate"
    of the SCEP configuration (…/oda-ca-scep-macos-ws1-static.htm, step 2)."""
    import time
    from datetime import UTC, datetime
    from pathlib import Path

    from cryptography import x509

    from odatui.core.files import CA_LIMIT, read_bounded

    file = Path(path).expanduser()
    if not file.is_file():
        raise UsageError(f"okta.scep_ca_certificate: no file at {file}.",
                         hint="Download Okta's x509 certificate (Security → Device Integrations → Device Access → "
                              "the SCEP configuration → Download) and give its path.")
    data = read_bounded(file, limit=CA_LIMIT, what="okta.scep_ca_certificate")
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        raise UsageError(f"okta.scep_ca_certificate: {file} is not a PEM certificate "
                         "(-----BEGIN CERTIFICATE-----).",
                         hint="Download Okta's x509 certificate again as PEM, or convert it: "
                              "openssl x509 -inform der -in FILE -out okta-ca.pem") from None
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca:
        raise UsageError(f"okta.scep_ca_certificate: {file} is not a CA certificate (no basicConstraints CA:TRUE; "
                         f"subject {cert.subject.rfc4514_string()}).",
                         hint="Give the Okta intermediate CA certificate from Okta's SCEP configuration, not a "
                              "device's certificate.")
    moment = datetime.fromtimestamp(time.time() if now is None else now, UTC)
    if cert.not_valid_after_utc <= moment or cert.not_valid_before_utc > moment:
        raise UsageError(f"okta.scep_ca_certificate: {file} is valid only from {cert.not_valid_before_utc:%Y-%m-%d} "
                         f"to {cert.not_valid_after_utc:%Y-%m-%d}.",
                         hint="Download the current Okta intermediate CA certificate from Okta and give its path.")
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.DER)


def certificate_expiry(der: bytes) -> float:
    """When a DER certificate stops being valid (POSIX seconds): for the plan's warning before it does."""
    from cryptography import x509

    return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
