"""One factory for every HTTP client odatui uses, and one retry policy.

TLS verification is always on; `ca_bundle` adds a corporate (TLS-inspecting proxy) or sandbox CA. Retries are
for idempotent requests only, with exponential backoff and jitter, honouring `Retry-After` and Okta's
`X-Rate-Limit-Reset`. Non-idempotent requests (POST create, upload) are never re-sent blindly: the caller looks
before it sends again.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import functools
import os
import random
import ssl
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

try:
    # httpcore picks its async backend on the first request and imports anyio's asyncio backend then (~30-40 ms
    # of module code, inside a coroutine, blocking the event loop). Import it with httpx, so it happens wherever
    # httpx's own import is arranged to happen (off the loop in the engine, before the first paint in the TUI).
    import anyio._backends._asyncio  # noqa: F401
except ImportError:  # another anyio layout: the first request pays for it, nothing breaks
    pass

from odatui import __version__
from odatui.errors import StepError
from odatui.log import get_logger

log = get_logger("http")

USER_AGENT = f"odatui/{__version__} (+Okta Platform SSO on Workspace ONE)"
API_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Uploads: a GB package over a slow link; the write timeout is per chunk, not for the whole body.
UPLOAD_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=120.0, pool=30.0)
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


def ssl_context(ca_bundle: str | None = None) -> ssl.SSLContext:
    """The verifying TLS context for `ca_bundle` (or the system store), built once per CA file version.

    Building one costs 30-50 ms of CPU (the system store plus the bundle are parsed), and every client used to
    build its own. Cached per (path, inode, mtime, size), so an edited or replaced CA file gives a fresh context. The
    context is shared: callers must not change it. Call `ssl_context_off_loop` from async code."""
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


async def ssl_context_off_loop(ca_bundle: str | None = None) -> ssl.SSLContext:
    """`ssl_context` built in a worker thread, so a first build never stalls the event loop."""
    return await asyncio.to_thread(ssl_context, ca_bundle)


_build_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _cached_context(path: str | None, inode: int, mtime_ns: int, size: int) -> ssl.SSLContext:
    return _build_context(path)


def _build_context(ca_bundle: str | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if ca_bundle:
        ctx.load_verify_locations(cafile=ca_bundle)
    return ctx


def make_client(
    base_url: str,
    *,
    ca_bundle: str | None = None,
    timeout: httpx.Timeout = API_TIMEOUT,
    headers: dict[str, str] | None = None,
    max_connections: int = 10,
    event_hooks: dict[str, list[Callable[..., Any]]] | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient with verification on, odatui's User-Agent and sane timeouts."""
    return httpx.AsyncClient(
        base_url=base_url,
        verify=ssl_context(ca_bundle or None),
        timeout=timeout,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        follow_redirects=False,
        event_hooks=event_hooks,
    )


# One API call, all its retries and rate-limit waits included, ends within this many seconds. httpx's timeouts are
# per operation: a server that accepts and never answers, or drips a byte every 29 s, would otherwise hold a step
# for attempts × timeouts (over ten minutes). Uploads have their own, longer bounds.
REQUEST_DEADLINE = 180.0
MAX_PAGES = 1000  # pages followed for one listing (200 items each): far beyond any real org, short of forever


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base: float = 0.5
    cap: float = 30.0
    max_wait: float = 65.0  # Okta's rate-limit windows are one minute
    deadline: float | None = REQUEST_DEADLINE

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff for attempt 1, 2, …"""
        return random.uniform(0, min(self.cap, self.base * 2 ** (attempt - 1)))

    def wait_for(self, response: httpx.Response | None, attempt: int) -> float:
        if response is not None:
            hinted = server_wait(response)
            if hinted is not None:
                return min(self.max_wait, hinted)
        return self.backoff(attempt)


def server_wait(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait: Retry-After (seconds or date), or X-Rate-Limit-Reset (epoch)."""
    retry_after = response.headers.get("Retry-After")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(retry_after).timestamp()
                return max(0.0, when - time.time())
            except (TypeError, ValueError):
                pass
    reset = response.headers.get("X-Rate-Limit-Reset")
    if response.status_code == 429 and reset:
        try:
            return max(0.0, float(reset) - time.time()) + random.uniform(0, 0.25)
        except ValueError:
            pass
    return None


def describe_transport_error(exc: Exception, url: str) -> StepError:
    """Turn a connection/TLS/timeout failure into a sentence an admin can act on."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError) and ("CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower()):
        import re

        # "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: <reason> (_ssl.c:1006)" → "<reason>"
        found = re.search(r"verify failed:\s*(.*?)\s*(?:\(_ssl\.c:\d+\))?$", text)
        reason = found.group(1) if found and found.group(1) else "verification failed"
        return StepError(
            f"TLS certificate of {url} is not trusted ({reason})",
            hint="if a TLS-inspecting proxy sits in between, set ca_bundle to its CA certificate (PEM); "
            "never turn verification off",
        )
    if isinstance(exc, httpx.TimeoutException):
        return StepError(f"{url} did not answer in time ({type(exc).__name__})",
                         hint="check the network or proxy; odatui retries idempotent calls by itself", retryable=True)
    if isinstance(exc, httpx.ConnectError):
        return StepError(f"cannot connect to {url}: {text}", hint="check the host name, DNS and proxy settings",
                         retryable=True)
    return StepError(f"connection to {url} failed: {text}", retryable=True)


@contextlib.asynccontextmanager
async def overall_deadline(policy: RetryPolicy, url: str) -> AsyncIterator[None]:
    """Bound one logical call (every attempt and wait) by `policy.deadline`; past it, one StepError naming it."""
    if not policy.deadline:
        yield
        return
    try:
        async with asyncio.timeout(policy.deadline):
            yield
    except TimeoutError:
        raise StepError(f"{url} gave no complete answer within the {policy.deadline:g} s limit for one request "
                        "(retries included)", hint="the server or a proxy in between hangs; check it, then "
                        "`odatui retry`") from None


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"https": 443, "http": 80}.get(url.scheme)
    return url.scheme, url.host, url.port or default


class PageGuard:
    """Follows `Link: rel="next"` (or page numbers) safely: a next link must stay on the origin the client was made
    for — the API token is sent with it — must not repeat a page already read, and paging stops at `MAX_PAGES`."""

    def __init__(self, base_url: httpx.URL | str, what: str, *, max_pages: int = MAX_PAGES) -> None:
        self.base = httpx.URL(str(base_url))
        self.what, self.max_pages = what, max_pages
        self.seen: set[str] = set()
        self.pages = 1  # the first page, requested by the caller

    def check(self, next_url: str) -> str:
        """`next_url` if it is safe to request next; otherwise one StepError (not retryable) saying why."""
        try:
            absolute = self.base.join(next_url)
        except (httpx.InvalidURL, ValueError):
            raise StepError(f"the next-page link from {self.what} is not a URL; stopped paging") from None
        if _origin(absolute) != _origin(self.base):
            raise StepError(f"the next-page link from {self.what} points to another origin "
                            f"({absolute.scheme}://{absolute.host}); refusing to send the API token there",
                            hint="a proxy or a hostile server rewrote the Link header; check the org URL and proxy")
        key = str(absolute)
        if key in self.seen:
            raise StepError(f"the next-page link from {self.what} repeats a page already read (a paging loop); "
                            "stopped paging", hint="the server's paging is broken; try again later")
        self.count()
        self.seen.add(key)
        return next_url

    def count(self) -> None:
        """One more page; past `max_pages` the listing stops with the limit named."""
        self.pages += 1
        if self.pages > self.max_pages:
            raise StepError(f"{self.what} announced more than the {self.max_pages}-page limit for one listing; "
                            "stopped paging",
                            hint="the server keeps announcing more pages; check its answers (or a proxy)")


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: RetryPolicy = RetryPolicy(),
    retry: bool | None = None,
    on_retry: Callable[[str], Awaitable[None] | None] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send with the retry policy. `retry=None` retries only idempotent methods; retries 429/5xx/network errors.

    Returns the last response (the caller turns error statuses into its own exception type).
    """
    async with overall_deadline(policy, str(client.base_url.join(url))):
        return await _send(client, method, url, policy=policy, retry=retry, on_retry=on_retry, **kwargs)


async def _send(client: httpx.AsyncClient, method: str, url: str, *, policy: RetryPolicy, retry: bool | None,
                on_retry: Callable[[str], Awaitable[None] | None] | None, **kwargs: Any) -> httpx.Response:
    method = method.upper()
    may_retry = (method in IDEMPOTENT) if retry is None else retry
    attempt = 0
    while True:
        attempt += 1
        response: httpx.Response | None = None
        try:
            response = await client.request(method, url, **kwargs)
            if response.status_code not in RETRY_STATUS:
                return response
            # 429 on any method is safe to resend: the server refused it without doing anything.
            retry_this = may_retry or response.status_code == 429
            reason = f"HTTP {response.status_code}"
        except httpx.TransportError as exc:
            err = describe_transport_error(exc, str(client.base_url.join(url)))
            if not (may_retry and err.retryable) or attempt >= policy.attempts:
                raise err from None
            retry_this, reason = True, type(exc).__name__
        if not retry_this or attempt >= policy.attempts:
            return response  # type: ignore[return-value]
        wait = policy.wait_for(response, attempt)
        log.info("%s %s: %s, retry %d/%d in %.1fs", method, url, reason, attempt, policy.attempts - 1, wait)
        if on_retry is not None:
            result = on_retry(f"{reason}; retrying in {wait:.0f}s")
            if asyncio.iscoroutine(result):
                await result
        await asyncio.sleep(wait)
