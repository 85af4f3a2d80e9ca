"""Bounded reads and atomic writes: the one place odatui opens a file the admin names.

A read refuses anything that is not a regular file (a FIFO would block forever, `/dev/zero` never ends) and anything
larger than the caller's cap, naming the cap. A write goes to a temp file next to the target (same filesystem),
fsynced, then renamed over it; on every error path the temp file is removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from odatui.core.errors import OdatuiError, UsageError

KIB, MIB = 1024, 1024 * 1024
CONFIG_LIMIT = 1 * MIB  # an answers file is a few hundred bytes
SECRET_LIMIT = 64 * KIB  # a PEM private key is ~3 KiB
CA_LIMIT = 16 * MIB  # a corporate CA bundle (the whole Mozilla store is ~250 KiB)

_KINDS = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def human(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB and n % MIB == 0 else f"{n // KIB} KiB" if n % KIB == 0 else f"{n} bytes"


def why_os_error(exc: OSError) -> str:
    return exc.strerror or str(exc)


def read_bounded(path: Path | str, *, limit: int, what: str, error: type[OdatuiError] = UsageError) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them, or `error` with one line naming both."""
    path = Path(path).expanduser()
    try:
        # O_NONBLOCK: opening a FIFO for reading with no writer would otherwise wait for one forever.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise error(f"cannot read the {what} {path}: {why_os_error(exc)}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _KINDS.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise error(f"the {what} {path} is {kind}, not a regular file", hint=f"give the path of a {what} file")
        if st.st_size > limit:
            raise error(f"the {what} {path} is larger than the {human(limit)} limit for a {what} "
                        f"({st.st_size} bytes)", hint=f"is {path} the right file?")
        chunks, total = [], 0
        while total <= limit:  # the size can change between fstat and read (a file still growing)
            chunk = os.read(fd, min(1 * MIB, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise error(f"the {what} {path} is larger than the {human(limit)} limit for a {what}")
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"cannot read the {what} {path}: {why_os_error(exc)}") from None
    finally:
        os.close(fd)


def read_text_bounded(path: Path | str, *, limit: int, what: str, error: type[OdatuiError] = UsageError) -> str:
    data = read_bounded(path, limit=limit, what=what, error=error)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = Path(path).expanduser()
        raise error(f"cannot read the {what} {where}: it is not UTF-8 text (byte {exc.start})") from None


def read_stream_bounded(stream: IO[str], *, limit: int, what: str, error: type[OdatuiError] = UsageError) -> str:
    """At most `limit` characters from a pipe (`odatui secrets set NAME < file`); more is refused, not truncated."""
    text = stream.read(limit + 1)
    if len(text) > limit:
        raise error(f"the {what} on standard input is larger than the {human(limit)} limit for a {what}")
    return text


def write_error(path: Path, exc: OSError, what: str) -> UsageError:
    hint = None
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        hint = "free some disk space (or raise the file size limit), then run the command again"
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        hint = f"choose a folder you can write to, or fix the permissions of {path.parent}"
    # Exit 2 like every other unusable input: the disk or folder has to be fixed, retrying as-is cannot help.
    return UsageError(f"cannot write the {what} {path}: {why_os_error(exc)}; nothing was changed", hint=hint)


def open_temp_beside(path: Path, mode: int) -> tuple[int, Path]:
    """A new temp file in `path`'s folder (same filesystem, so the rename is atomic): a random name made with
    O_CREAT | O_EXCL | O_NOFOLLOW (tempfile.mkstemp), never a predictable `.NAME.PID.tmp` that a link planted by
    another local user in a shared folder could redirect (macOS has no protected_symlinks). The folder itself must
    be a folder; a world-writable one must be sticky, or another user could swap our temp file before the rename."""
    import tempfile  # deferred: start-up time (tempfile imports shutil and random)

    folder = path.parent
    st = os.stat(folder)  # follows a link to a folder: the admin may name one; what matters is what it is
    if not stat.S_ISDIR(st.st_mode):
        raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
        raise UsageError(f"the folder {folder} can be written by every user and is not sticky; another user could "
                         f"replace the file before it is in place", hint="choose a private folder (or chmod +t it)")
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    if mode != 0o600:
        os.fchmod(fd, mode)
    return fd, Path(name)


@contextlib.contextmanager
def atomic_writer(path: Path | str, *, what: str, mode: int = 0o600) -> Iterator[IO[bytes]]:
    """`with atomic_writer(p, what="config") as fh: fh.write(...)`: all or nothing at `path`.

    The temp file (open_temp_beside: a random name, never following a link) is removed on every error path,
    including a failed rename onto a folder and an exception from the caller's block. OS errors become one
    OdatuiError naming the path. A link at `path` itself is replaced, never followed."""
    path = Path(path).expanduser()
    tmp: Path | None = None
    fd = -1
    try:
        if path.is_dir() and not path.is_symlink():
            raise UsageError(f"the {what} path {path} is a folder", hint="give a file name inside it")
        fd, tmp = open_temp_beside(path, mode)
        with os.fdopen(fd, "wb") as fh:
            fd = -1  # the file object owns it now
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(path, exc, what) from None
    finally:
        if fd >= 0:
            os.close(fd)
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # after a successful rename there is nothing here; otherwise this is the cleanup


def atomic_write(path: Path | str, data: bytes, *, what: str, mode: int = 0o600) -> Path:
    with atomic_writer(path, what=what, mode=mode) as fh:
        fh.write(data)
    return Path(path).expanduser()


def refuse_overwrite(path: Path, *, what: str, ours: Callable[[Path], bool], force: bool) -> None:
    """Refuse to replace an existing file that is not one of ours (e.g. `bundle --out` onto the config)."""
    try:
        if force or not path.exists() and not path.is_symlink():
            return
    except OSError as exc:  # a name too long, a folder on the way this user may not search
        raise write_error(path, exc, what) from None
    if path.is_dir():
        raise UsageError(f"{path} is a folder", hint=f"give a file name for the {what}")
    if not path.is_file():  # a FIFO or device: never opened to look inside (a FIFO would block)
        raise UsageError(f"{path} already exists and is not a regular file; refusing to replace it",
                         hint="choose another name, or add --force to replace it")
    if not ours(path):
        raise UsageError(f"{path} already exists and is not an odatui {what}; refusing to replace it",
                         hint="choose another name, or add --force to replace it")
