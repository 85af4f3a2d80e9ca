"""Checks the config tables share: an https origin from a pasted URL, a CA bundle file, loopback rules.

Each raises ValueError with the sentence pydantic shows next to the field name."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from odatui.core.domain import numeric_host_problem
from odatui.core.errors import OdatuiError
from odatui.core.files import CA_LIMIT, read_bounded


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def https_origin(value: str, *, what: str) -> tuple[str, str]:
    """Normalise a pasted URL to `https://host[:port]`; returns (origin, hostname)."""
    raw = value.strip()
    # urlsplit drops tabs and line breaks anywhere (WHATWG URL rules), so "https://acme\n.evil.com" would silently
    # become another host: refuse every space or control character instead of letting it be rewritten.
    bad = next((c for c in raw if ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F), None)
    if bad is not None:
        raise ValueError(f"{what} contains {'a space' if bad == ' ' else f'the control character U+{ord(bad):04X}'} "
                         f"(got {value!r}); give it like https://host.example.com")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme.lower() != "https":
        raise ValueError(f"{what} must use https (got {parts.scheme}://); use https://{parts.netloc or '…'}")
    if parts.username or parts.password:
        raise ValueError(f"{what} must not contain a user name or password; give just https://host")
    host = (parts.hostname or "").lower()
    if not host or not re.fullmatch(r"[a-z0-9.\-]+|\[?[0-9a-f:]+\]?", host) or ".." in host:
        raise ValueError(f"{what} has no valid host name (got {value!r}); give it like https://host.example.com")
    numeric = numeric_host_problem(host)
    if numeric:
        raise ValueError(f"{what} {numeric}; give the host name (or the plain dotted address, e.g. 127.0.0.1)")
    if "." not in host and ":" not in host and host != "localhost":
        # An Okta org and a WS1 API host are always full domain names (acme.okta.com, as1831.awmdm.com): a bare
        # word is a slip (a stray "Q" typed into the field), not a host worth saving as https://q.
        raise ValueError(f"{what} needs a full host name (got {value!r}); give it like https://host.example.com")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{what} has an invalid port (got {value!r})") from None
    if port == 0 or parts.netloc.endswith(":"):  # port 0 means "any port" to a socket; "host:" drops it silently
        raise ValueError(f"{what} has an invalid port (got {value!r}); give 1–65535 or leave it out")
    # An IPv6 literal keeps its brackets, or "https://::1:8443" would no longer parse as a host and a port.
    netloc = f"[{host}]" if ":" in host else host
    origin = f"https://{netloc}" + (f":{port}" if port and port != 443 else "")
    return origin, host


def nonblank(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


class Table(BaseModel):
    # Unknown keys in the file are caught earlier with a "did you mean" message; env secrets are ignored here.
    model_config = ConfigDict(extra="ignore", validate_assignment=True, str_strip_whitespace=True)


def ca_bundle_file(v: str) -> str:
    if not v:
        return v
    path = Path(v).expanduser()
    if path.exists() and not path.is_file():  # a FIFO would block the read below, /dev/zero never end
        raise ValueError(f"the CA bundle {path} is not a regular file; give the PEM file of your proxy's or "
                         "sandbox's CA")
    if not path.is_file():
        raise ValueError(f"no CA bundle at {path}; give the PEM file of your proxy's or sandbox's CA")

    try:
        head = read_bounded(path, limit=CA_LIMIT, what="CA bundle")[:65536]
    except OdatuiError as exc:
        raise ValueError(exc.message) from None
    if b"-----BEGIN CERTIFICATE-----" not in head:
        raise ValueError(f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return str(path)


def loopback_needs_ca(url: str, ca_bundle: str, table: str) -> None:
    if url and is_loopback(urlsplit(url).hostname or "") and not ca_bundle:
        raise ValueError(
            f"{url} is a loopback address, used only by the sandbox: set {table}.ca_bundle to the CA file it printed"
        )


def listed_once(items: list[str], what: str) -> list[str]:
    """The list as given, or ValueError naming the first item listed twice."""
    dupes = sorted({n for n in items if items.count(n) > 1})
    if dupes:
        raise ValueError(f"{what} {dupes[0]!r} is listed twice; list each once")
    return items


def okta_group_names(v: list[str]) -> list[str]:
    """Okta group names trimmed, blanks refused, repeats dropped (order kept)."""
    cleaned = [g.strip() for g in v]
    if any(not g for g in cleaned):
        raise ValueError("Okta group names must not be empty; remove the blank entry")
    return list(dict.fromkeys(cleaned))
