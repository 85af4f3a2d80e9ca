"""The HTTP factory and retry policy against a tiny real HTTPS server on loopback (stdlib http.server + trustme):
Retry-After and X-Rate-Limit-Reset honoured, only idempotent requests re-sent (a 429 always may be), TLS trust."""

from __future__ import annotations

import asyncio
import email.utils
import http.server
import json
import os
import ssl
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

import httpx
import pytest
import trustme

from odatui import __version__
from odatui.core.errors import StepError
from odatui.core.http import RetryPolicy, make_client, send, server_wait, ssl_context

FAST = RetryPolicy(attempts=4, base=0.01, cap=0.05)


@dataclass
class Hit:
    method: str
    path: str
    at: float
    headers: dict[str, str]


@dataclass
class ScriptedServer:
    """Answers from a per-(method, path) script: a list of (status, headers) or "drop"; then 200."""

    url: str = ""
    ca_path: str = ""
    script: dict[tuple[str, str], deque] = field(default_factory=lambda: defaultdict(deque))
    hits: list[Hit] = field(default_factory=list)

    def then(self, method: str, path: str, *answers) -> None:
        self.script[(method, path)].extend(answers)

    def count(self, method: str, path: str) -> int:
        return sum(1 for h in self.hits if (h.method, h.path) == (method, path))


def _handler(server: ScriptedServer):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            server.hits.append(Hit(self.command, self.path, time.time(), dict(self.headers)))
            queue = server.script.get((self.command, self.path))
            answer = queue.popleft() if queue else (200, {})
            if answer == "drop":
                self.close_connection = True  # close without a response: a dropped connection
                return
            status, headers = answer
            body = json.dumps({"status": status}).encode()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

    return Handler


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("tls")
    ca_path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    other = folder / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    return ctx, str(ca_path), str(other)


@pytest.fixture
def server(tls):
    ctx, ca_path, _ = tls
    state = ScriptedServer(ca_path=ca_path)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    state.url = f"https://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def client(server: ScriptedServer, **kw) -> httpx.AsyncClient:
    return make_client(server.url, ca_bundle=server.ca_path, **kw)


# --- TLS -----------------------------------------------------------------------------------------------------------

async def test_the_right_ca_bundle_works_and_user_agent_names_odatui(server):
    async with client(server) as c:
        response = await send(c, "GET", "/api/v1/org")
    assert response.status_code == 200
    assert server.hits[0].headers["User-Agent"].startswith(f"odatui/{__version__}")


@pytest.mark.parametrize("bundle", ["none", "other"])
async def test_an_untrusted_certificate_says_to_set_ca_bundle(server, tls, bundle):
    ca_bundle = None if bundle == "none" else tls[2]
    async with make_client(server.url, ca_bundle=ca_bundle) as c:
        with pytest.raises(StepError) as err:
            await send(c, "GET", "/api/v1/org", policy=FAST)
    assert "not trusted" in err.value.message and server.url in err.value.message
    assert "set ca_bundle" in err.value.hint and "never turn verification off" in err.value.hint
    assert not err.value.retryable
    assert server.hits == []  # the handshake failed: no request reached the server, and none was retried


async def test_the_tls_context_is_built_once_per_ca_file_and_again_when_the_file_changes(server, tls, tmp_path):
    _, right, wrong = tls
    bundle = tmp_path / "proxy-ca.pem"
    bundle.write_bytes(open(wrong, "rb").read())
    first = ssl_context(str(bundle))
    assert ssl_context(str(bundle)) is first  # cached: clients share one context instead of re-parsing the CAs
    async with make_client(server.url, ca_bundle=str(bundle)) as c:
        with pytest.raises(StepError):
            await send(c, "GET", "/api/v1/org", policy=FAST)
    # The admin replaces the CA file in place (a later mtime): the next client trusts the new CA.
    bundle.write_bytes(open(right, "rb").read())
    os.utime(bundle, ns=(bundle.stat().st_atime_ns, bundle.stat().st_mtime_ns + 1_000_000_000))
    assert await asyncio.to_thread(ssl_context, str(bundle)) is not first
    async with make_client(server.url, ca_bundle=str(bundle)) as c:
        assert (await send(c, "GET", "/api/v1/org")).status_code == 200


# --- what is retried -----------------------------------------------------------------------------------------------

async def test_a_post_that_gets_503_is_not_sent_again(server):
    server.then("POST", "/API/mam/apps/internal/begininstall", (503, {}))
    async with client(server) as c:
        response = await send(c, "POST", "/API/mam/apps/internal/begininstall", json={"x": 1}, policy=FAST)
    assert response.status_code == 503
    assert server.count("POST", "/API/mam/apps/internal/begininstall") == 1


async def test_a_post_that_gets_429_is_sent_again(server):
    server.then("POST", "/api/v1/apps", (429, {"Retry-After": "0"}))
    async with client(server) as c:
        response = await send(c, "POST", "/api/v1/apps", json={}, policy=FAST)
    assert response.status_code == 200
    assert server.count("POST", "/api/v1/apps") == 2


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_idempotent_requests_are_retried_on_5xx(server, method):
    server.then(method, "/api/v1/apps/0oa1/groups/00g1", (503, {}), (502, {}), (500, {}))
    messages = []
    async with client(server) as c:
        response = await send(c, method, "/api/v1/apps/0oa1/groups/00g1", policy=FAST, on_retry=messages.append)
    assert response.status_code == 200
    assert server.count(method, "/api/v1/apps/0oa1/groups/00g1") == 4
    assert [m.split(";")[0] for m in messages] == ["HTTP 503", "HTTP 502", "HTTP 500"]


async def test_retries_stop_after_the_policy_attempts(server):
    server.then("GET", "/down", *[(503, {})] * 10)
    async with client(server) as c:
        response = await send(c, "GET", "/down", policy=FAST)
    assert response.status_code == 503
    assert server.count("GET", "/down") == FAST.attempts


async def test_client_errors_are_not_retried(server):
    server.then("GET", "/missing", (404, {}))
    async with client(server) as c:
        assert (await send(c, "GET", "/missing", policy=FAST)).status_code == 404
    assert server.count("GET", "/missing") == 1


async def test_a_dropped_connection_is_retried_for_get_only(server):
    server.then("GET", "/flaky", "drop")
    server.then("POST", "/flaky", "drop")
    async with client(server) as c:
        assert (await send(c, "GET", "/flaky", policy=FAST)).status_code == 200
        with pytest.raises(StepError) as err:
            await send(c, "POST", "/flaky", policy=FAST)
    assert server.count("GET", "/flaky") == 2
    assert server.count("POST", "/flaky") == 1
    assert err.value.retryable and "/flaky" in err.value.message


# --- how long it waits ---------------------------------------------------------------------------------------------

async def test_retry_after_seconds_is_honoured(server):
    server.then("GET", "/rate", (429, {"Retry-After": "1"}))
    async with client(server) as c:
        response = await send(c, "GET", "/rate", policy=RetryPolicy(base=0.0, cap=0.0))
    assert response.status_code == 200
    first, second = server.hits
    assert second.at - first.at >= 0.95  # the backoff alone (base 0) would not wait at all


async def test_retry_after_http_date_is_honoured(server):
    when = time.time() + 2
    server.then("GET", "/rate", (503, {"Retry-After": email.utils.formatdate(when, usegmt=True)}))
    async with client(server) as c:
        await send(c, "GET", "/rate", policy=RetryPolicy(base=0.0, cap=0.0))
    assert server.hits[1].at >= int(when) - 0.05  # HTTP dates have whole seconds


async def test_okta_rate_limit_reset_is_honoured(server):
    reset = int(time.time()) + 2
    server.then("GET", "/api/v1/groups", (429, {"X-Rate-Limit-Limit": "600", "X-Rate-Limit-Remaining": "0",
                                                "X-Rate-Limit-Reset": str(reset)}))
    async with client(server) as c:
        response = await send(c, "GET", "/api/v1/groups", policy=RetryPolicy(base=0.0, cap=0.0))
    assert response.status_code == 200
    assert server.hits[1].at >= reset - 0.01  # not before the window resets


async def test_the_server_wait_is_capped(server):
    policy = RetryPolicy(base=0.0, cap=0.0, max_wait=0.2)
    server.then("GET", "/slow-down", (429, {"Retry-After": "3600"}))
    async with client(server) as c:
        await send(c, "GET", "/slow-down", policy=policy)
    assert server.hits[1].at - server.hits[0].at < 3  # waited max_wait, not an hour


def test_server_wait_reads_the_headers():
    def resp(status, **headers):
        return httpx.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()})

    assert server_wait(resp(429, Retry_After="7")) == 7
    assert server_wait(resp(503, Retry_After="soon")) is None
    assert server_wait(resp(503)) is None
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert server_wait(resp(503, Retry_After=past)) == 0
    wait = server_wait(resp(429, X_Rate_Limit_Reset=str(int(time.time()) + 30)))
    assert 28 <= wait <= 30.5
    # X-Rate-Limit-Reset on a success is information, not a request to wait.
    assert server_wait(resp(200, X_Rate_Limit_Reset=str(int(time.time()) + 30))) is None


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = RetryPolicy(base=0.5, cap=4.0)
    for attempt, bound in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (8, 4.0)]:
        waits = [policy.backoff(attempt) for _ in range(200)]
        assert all(0 <= w <= bound for w in waits)
        assert len(set(waits)) > 1  # jitter
