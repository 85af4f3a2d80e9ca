"""Facts of the domain that the config, the secrets store, the log filter and the profile builders all need.

Below `config`, `secrets`, `log` and `macos`: it imports nothing from odatui except `errors`, so each of them can
use one definition without importing the others (no config → macos edge, no log ↔ secrets cycle).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from odatui.errors import UsageError

# The macOS floors a rollout may target: 13 (Platform SSO 1.0), 14, 15, 26 (2.0). Okta "PSSO for macOS: Version
# compatibility and features", help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/about-psso-version-history.htm
MACOS_FLOORS = (13, 14, 15, 26)

# An Okta OIDC client ID: "0oa" and 17 letters or digits, the shape of every app id in the Apps API examples
# (developer.okta.com/docs/api/openapi/okta-management/management/tag/Application/, e.g. 0oa1gjh63g214q0Hq0g4);
# Okta does not document the format as a rule: unverified.
CLIENT_ID_RE = re.compile(r"^0oa[A-Za-z0-9]{17}$")

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
