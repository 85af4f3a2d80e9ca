"""What every part of the Okta emulator shares: its constants, Okta's error shapes (`errorCode`,
`errorSummary`, … and the OAuth `error`), and the timestamp format."""

from __future__ import annotations

import re
import string
import time
from datetime import datetime, timezone


PSSO_LABEL = "Platform Single Sign-On for macOS"
FORMER_PSSO_LABEL = "Desktop Password Sync"
ALL_SCOPES = ("okta.apps.read", "okta.apps.manage", "okta.groups.read", "okta.users.read", "okta.authenticators.read",
              "okta.devices.read", "okta.logs.read")
# Requests per minute per route class; close to Okta's defaults for a small org.
DEFAULT_LIMITS = {"apps": 100, "groups": 500, "authenticators": 100, "users": 600, "token": 600, "org": 1000,
                  "devices": 500, "logs": 120}  # devices, logs: unverified
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALNUM = string.ascii_letters + string.digits
OTHER_APPS = (
    "Slack", "Zoom", "Salesforce", "Workday", "GitHub Enterprise", "Atlassian Cloud", "Box", "Dropbox Business",
    "Google Workspace", "Microsoft Office 365", "ServiceNow", "Zendesk", "DocuSign", "Adobe Creative Cloud",
    "AWS IAM Identity Center", "Figma", "Miro", "Notion", "Asana", "Tableau", "Concur", "Greenhouse", "Lucidchart",
    "PagerDuty", "Datadog", "1Password", "Jamf Pro", "Workspace ONE Access", "Platform Status Page", "Expensify",
)
FILTER_TERM = re.compile(r'^\s*([A-Za-z_.]+)\s+(eq|sw)\s+"((?:[^"\\]|\\.)*)"\s*$')  # \" escapes a quote


# Okta's Application signOnMode values (management spec `ApplicationSignOnMode`), the subset the sandbox can add.
# Non-OIDC apps get the bookmark-style body below with their own signOnMode (their other fields: unverified).
SIGN_ON_MODES = ("OPENID_CONNECT", "SAML_2_0", "BOOKMARK")


def now_iso(t: float | None = None) -> str:
    return datetime.fromtimestamp(t or time.time(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class OktaError(Exception):
    def __init__(self, status: int, code: str, summary: str, causes: list[str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(summary)
        self.status, self.code, self.summary = status, code, summary
        self.causes = causes or []
        self.headers = headers or {}


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description
        self.headers = headers or {}


def not_found(what: str, kind: str) -> OktaError:
    return OktaError(404, "E0000007", f"Not found: Resource not found: {what} ({kind})")
