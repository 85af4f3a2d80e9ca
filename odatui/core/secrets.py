"""Secrets in the OS keychain (keyring service `odatui`), or in env vars for unattended runs.

Every keyring call runs in a daemon thread with a time limit: on a locked Secret Service collection (or a macOS
keychain over SSH) keyring can wait forever for an unlock prompt nobody sees.
"""

from __future__ import annotations

import enum
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from odatui.core.domain import SECRETS
from odatui.core.errors import SecretsUnavailable, UsageError
from odatui.core.log import register_secret

SERVICE = "odatui"
PROBE_TIMEOUT = 4.0  # seconds; the issue allows up to 5 s

T = TypeVar("T")


class KeychainState(enum.Enum):
    AVAILABLE = "available"
    NO_BACKEND = "no backend"
    LOCKED = "locked"


@dataclass(frozen=True)
class Probe:
    state: KeychainState
    backend: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state is KeychainState.AVAILABLE

    @property
    def fix(self) -> str:
        return remedy(self.state)


def remedy(state: KeychainState) -> str:
    env = ", ".join(v[0] for v in SECRETS.values())
    if sys.platform == "darwin":
        keychain = (
            "Unlock the login keychain in this SSH session: security unlock-keychain ~/Library/Keychains/login.keychain-db"
        )
    else:
        keychain = (
            "Start a D-Bus session with an unlocked gnome-keyring, then run odatui inside it:\n"
            "    sudo apt-get install gnome-keyring dbus   # once\n"
            "    dbus-run-session -- sh\n"
            "    read -rs PW && printf %s \"$PW\" | gnome-keyring-daemon --unlock --components=secrets; unset PW\n"
            "    odatui"
        )
    if state is KeychainState.LOCKED:
        keychain = "The keychain is locked and cannot prompt over this connection. " + keychain
    return f"{keychain}\nOr, for unattended runs, set the environment variables {env}."


class _Timeout(Exception):
    pass


def _bounded(fn: Callable[[], T], timeout: float) -> T:
    """Run `fn` in a daemon thread; give up after `timeout` (the thread may stay blocked, harmlessly)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="odatui-keyring", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise _Timeout()
    if "error" in box:
        raise box["error"]
    return box["value"]


def probe(timeout: float = PROBE_TIMEOUT) -> Probe:
    """Tell apart: a usable keychain, none at all (typical over SSH on Linux), and a locked one."""
    try:
        # deferred: start-up (keyring imports and probes its backends)
        import keyring
        import keyring.errors
        from keyring.backends import chainer, fail
    except Exception as exc:  # a broken keyring install is "no backend", not a crash
        return Probe(KeychainState.NO_BACKEND, "none", f"keyring cannot load: {exc}")
    # One deadline for both calls: picking the backend and asking it together stay within `timeout`.
    deadline = time.monotonic() + timeout
    try:
        backend = _bounded(keyring.get_keyring, timeout)
    except _Timeout:
        return Probe(KeychainState.LOCKED, "unknown", f"no answer from the keychain within {timeout:.0f} s")
    except Exception as exc:  # choosing a backend can fail outright, e.g. a D-Bus handshake that times out
        text = str(exc) or type(exc).__name__
        return Probe(KeychainState.NO_BACKEND, "none", f"no keychain backend could start: {text.splitlines()[0]}")
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring) or (isinstance(backend, chainer.ChainerBackend) and not backend.backends):
        return Probe(KeychainState.NO_BACKEND, name, "no keychain backend is available in this session")
    if "null" in type(backend).__module__:
        return Probe(KeychainState.NO_BACKEND, name, "the keychain is disabled (null backend)")
    try:
        _bounded(lambda: backend.get_password(SERVICE, "__probe__"), max(0.1, deadline - time.monotonic()))
    except _Timeout:
        return Probe(KeychainState.LOCKED, name, f"the keychain did not answer within {timeout:.0f} s (locked?)")
    except keyring.errors.KeyringLocked as exc:
        return Probe(KeychainState.LOCKED, name, str(exc))
    except keyring.errors.NoKeyringError as exc:
        return Probe(KeychainState.NO_BACKEND, name, str(exc).split(".")[0])
    except Exception as exc:
        text = str(exc)
        # gnome-keyring with no unlocked login collection answers "Prompt dismissed": it needs an unlock prompt
        # that nobody can see over SSH, so it is locked, not absent.
        if "-25308" in text or any(word in text.lower() for word in ("locked", "unlock", "prompt")):
            return Probe(KeychainState.LOCKED, name, text)
        return Probe(KeychainState.NO_BACKEND, name, text.splitlines()[0] if text else type(exc).__name__)
    return Probe(KeychainState.AVAILABLE, name)


def _check_name(name: str) -> None:
    if name not in SECRETS:
        raise UsageError(f"unknown secret {name!r}", hint="one of: " + ", ".join(SECRETS))


# PEM keys (and JWK JSON) span lines; nothing else may hold a control character. Tabs and line breaks inside a
# token or a tenant code are paste accidents that half-print it on the terminal and split it in the log.
_MULTILINE = frozenset({"okta.private_key"})
_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\x1b": "an escape character"}


def control_character(name: str, value: str) -> str | None:
    """What is wrong with `value` as the secret `name`, or None. Never includes the value."""
    allowed = "\n\r\t" if name in _MULTILINE else ""
    for i, ch in enumerate(value):
        if (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in "\u2028\u2029") and ch not in allowed:
            what = _NAMES.get(ch, f"control character U+{ord(ch):04X}")
            return f"the {SECRETS[name][1]}, {name}, contains {what} (at character {i + 1}); refusing it"
        if name in _HEADER_SECRETS and ord(ch) > 0x7E:
            # Sent as an HTTP header value (Okta's `SSWS` Authorization, WS1's aw-tenant-code): ASCII only (RFC 9110
            # §5.5); real tokens and tenant codes are ASCII, so this is a pasted smart quote or look-alike letter.
            return (f"the {SECRETS[name][1]}, {name}, contains the non-ASCII character U+{ord(ch):04X} "
                    f"(at character {i + 1}); refusing it")
    return None


_HEADER_SECRETS = frozenset({"okta.api_token", "ws1.tenant_code"})


def check_secret(name: str, value: str, *, source: str = "") -> None:
    problem = control_character(name, value)
    if problem:
        where = f" from {source}" if source else ""
        raise UsageError(problem.replace("; refusing it", f"{where}; refusing it"),
                         hint="copy the value again exactly (no line break, escape or look-alike character); it was not stored or used")


def _account(name: str, target: str) -> str:
    # One entry per secret and per org/tenant host, so a preview and a production org don't overwrite each other.
    return f"{name}@{target}" if target else name


class SecretStore:
    """Reads secrets from env vars first, then the keychain. `target` is the host the secret belongs to."""

    def __init__(self, *, use_keychain: bool = True, timeout: float = PROBE_TIMEOUT,
                 values: dict[str, str] | None = None) -> None:
        self.use_keychain = use_keychain
        self.timeout = timeout
        self._probe: Probe | None = None
        # In-memory values (the demo's sandbox credentials): used before env and keychain, never persisted.
        self._values = dict(values or {})

    def remember(self, name: str, value: str) -> None:
        """Keep `value` for `name` in memory for this process only (never the keychain, env or a file), ahead of
        env and keychain; it is registered for log redaction at once. An empty value forgets the name."""
        _check_name(name)
        if not value:
            self._values.pop(name, None)
            return
        check_secret(name, value)
        register_secret(value)
        self._values[name] = value

    def probe(self) -> Probe:
        if self._probe is None:
            self._probe = probe(self.timeout)
        return self._probe

    def _require(self) -> None:
        p = self.probe()
        if not p.ok:
            raise SecretsUnavailable(f"the OS keychain is unavailable ({p.state.value}: {p.detail})", hint=p.fix)

    def _call(self, fn: Callable[[], T]) -> T:
        import keyring.errors

        try:
            return _bounded(fn, self.timeout)
        except _Timeout:
            self._probe = Probe(KeychainState.LOCKED, self.probe().backend, "the keychain stopped answering")
            raise SecretsUnavailable("the OS keychain did not answer (locked?)", hint=remedy(KeychainState.LOCKED)) from None
        except keyring.errors.KeyringError as exc:
            raise SecretsUnavailable(f"the OS keychain refused: {exc}", hint=remedy(KeychainState.LOCKED)) from None

    def get(self, name: str, target: str = "") -> str | None:
        _check_name(name)
        if self._values.get(name):
            return self._values[name]
        env = os.environ.get(SECRETS[name][0])
        if env:
            register_secret(env)
            check_secret(name, env, source=SECRETS[name][0])
            return env
        if not self.use_keychain or not self.probe().ok:
            return None
        import keyring

        value = self._call(lambda: keyring.get_password(SERVICE, _account(name, target)))
        if value:
            register_secret(value)
            check_secret(name, value, source="the keychain")  # stored by an older odatui or another tool
        return value

    def require(self, name: str, target: str = "") -> str:
        value = self.get(name, target)
        if value:
            return value
        env, what = SECRETS[name]
        p = self.probe() if self.use_keychain else None
        where = f"the keychain has no entry for {target or 'this target'}" if p and p.ok else "the keychain is unavailable"
        raise SecretsUnavailable(
            f"the {what} is not set ({where})",
            hint=f"run `odatui secrets set {name}`, or set {env} for an unattended run"
            + ("" if not p or p.ok else "\n" + p.fix),
        )

    def set(self, name: str, value: str, target: str = "") -> None:
        _check_name(name)
        if not value:
            raise UsageError(f"refusing to store an empty {SECRETS[name][1]}")
        check_secret(name, value)
        self._require()
        import keyring
        register_secret(value)
        self._call(lambda: keyring.set_password(SERVICE, _account(name, target), value))

    def delete(self, name: str, target: str = "") -> bool:
        _check_name(name)
        self._require()
        import keyring
        import keyring.errors

        def remove() -> bool:
            try:
                keyring.delete_password(SERVICE, _account(name, target))
                return True
            except keyring.errors.PasswordDeleteError:
                return False

        return self._call(remove)

    def status_for(self, config: Any) -> dict[str, str]:
        """Where each secret would come from: 'env', 'keychain' or 'missing' (values never returned)."""
        out = {}
        for name, (env, _) in SECRETS.items():
            if self._values.get(name):
                out[name] = "memory"
            elif os.environ.get(env):
                out[name] = "env"
            elif self.use_keychain and self.probe().ok and self.get(name, target_for(name, config)):
                out[name] = "keychain"
            else:
                out[name] = "missing"
        return out


def target_for(name: str, config: Any) -> str:
    """The host a secret belongs to: the Okta org for okta.*, the WS1 API host for ws1.*."""
    if name.startswith("okta."):
        return config.okta.host
    return config.ws1.api_url.removeprefix("https://")
