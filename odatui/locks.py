"""Run locks: a non-blocking flock per target (the state folder's) and per tenant part (TenantLocks), each file
holding its holder's pid so whoever comes second is told who has it."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from pathlib import Path

from odatui.errors import StateError


def lock_dir() -> Path:
    """Where the per-tenant run locks live: outside any state folder (two state folders, e.g. two XDG_STATE_HOME,
    still meet here), private to this user. $XDG_RUNTIME_DIR/odatui/locks, else /tmp/odatui-<uid>/locks."""
    import tempfile  # deferred: start-up (tempfile imports shutil and random; only a run needs a lock)

    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        base = Path(runtime) / "odatui"
    else:
        base = Path(tempfile.gettempdir()) / f"odatui-{os.getuid()}"
    path = base / "locks"
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = os.lstat(base)
    except OSError as exc:
        raise StateError(f"cannot create the lock folder {path}: {exc.strerror}") from None
    # A shared /tmp: a folder someone else made (or a symlink they planted) must not hold our locks.
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise StateError(f"the lock folder {base} is not a folder of this user", hint=f"remove {base} and run again")
    return path


def take_lock(path: Path, what: str, hint: str) -> int:
    """A non-blocking flock on `path` holding this pid (for the refusal message of whoever comes second); the fd
    keeps it. StateError naming the holder when another process has it; OSError when the file cannot be made."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise StateError(f"another odatui (pid {holder}) is working on this {what}", hint=hint) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


class TenantLocks:
    """One flock per tenant part (Okta org, WS1 organization group), held for a run. Non-blocking: a second run on
    the same org or group is refused with the pid of the first, whatever folder or spelling it used."""

    def __init__(self, names: tuple[str, ...], directory: Path | None = None) -> None:
        self.names = names
        self.directory = directory
        self._fds: list[int] = []

    @property
    def held(self) -> bool:
        return bool(self._fds)

    def acquire(self) -> None:
        directory = self.directory or lock_dir()
        try:
            for name in sorted(set(self.names)):
                self._fds.append(take_lock(
                    directory / f"{name}.lock", f"tenant ({name})",
                    "wait for it to finish or stop it; two runs on one tenant could create duplicates "
                    "(the same tenant is recognised whatever its spelling or state folder)"))
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
