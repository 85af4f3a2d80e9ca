"""Run locks: a non-blocking flock per target (the state folder's) and per tenant part (TenantLocks), each file
holding its holder's pid and host so whoever comes second is told who has it. The tenant locks live in one folder
for the whole machine (lock_dir), so every user, sudo, cron and login session on one tenant exclude each other."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from pathlib import Path

from odatui.core.errors import StateError


# One folder for the whole machine, not per user or per login session: a login shell, cron, sudo and a second
# admin account must all meet on one tenant's lock (per-user folders such as $XDG_RUNTIME_DIR let two of them create
# a duplicate profile side by side). /var/tmp is shared by every user on Linux and macOS alike (macOS's $TMPDIR is
# per user, so tempfile.gettempdir() would not do) and survives the holder's reboot-free life far longer than /tmp's
# cleaners' ten days. ODATUI_LOCK_DIR moves it (e.g. a folder shared by two machines that run odatui).
SHARED_LOCK_DIR = "/var/tmp/odatui-locks"
LOCK_DIR_ENV = "ODATUI_LOCK_DIR"


def lock_dir() -> Path:
    """Where the per-tenant run locks live: one world-writable, sticky folder for every process on the machine."""
    path = Path(os.environ.get(LOCK_DIR_ENV) or SHARED_LOCK_DIR)
    try:
        try:
            os.mkdir(path, 0o1777)
            os.chmod(path, 0o1777)  # the umask took the bits away; every user must be able to add a lock here
        except FileExistsError:
            pass
        st = os.lstat(path)
    except OSError as exc:
        raise StateError(f"cannot create the lock folder {path}: {exc.strerror}",
                         hint=f"create it as root: mkdir -m 1777 {path}") from None
    # A shared folder: it must be a real folder (not a link someone planted), and if others can write to it the
    # sticky bit must keep them from deleting or replacing our lock files.
    if not stat.S_ISDIR(st.st_mode):
        raise StateError(f"the lock folder {path} is not a folder (a link or a file is in its place)",
                         hint=f"remove {path} and run again")
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise StateError(f"the lock folder {path} can be written by others but is not sticky",
                         hint=f"chmod 1777 {path} (as its owner or root)")
    return path


def _holder(fd: int) -> str:
    """Who holds the lock, as its file says: "pid P on host H" (the holder wrote it after taking the lock)."""
    import socket

    text = os.pread(fd, 256, 0).decode(errors="replace").split()
    if len(text) >= 2:
        pid, host = text[0], text[1]
        if host == socket.gethostname() and pid.isdigit() and not _alive(int(pid)):
            # flock dies with its holder, so a lock still held by a dead pid belongs to a process that inherited
            # the descriptor (or the folder is on a network filesystem): say so rather than "wait for it".
            return f"pid {pid} on {host}, which is no longer running (a child process or another host holds it)"
        return f"pid {pid} on {host}"
    return f"pid {text[0]}" if text else "pid unknown"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def _open_lock_file(path: Path, mode: int) -> int:
    """Open (or create) a lock file in a shared folder without following a link planted in its place. An existing
    file is opened without O_CREAT: Linux's protected_regular refuses O_CREAT on another user's file in a sticky
    folder, and that file is exactly the one to share."""
    flags = os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(10):
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            try:
                fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, mode)
                os.fchmod(fd, mode)  # the umask took bits away; in the shared folder every user must open it
            except FileExistsError:
                continue  # someone made it between our two opens: open theirs
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, f"{path} is not a regular file")
        return fd
    raise OSError(errno.EAGAIN, f"{path} keeps appearing and disappearing")


def take_lock(path: Path, what: str, hint: str, *, mode: int = 0o600) -> int:
    """A non-blocking flock on `path` holding this pid and host (for the refusal message of whoever comes second);
    the fd keeps it. StateError naming the holder when another process has it; OSError when the file cannot be
    opened or made."""
    import socket

    fd = _open_lock_file(path, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise StateError(f"another odatui ({holder}) is working on this {what}", hint=hint) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
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
                path = directory / f"{name}.lock"
                try:
                    self._fds.append(take_lock(
                        path, f"tenant ({name})",
                        "wait for it to finish or stop it; two runs on one tenant could create duplicates "
                        "(the same tenant is recognised whatever its spelling, state folder or user)", mode=0o666))
                except OSError as exc:
                    raise StateError(f"cannot use the tenant lock {path}: {exc.strerror or exc}",
                                     hint=f"if it is a link or not a file, remove {path} and run again") from None
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        for fd in self._fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self._fds = []
