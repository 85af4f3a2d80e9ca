"""The verifying TLS context every HTTPS client of odatui uses: the system store plus an optional CA bundle (a
TLS-inspecting proxy's CA, or the sandbox's), never verification off."""

from __future__ import annotations

import functools
import os
import ssl
import threading


def ssl_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The verifying TLS context for `ca_bundle` (or the system store), built once per CA file version.

    Building one costs 30-50 ms of CPU (the system store plus the bundle are parsed), and every client used to
    build its own. Cached per (path, inode, mtime, size), so an edited or replaced CA file gives a fresh context. The
    context is shared: callers must not change it. From async code, build it off the loop
    (`asyncio.to_thread`) when the CA file may be new."""
    if not ca_bundle:
        key: tuple[str | None, int, int, int] = (None, 0, 0, 0)
    else:
        try:
            st = os.stat(ca_bundle)
        except OSError:
            return _build_context(ca_bundle)  # raises the same error a fresh build would; nothing cached
        key = (os.path.abspath(ca_bundle), st.st_ino, st.st_mtime_ns, st.st_size)
    with _build_lock:  # the Okta and WS1 clients are built side by side and often share one CA file: build it once
        return _cached_context(*key)


_build_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _cached_context(path: str | None, inode: int, mtime_ns: int, size: int) -> ssl.SSLContext:
    return _build_context(path)


def _build_context(ca_bundle: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_bundle:
        ctx.load_verify_locations(cafile=ca_bundle)
    return ctx
