"""What every part of the WS1 emulator shares: limits, the error body `{errorCode, message, activityId}`, the
`Accept: application/json;version=N` rule, and the checks profile payloads must pass."""

from __future__ import annotations

import plistlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse


MAX_JSON_BYTES = 1 << 20  # profile bodies are a few KB; the real IIS front end caps request sizes too
LOCKOUT_AFTER = 5  # failed Basic logins in a row lock the (directory) account, which is why clients must not retry
BLOB_TYPES = {"pkg", "dmg", "mpkg", "plist", "png", "jpg", "jpeg", "ipa", "apk", "msi", "zip", "appx", "exe", "xml"}
APP_BINARY_TYPES = {"pkg", "dmg", "mpkg"}
MODULE_TYPES = {"General", "Application", "Content", "Book", "Certificate"}
NS = uuid.UUID("1c9ad7f2-5a0e-4f1b-9a49-7fd0e6c0b001")


class Ws1Error(Exception):
    def __init__(self, status: int, code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def error_response(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errorCode": code, "message": message, "activityId": str(uuid.uuid4())},
                        status_code=status, headers=headers)


def requested_version(accept: str | None) -> int:
    """`application/json;version=2` → 2. Missing, garbled or trailing-semicolon headers → 1 (the real quirk)."""
    text = (accept or "").strip()
    if not text or text.endswith(";"):
        return 1
    m = re.search(r";\s*version\s*=\s*(\d+)\s*$", text)
    return int(m.group(1)) if m else 1


def pad_version(version: str) -> str:
    parts = (version.split(".") + ["0", "0", "0", "0"])[:4]
    return ".".join(p if p.isdigit() else "0" for p in parts)


def is_datetime(value: Any) -> bool:
    try:
        datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return True


WRAPPER = re.compile(r"<\?xml|<!DOCTYPE|<plist", re.IGNORECASE)


def is_bare_dict(text: str) -> bool:
    """One <dict>…</dict> payload with PayloadType, no XML declaration, DOCTYPE or <plist> wrapper."""
    body = text.strip()
    if WRAPPER.search(body) or not (body.startswith("<dict>") and body.endswith("</dict>")):
        return False
    doc = (b'<?xml version="1.0" encoding="UTF-8"?><plist version="1.0">' + body.encode("utf-8") + b"</plist>")
    try:
        value = plistlib.loads(doc)
    except Exception:
        return False
    return isinstance(value, dict) and isinstance(value.get("PayloadType"), str)


@dataclass(frozen=True)
class Ws1Tenant:
    """What the sandbox hands the emulator: the tenant's demo credentials and names, and the static SCEP challenge
    Okta's SCEP server accepts (a certificate authority or profile with another one fails on the Macs)."""

    user: str
    password: str = field(repr=False)
    tenant_code: str = field(repr=False)
    oauth_client_id: str
    oauth_secret: str = field(repr=False)
    group_id: str
    smart_group: str
    okta_scep_challenge: str = field(repr=False)

