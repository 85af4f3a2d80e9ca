"""One factory for every HTTP client odatui uses, and one retry policy.

TLS verification is always on (tls.py); `ca_bundle` adds a corporate (TLS-inspecting proxy) or sandbox CA;
paging limits are in paging.py. Retries are
for idempotent requests only, with exponential backoff and jitter, honouring `Retry-After` and Okta's
`X-Rate-Limit-Reset`. Non-idempotent requests (POST create, upload) are never re-sent blindly: the caller looks
before it sends again. `send` is the one retry loop: the Okta and Workspace ONE clients plug their auth (fresh
headers per attempt, a renewed token), their pacing (Okta's per-org limiter) and their error type into it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.utils
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

try:
    # httpcore picks its async backend on the first request and imports anyio's asyncio backend then (~30-40 ms
    # of module code, inside a coroutine, blocking the event loop). Import it with httpx, so it happens wherever
    # httpx's own import is arranged to happen (off the loop in the engine, before the first paint in the TUI).
    import anyio._backends._asyncio  # noqa: F401
except ImportError:  # another anyio layout: the first request pays for it, nothing breaks
    pass

from odatui import __version__
from odatui.core.errors import StepError
from odatui.core.http_body import DEFAULT_LIMIT, read_capped
from odatui.core.log import get_logger
from odatui.core.tls import ssl_context  # also the name callers have always imported from here

log = get_logger("http")

USER_AGENT = f"odatui/{__version__} (+Okta Platform SSO on Workspace ONE)"
API_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Uploads: a GB package over a slow link; the write timeout is per chunk, not for the whole body.
UPLOAD_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=120.0, pool=30.0)
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


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

# Who hears about an HTTP-level retry: the engine sets it inside each step's task (a context variable, so two steps
# running at once each hear only their own calls), and the step's pane shows the retry as it happens.
RETRY_LISTENER: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "odatui_retry_listener", default=None)


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


class NetworkError(StepError):
    """No HTTP answer came back: connection, TLS or timeout failure. `sent` is False when the connection never
    opened, so nothing reached the server and any method may be sent again."""

    def __init__(self, message: str, *, hint: str | None = None, retryable: bool = False, sent: bool = True) -> None:
        super().__init__(message, hint=hint, retryable=retryable)
        self.sent = sent


class DeadlineExceeded(StepError):
    """One logical call (every attempt and wait) ran past `RetryPolicy.deadline`."""


def describe_transport_error(exc: Exception, url: str) -> NetworkError:
    """Turn a connection/TLS/timeout failure into a sentence an admin can act on."""
    sent = not isinstance(exc, httpx.ConnectError)
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError) and ("CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower()):
        # "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: <reason> (_ssl.c:1006)" → "<reason>"
        found = re.search(r"verify failed:\s*(.*?)\s*(?:\(_ssl\.c:\d+\))?$", text)
        reason = found.group(1) if found and found.group(1) else "verification failed"
        low = reason.lower()
        if "mismatch" in low or "doesn't match" in low or "does not match" in low:
            hint = ("the certificate is for another host name: check the host in the URL (the tenant's API host), "
                    "and that no proxy answers in its place; ca_bundle cannot fix this")
        elif "expired" in low or "not yet valid" in low:
            hint = ("the server's certificate is outside its validity dates: check this machine's clock, then tell "
                    "the server's owner; ca_bundle cannot fix this")
        else:
            hint = ("if a TLS-inspecting proxy sits in between, set ca_bundle to its CA certificate (PEM); "
                    "never turn verification off")
        return NetworkError(f"TLS certificate of {url} is not trusted ({reason})", hint=hint, sent=sent)
    if isinstance(exc, httpx.TimeoutException):
        return NetworkError(f"{url} did not answer in time ({type(exc).__name__})",
                            hint="check the network or proxy; odatui retries idempotent calls by itself",
                            retryable=True, sent=sent)
    if isinstance(exc, httpx.ConnectError):
        return NetworkError(f"cannot connect to {url}: {text}", hint="check the host name, DNS and proxy settings",
                            retryable=True, sent=sent)
    return NetworkError(f"connection to {url} failed: {text}", retryable=True, sent=sent)


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
        raise DeadlineExceeded(f"{url} gave no complete answer within the {policy.deadline:g} s limit for one request "
                        "(retries included)", hint="the server or a proxy in between hangs; check it, then "
                        "`odatui retry`") from None


def refuse_cross_origin_redirect(client: httpx.AsyncClient, url: str, response: httpx.Response) -> None:
    """A 3xx pointing at another origin: one line saying so (never followed: the API token would go with it),
    instead of the caller's "not valid JSON" about the redirect page."""
    location = response.headers.get("Location")
    if not (300 <= response.status_code < 400 and location):
        return
    here = client.base_url.join(url)
    try:
        there = here.join(location)
    except (httpx.InvalidURL, ValueError):
        there = None
    if there is None or (there.scheme, there.host, there.port) != (here.scheme, here.host, here.port):
        shown = f"{there.scheme}://{there.host}" if there is not None else "an invalid URL"
        raise NetworkError(f"{here.copy_with(query=None)} answered with a redirect to another origin ({shown}); "
                           "odatui does not follow it (the API credentials would go with it)",
                           hint="check the URL in the config (the tenant's API host, not its console) and any proxy")


class Pacer(Protocol):
    """Pacing shared by every caller of one server (Okta: per org): waits before a request starts, a slot while it
    is in flight, and a pause for everyone after a 429."""

    async def wait_turn(self) -> None: ...

    def slot(self) -> contextlib.AbstractAsyncContextManager[Any]: ...

    def observe(self, response: httpx.Response) -> None: ...

    def pause(self, seconds: float) -> None: ...


HeadersFn = Callable[[], Awaitable[dict[str, str]]]
ResendFn = Callable[[httpx.Response], Awaitable[bool]]


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    policy: RetryPolicy = RetryPolicy(),
    retry: bool | None = None,
    on_retry: Callable[[str], Awaitable[None] | None] | None = None,
    fresh_headers: HeadersFn | None = None,
    resend: ResendFn | None = None,
    pacer: Pacer | None = None,
    refused: Collection[int] = (429,),
    resend_unsent: bool = False,
    where: str | None = None,
    body: Callable[[], Any] | None = None,
    limit: int = DEFAULT_LIMIT,
    **kwargs: Any,
) -> httpx.Response:
    """Send with the retry policy. `retry=None` retries only idempotent methods; retries 429/5xx/network errors.

    The hooks let a client plug in without a loop of its own: `fresh_headers()` gives the headers of each attempt
    (auth, a new DPoP proof); `resend(response)` says "send again now" after the client fixed its auth (a renewed
    token, a DPoP nonce); `pacer` paces every caller of the server; `refused` are the statuses that mean the server did
    nothing, so any method may be resent (429; an upload adds 503); `resend_unsent` resends any method when the
    connection never opened; `body()` gives a fresh request body per attempt (a stream can be read only once);
    `where` is the URL named in a network error (default: the request's); `limit` caps the decoded answer body
    (http_body.read_capped: past it, AnswerTooLarge naming the limit). Returns the last response (the caller
    turns error statuses into its own exception type); a network failure raises NetworkError, the overall deadline
    DeadlineExceeded.
    """
    # Named without its query: a search term (a group or user name) stays out of the message.
    async with overall_deadline(policy, str(client.base_url.join(url).copy_with(query=None))):
        return await _send(client, method, url, policy=policy, retry=retry, on_retry=on_retry,
                           fresh_headers=fresh_headers, resend=resend, pacer=pacer, refused=refused,
                           resend_unsent=resend_unsent, where=where, body=body, limit=limit, **kwargs)


async def _send(client: httpx.AsyncClient, method: str, url: str, *, policy: RetryPolicy, retry: bool | None,
                on_retry: Callable[[str], Awaitable[None] | None] | None, fresh_headers: HeadersFn | None,
                resend: ResendFn | None, pacer: Pacer | None, refused: Collection[int], resend_unsent: bool,
                where: str | None, body: Callable[[], Any] | None, limit: int, **kwargs: Any) -> httpx.Response:
    method = method.upper()
    may_retry = (method in IDEMPOTENT) if retry is None else retry
    attempt = 0
    while True:
        attempt += 1
        response: httpx.Response | None = None
        try:
            if pacer is not None:
                await pacer.wait_turn()
            if fresh_headers is not None:
                kwargs["headers"] = await fresh_headers()
            if body is not None:
                kwargs["content"] = body()
            async with pacer.slot() if pacer is not None else contextlib.nullcontext():
                # Streamed, so the body is read through the one capped reader (never whole into memory first).
                opened = await client.send(client.build_request(method, url, **kwargs), stream=True)
                response = await read_capped(opened, limit=limit, url=where or str(
                    client.base_url.join(url).copy_with(query=None)))
        except httpx.DecodingError:
            raise NetworkError(f"the answer from {where or client.base_url.join(url).copy_with(query=None)} cannot be "
                               "decoded (its Content-Encoding does not match its bytes)",
                               hint="a proxy in between may be damaging answers; check it") from None
        except httpx.TransportError as exc:
            err = describe_transport_error(exc, where or str(client.base_url.join(url)))
            retry_this = (may_retry and err.retryable) or (resend_unsent and not err.sent)
            if not retry_this or attempt >= policy.attempts:
                raise err from None
            reason = type(exc).__name__
        else:
            if pacer is not None:
                pacer.observe(response)
            if resend is not None and await resend(response):
                continue
            refuse_cross_origin_redirect(client, url, response)
            if response.status_code not in RETRY_STATUS:
                return response
            # A refused request (429 on any method) is safe to resend: the server did nothing with it.
            retry_this = may_retry or response.status_code in refused
            reason = f"HTTP {response.status_code}"
            if not retry_this or attempt >= policy.attempts:
                return response
        paced = pacer is not None and response is not None and response.status_code == 429
        if paced:
            # Until the reset time, at least a second; every caller of this server waits, not only this one.
            hinted = server_wait(response)  # type: ignore[arg-type]
            wait = min(policy.max_wait, max(1.0, hinted if hinted is not None else 1.0))
            pacer.pause(wait)  # type: ignore[union-attr]
        else:
            wait = policy.wait_for(response, attempt)
        path = httpx.URL(url).path or url
        log.info("%s %s: %s, retry %d/%d in %.1fs", method, path, reason, attempt, policy.attempts - 1, wait)
        listener = RETRY_LISTENER.get()
        if listener is not None:
            listener(f"{method} {path}: {reason}; retry {attempt}/{policy.attempts - 1} in {wait:.1f}s")
        if on_retry is not None:
            result = on_retry(f"{reason}; retrying in {wait:.0f}s")
            if asyncio.iscoroutine(result):
                await result
        if not paced:  # a paced wait happens in the pacer's next turn
            await asyncio.sleep(wait)
