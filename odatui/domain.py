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
    return url.strip()


def check_scep_challenge(challenge: str) -> str:
    if not challenge:
        raise UsageError("okta.scep_challenge (the Device Access SCEP secret key) is empty.",
                         hint="Run `odatui secrets set okta.scep_challenge`, or set ODATUI_OKTA__SCEP_CHALLENGE.")
    if any(ord(c) < 32 or ord(c) == 127 for c in challenge):
        # Never echo the value: it is a secret.
        raise UsageError("okta.scep_challenge contains control characters (a pasted line break or tab?).",
                         hint="Copy the secret key again and store it with `odatui secrets set okta.scep_challenge`.")
    return challenge
