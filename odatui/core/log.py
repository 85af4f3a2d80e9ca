"""Logging to a rotating file in the user log dir, through a filter that removes every secret.

Known secret values are registered as they are read (env or keychain); header values of `Authorization`,
`aw-tenant-code` and token-bearing form fields are removed by pattern, so even an unregistered value cannot leak.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
import threading
import traceback
from pathlib import Path

from odatui.core.domain import SECRETS
from odatui.core.paths import log_dir

REDACTED = "[redacted]"
_secrets: set[str] = set()
_lock = threading.Lock()

_PATTERNS = [
    # header-like  "Authorization: SSWS abc", "'authorization': 'Bearer abc'", "aw-tenant-code=abc"
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:(?:SSWS|Bearer|Basic|DPoP)\s+)?[^\s'\",}]+"),
    re.compile(r"(?i)(aw-tenant-code['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
    re.compile(r"(?i)\b((?:SSWS|Bearer|Basic)\s+)[A-Za-z0-9._~+/=\-]{8,}"),
    re.compile(r"(?i)((?:client_secret|client_assertion|access_token|password|api_token|private_key)['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,}]+"),
]
# A whole PEM private key, removed before anything else: a known secret replaced inside its armour first would
# leave the block unmatched and its body lines in the log.
_PEM_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)


MIN_FRAGMENT = 8  # a piece of a secret this long (or longer) is redacted wherever it is cut off
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is removed from every later log line."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)
            # PEM keys show up line by line (e.g. inside an exception message); a value with a stray control
            # character shows up in the pieces a terminal or `splitlines()` cuts it into.
            for piece in _CONTROL.split(value):
                if piece.strip().startswith("-----"):
                    continue  # a PEM armour line ("-----BEGIN EC PRIVATE KEY-----") is no secret
                if len(piece.strip()) >= (16 if "\n" in value.strip() else MIN_FRAGMENT):
                    _secrets.add(piece.strip())


def known_secrets() -> set[str]:
    with _lock:
        return set(_secrets)


def _register_env_secrets() -> None:
    # A secret handed over in the environment is known from the start: redact it even in lines written before
    # (or without) the store reading it.
    for env, _ in SECRETS.values():
        register_secret(os.environ.get(env))


def _cut_off(segment: str, values: list[str]) -> str:
    """Redact the end of a secret that starts a segment and the start of one that ends it: the value cut by a line
    break, a truncated message ("…abc" / "abc…") or a width limit."""
    for value in values:
        if value[:MIN_FRAGMENT] in segment:  # cheap test first: most segments hold no piece of any secret
            for k in range(min(len(value) - 1, len(segment)), MIN_FRAGMENT - 1, -1):
                if segment.endswith(value[:k]):
                    segment = segment[: len(segment) - k] + REDACTED
                    break
        if value[-MIN_FRAGMENT:] in segment:
            for k in range(min(len(value) - 1, len(segment)), MIN_FRAGMENT - 1, -1):
                if segment.startswith(value[-k:]):
                    segment = REDACTED + segment[k:]
                    break
    return segment


def redact(text: str) -> str:
    _register_env_secrets()
    text = _PEM_KEY.sub(REDACTED, text)
    values = sorted(known_secrets(), key=len, reverse=True)
    for value in values:
        text = text.replace(value, REDACTED)
    short = [v for v in values if MIN_FRAGMENT < len(v) <= 512]  # PEM keys are handled line by line above
    if short:
        # Split on control characters and whitespace-free boundaries: each segment's edges may hold a cut-off piece.
        parts = re.split(r"([\x00-\x1f\x7f-\x9f\u2028\u2029\s…]+)", text)
        text = "".join(p if i % 2 else _cut_off(p, short) for i, p in enumerate(parts))
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info))
            record.exc_info = None
        if record.exc_text:
            message += "\n" + record.exc_text
            record.exc_text = None
        if record.stack_info:
            message += "\n" + record.stack_info
            record.stack_info = None
        record.msg = redact(message)
        record.args = None
        return True


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Every file it opens (the first and each one after a rollover) is created 0600, whatever the umask."""

    def _open(self):  # type: ignore[override]
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


_configured: Path | None = None


def setup_logging(level: int = logging.INFO, directory: Path | None = None) -> Path:
    """Route the `odatui` loggers to `odatui.log` (1 MB × 5, files 0600). Returns the log file path."""
    global _configured
    directory = directory or log_dir()
    path = directory / "odatui.log"
    if _configured == path:
        return path
    root = logging.getLogger("odatui")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    path.touch(mode=0o600, exist_ok=True)
    handler = _PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    # httpx logs request lines at INFO; keep them, redacted, at DEBUG only.
    for name in ("httpx", "httpcore"):
        lib = logging.getLogger(name)
        lib.addFilter(RedactingFilter())
        lib.setLevel(logging.WARNING)
    _configured = path
    return path


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"odatui.{name}" if not name.startswith("odatui") else name)
