"""Logging to a rotating file in the user log dir, through a filter that removes every secret.

Known secret values are registered as they are read (env or keychain); header values of `Authorization`,
`aw-tenant-code` and token-bearing form fields are removed by pattern, so even an unregistered value cannot leak.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import threading
import traceback
from pathlib import Path

REDACTED = "[redacted]"
_secrets: set[str] = set()
_lock = threading.Lock()

_PATTERNS = [
    # header-like  "Authorization: SSWS abc", "'authorization': 'Bearer abc'", "aw-tenant-code=abc"
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:(?:SSWS|Bearer|Basic|DPoP)\s+)?[^\s'\",}]+"),
    re.compile(r"(?i)(aw-tenant-code['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+"),
    re.compile(r"(?i)\b((?:SSWS|Bearer|Basic)\s+)[A-Za-z0-9._~+/=\-]{8,}"),
    re.compile(r"(?i)((?:client_secret|client_assertion|access_token|password|api_token|private_key)['\"]?\s*[:=]\s*['\"]?)[^\s'\"&,}]+"),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
]


def register_secret(value: str | None) -> None:
    """Remember a secret value so that it is removed from every later log line."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)
            # PEM keys also show up line by line (e.g. inside an exception message).
            for line in value.splitlines():
                if len(line.strip()) >= 16:
                    _secrets.add(line.strip())


def known_secrets() -> set[str]:
    with _lock:
        return set(_secrets)


def _register_env_secrets() -> None:
    # A secret handed over in the environment is known from the start: redact it even in lines written before
    # (or without) the store reading it.
    import os

    from odatui.secrets import SECRETS

    for env, _ in SECRETS.values():
        register_secret(os.environ.get(env))


def redact(text: str) -> str:
    _register_env_secrets()
    for value in sorted(known_secrets(), key=len, reverse=True):
        text = text.replace(value, REDACTED)
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
        import os

        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


_configured: Path | None = None


def setup_logging(level: int = logging.INFO, directory: Path | None = None) -> Path:
    """Route the `odatui` loggers to `odatui.log` (1 MB × 5, files 0600). Returns the log file path."""
    global _configured
    from odatui.paths import log_dir

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
