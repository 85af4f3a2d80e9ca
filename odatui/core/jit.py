"""The RegistrationToken of just-in-time local account creation: one random value per Okta org, kept on this
machine so every run, the exports and the profile in Workspace ONE carry the same one.

Okta, "Just-In-Time Local Account Creation for macOS" (help.okta.com/oie/en-us/content/topics/oda/
jit-provisioning-oda.htm): RegistrationToken "should be set to a random value … the field must be populated".
Apple (com.apple.extensiblesso.yaml, RegistrationToken): a top-level string of the Extensible SSO payload, macOS
13+. odatui never prints it: it is registered with the log redactor and only the profile carries it.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from odatui.core.errors import UsageError
from odatui.core.files import atomic_write, read_text_bounded
from odatui.core.log import register_secret
from odatui.core.paths import state_dir

_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


def token_path(org_host: str) -> Path:
    return state_dir() / "jit" / (re.sub(r"[^a-z0-9.-]", "-", org_host.lower()) + ".registration-token")


def registration_token(org_host: str) -> str:
    """This org's token: read, or made once (32 random bytes, URL-safe) and saved 0600."""
    path = token_path(org_host)
    if path.exists():
        token = read_text_bounded(path, limit=1024, what="the JIT registration token file").strip()
        if not _TOKEN_RE.match(token):
            raise UsageError(f"{path} does not hold a registration token odatui wrote",
                             hint="delete that file; odatui makes a new random one (Macs re-register with it)")
    else:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_urlsafe(32)
        atomic_write(path, token.encode(), what="the JIT registration token file", mode=0o600)
    register_secret(token)
    return token
