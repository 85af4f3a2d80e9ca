"""A real Secret Service for the keychain tests: a private D-Bus session bus with gnome-keyring on it.

`dbus-run-session -- sh -c …` would wrap the whole pytest run; instead the fixtures below start a bus and a
keyring daemon per session (both in the foreground, so we own their pids and stop them at the end) and point one
test at a time at it through DBUS_SESSION_BUS_ADDRESS. Missing binaries skip the tests with a reason, except
under CI (env CI set), where the keychain tests must run and therefore fail instead.

Use in a test module:  `from keyring_session import keyring_session, real_keyring  # noqa: F401` and mark the
tests `@pytest.mark.keychain` (conftest then leaves PYTHON_KEYRING_BACKEND alone).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

PASSWORD = "odatui-test-keyring"  # unlocks only this throwaway keyring in a temp HOME


def require_binaries() -> None:
    missing = [b for b in ("dbus-daemon", "gnome-keyring-daemon") if shutil.which(b) is None]
    if missing:
        reason = f"install gnome-keyring dbus (missing: {', '.join(missing)})"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the keychain tests: {reason}", pytrace=False)
        pytest.skip(reason)


class KeyringSession:
    """A D-Bus session bus plus gnome-keyring-daemon (secrets component), unlocked unless `unlock=False`."""

    def __init__(self, root: Path, *, unlock: bool = True) -> None:
        self.root = root
        self.unlock = unlock
        self.address = ""
        self._bus: subprocess.Popen[bytes] | None = None
        self._keyring: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        home = self.root / "home"
        run = self.root / "run"
        for d in (home, run):
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GNOME_KEYRING", "DBUS_"))}
        env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data"), XDG_RUNTIME_DIR=str(run),
                   XDG_CONFIG_HOME=str(home / "config"))
        if self.address:
            env["DBUS_SESSION_BUS_ADDRESS"] = self.address
        return env

    def start(self) -> KeyringSession:
        env = self.env()
        self._bus = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
        )
        assert self._bus.stdout is not None
        self.address = self._bus.stdout.readline().decode().strip()
        if not self.address:
            self.stop()
            raise RuntimeError("dbus-daemon printed no address")
        args = ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
        if self.unlock:
            args.insert(1, "--unlock")
        self._keyring = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env(),
        )
        assert self._keyring.stdin is not None
        if self.unlock:
            self._keyring.stdin.write(PASSWORD.encode())
        self._keyring.stdin.close()  # EOF ends the password
        self._wait_for_service()
        return self

    def _wait_for_service(self, limit: float = 10.0) -> None:
        """Wait until org.freedesktop.secrets is owned on the bus (the daemon registers it after start-up)."""
        from jeepney import DBusAddress, new_method_call
        from jeepney.io.blocking import open_dbus_connection

        bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus", interface="org.freedesktop.DBus")
        deadline = time.monotonic() + limit
        with open_dbus_connection(self.address) as conn:
            while time.monotonic() < deadline:
                reply = conn.send_and_get_reply(new_method_call(bus, "NameHasOwner", "s", ("org.freedesktop.secrets",)))
                if reply.body[0]:
                    return
                if self._keyring is not None and self._keyring.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("gnome-keyring-daemon did not register org.freedesktop.secrets on the test bus")

    def lock_default(self) -> None:
        """Lock the default collection through the Secret Service API (what `secret-tool lock` does)."""
        import secretstorage
        from jeepney.io.blocking import open_dbus_connection

        with open_dbus_connection(self.address) as conn:
            collection = secretstorage.get_default_collection(conn)
            collection.lock()
            assert collection.is_locked()

    def stop(self) -> None:
        for proc in (self._keyring, self._bus):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        if self._bus is not None and self._bus.stdout is not None:
            self._bus.stdout.close()
        self._keyring = self._bus = None


def _reset_keyring_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    # keyring caches the backend it chose on first use; make it choose again from this test's environment.
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)


def point_at(session: KeyringSession, monkeypatch: pytest.MonkeyPatch) -> KeyringSession:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session.address)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    _reset_keyring_backend(monkeypatch)
    return session


@pytest.fixture(scope="session")
def keyring_session(tmp_path_factory):
    """One unlocked gnome-keyring on a private bus for the whole test session."""
    require_binaries()
    session = KeyringSession(tmp_path_factory.mktemp("keyring")).start()
    yield session
    session.stop()


@pytest.fixture
def real_keyring(keyring_session, monkeypatch):
    """This test talks to the session's real, unlocked Secret Service (and subprocesses inherit it)."""
    return point_at(keyring_session, monkeypatch)
