"""Fault injection for the sandbox: what a flaky network, a busy tenant or a TLS-inspecting proxy does to odatui.

Two sources, checked in this order for every request outside `/_sandbox`:
- per-route rules (`options.fault_rules`, or `POST /_sandbox/faults`), so a test can hit exactly one call:
  `{"method": "PUT", "path": "/api/v1/apps/.*/groups/.*", "fault": "503", "times": 1}`;
- `--fault-rate P --seed N`: each request draws from one seeded generator, so the same request sequence gets
  the same faults on every run with the same seed.

Hostile kinds (a compromised proxy or a hostile server; only by rule, never random), each streamed so the sandbox
itself stays small: "endless" (a chunked JSON body that never ends), "gzip-bomb" (~1 MB on the wire that inflates to
~1 GB), "huge-json" (a 400 MB JSON answer with its Content-Length), "million-devices" (one WS1 page of 10⁶ devices).

Kinds: 429 (with rate-limit headers and a vendor-shaped body), 500, 502 (an HTML proxy page, as proxies send),
503, drop (connection closed without a response), slow (answered late), timeout (no answer until the client gives up).
A rule may instead give an exact answer: `{"method": "PUT", "path": "/api/mam/apps/.*/assignment-rules",
"status": 500, "body": {"errorCode": 200011, "message": "..."}, "headers": {...}, "times": 1}` — for the errors the
vendors document, with the body their spec gives (docs/SANDBOX.md lists them).
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import secrets
import time
import uuid
import zlib
from dataclasses import dataclass
from typing import Any

HOSTILE = ("endless", "gzip-bomb", "huge-json", "million-devices")
KINDS = ("429", "500", "502", "503", "drop", "slow", "timeout", *HOSTILE)
# Random faults never include "timeout": it holds a request for up to a minute, which only a targeted rule wants.
RANDOM_KINDS = ("429", "500", "502", "503", "drop", "slow")
WS1_PREFIXES = ("/api/mdm", "/api/mam", "/api/system", "/connect/token", "/api/v1/mdm")
SLOW_SECONDS = 1.0
TIMEOUT_SECONDS = 60.0


@dataclass
class FaultRule:
    fault: str
    path: re.Pattern[str]
    method: str = "*"
    times: int | None = 1  # None: every matching request
    seconds: float | None = None  # for slow / timeout
    status: int | None = None  # fault "answer": this status with `body` and `headers`
    body: Any = None
    headers: dict[str, str] | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> FaultRule:
        status = raw.get("status")
        fault = str(raw.get("fault", "answer" if status is not None else ""))
        if fault == "answer":
            if not isinstance(status, int) or not 200 <= status <= 599:
                raise ValueError(f"status must be an HTTP status 200-599 (got {status!r})")
            if raw.get("headers") is not None and not isinstance(raw["headers"], dict):
                raise ValueError("headers must be an object of header names to values")
        elif fault not in KINDS:
            raise ValueError(f"fault must be one of {', '.join(KINDS)}, or give a status (got {fault!r})")
        times = raw.get("times", 1)
        return cls(fault=fault, path=re.compile(str(raw.get("path", ".*"))), method=str(raw.get("method", "*")).upper(),
                   times=None if times is None else int(times),
                   seconds=None if raw.get("seconds") is None else float(raw["seconds"]),
                   status=status if fault == "answer" else None, body=raw.get("body"),
                   headers={str(k): str(v) for k, v in (raw.get("headers") or {}).items()})

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        return (self.method in ("*", method)) and self.path.fullmatch(path) is not None


class Faults:
    def __init__(self, options: Any, world: Any) -> None:
        self.world = world
        self.rate = float(getattr(options, "fault_rate", 0.0) or 0.0)
        # Its own generator: ids the emulators draw must not shift which requests fail.
        self.rng = random.Random(f"faults-{getattr(options, 'seed', 0)}")
        self.rules = [FaultRule.from_dict(r) for r in (getattr(options, "fault_rules", None) or [])]
        self.injected: list[dict[str, Any]] = []  # what was injected, in order (tests compare runs by seed)
        self.seen = 0
        self._answer: FaultRule | None = None  # the rule whose exact answer is due (set by choose)

    def add_rules(self, raw_rules: list[dict[str, Any]]) -> None:
        self.rules.extend(FaultRule.from_dict(r) for r in raw_rules)

    def choose(self, method: str, path: str) -> tuple[str, float | None] | None:
        for rule in self.rules:
            if rule.matches(method, path):
                if rule.times is not None:
                    rule.times -= 1
                if rule.fault == "answer":
                    self._answer = rule
                return rule.fault, rule.seconds
        if self.rate > 0:
            # Always two draws per request, so one request's fault never shifts the next one's.
            roll, pick = self.rng.random(), self.rng.choice(RANDOM_KINDS)
            if roll < self.rate:
                return pick, None
        return None

    async def maybe_fault(self, scope: dict[str, Any], receive: Any, send: Any, raw_send: Any = None) -> bool:
        """Inject a fault for this request if one is due. True when the request was fully handled here."""
        path, method = scope["path"], scope["method"]
        if path.startswith("/_sandbox"):
            return False
        self.seen += 1
        chosen = self.choose(method, path)
        if chosen is None:
            return False
        kind, seconds = chosen
        self.injected.append({"n": self.seen, "method": method, "path": path, "fault": kind})
        if kind == "slow":
            await asyncio.sleep(SLOW_SECONDS if seconds is None else seconds)
            return False  # then answered normally
        if kind == "timeout":
            await _wait_for_disconnect(receive, TIMEOUT_SECONDS if seconds is None else seconds)
            _drop(raw_send or send)
            return True
        if kind == "drop":
            _drop(raw_send or send)
            return True
        if kind in HOSTILE:
            await hostile_answer(kind, raw_send or send)
            return True
        if kind == "answer":
            status, headers, body = self.exact_response(self._answer)
        else:
            status, headers, body = self.error_response(kind, path)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    @staticmethod
    def exact_response(rule: FaultRule) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if isinstance(rule.body, (dict, list)):
            body, ctype = json.dumps(rule.body).encode(), "application/json"
        else:
            body, ctype = str(rule.body or "").encode(), "text/plain"
        given = {k.lower(): v for k, v in (rule.headers or {}).items()}
        given.setdefault("content-type", ctype)
        given["content-length"] = str(len(body))
        assert rule.status is not None
        return rule.status, [(k.encode(), v.encode()) for k, v in given.items()], body

    def error_response(self, kind: str, path: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        status = int(kind)
        ws1 = path.startswith(WS1_PREFIXES)
        headers: list[tuple[bytes, bytes]] = []
        if status == 502:
            # What a reverse or TLS-inspecting proxy answers: HTML, not the vendor's JSON.
            body = (b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
                    b"</center><hr><center>proxy</center></body></html>")
            return 502, [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())], body
        if status == 429:
            reset = int(time.time()) + 2
            if ws1:
                headers.append((b"retry-after", b"1"))
            else:
                headers += [(b"x-rate-limit-limit", b"100"), (b"x-rate-limit-remaining", b"0"),
                            (b"x-rate-limit-reset", str(reset).encode())]
        if ws1:
            message = {429: "Too many requests, retry later.", 500: "An internal error occurred.",
                       503: "The service is unavailable."}[status]
            payload: dict[str, Any] = {"errorCode": {429: 1020, 500: 1000, 503: 1000}[status], "message": message,
                                       "activityId": str(uuid.UUID(int=self.rng.getrandbits(128)))}
        else:
            code, summary = {429: ("E0000047", "API call exceeded rate limit due to too many requests."),
                             500: ("E0000009", "Internal Server Error"),
                             503: ("E0000010", "Service is in read only mode")}[status]
            payload = {"errorCode": code, "errorSummary": summary, "errorLink": code,
                       "errorId": "oae" + secrets.token_urlsafe(16)[:22], "errorCauses": []}
        body = json.dumps(payload).encode()
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        return status, headers, body


CHUNK = 64 * 1024


@functools.cache
def _gzip_bomb() -> bytes:
    """A gzip body of ~1 MB that inflates to 1 GiB of JSON-looking blanks (built once per sandbox process)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    blanks = b" " * (1024 * 1024)
    return b"".join([packer.compress(b'{"Devices": ['), *(packer.compress(blanks) for _ in range(1024)),
                     packer.flush()])


def _gone(send: Any) -> bool:
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    return bool(getattr(cycle, "disconnected", False)) or bool(transport is not None and transport.is_closing())


async def hostile_answer(kind: str, send: Any) -> None:
    """Stream one hostile answer until it is done or the client hangs up (uvicorn then drops our writes quietly,
    so the loop checks the connection itself)."""
    headers = [(b"content-type", b"application/json")]
    if kind == "gzip-bomb":
        bomb = _gzip_bomb()
        headers += [(b"content-encoding", b"gzip"), (b"content-length", str(len(bomb)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for at in range(0, len(bomb), CHUNK):
            if _gone(send):
                return
            await send({"type": "http.response.body", "body": bomb[at:at + CHUNK], "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if kind == "huge-json":
        size = 400 * 1024 * 1024
        headers.append((b"content-length", str(size).encode()))
        head, filler = b'{"Devices": [], "Pad": "', b"x" * CHUNK
        chunks = (size - len(head) - 2) // CHUNK
        last = b"x" * (size - len(head) - 2 - chunks * CHUNK) + b'"}'
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": head, "more_body": True})
        for _ in range(chunks):
            if _gone(send):
                return
            await send({"type": "http.response.body", "body": filler, "more_body": True})
        await send({"type": "http.response.body", "body": last})
        return
    # "endless" and "million-devices": chunked (no Content-Length), so only counting the bytes can stop them
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if kind == "million-devices":
        device = (b'{"Id": {"Value": %d}, "SerialNumber": "C02X%07d", "DeviceFriendlyName": "Mac %d", '
                  b'"Platform": "AppleOsX", "OperatingSystem": "15.5", "UserName": "user%d"}')
        await send({"type": "http.response.body", "body": b'{"Page": 0, "PageSize": 500, "Total": 1000000, '
                    b'"Devices": [', "more_body": True})
        for start in range(0, 1_000_000, 500):
            if _gone(send):
                return
            batch = b",".join(device % (n, n, n, n) for n in range(start, start + 500))
            await send({"type": "http.response.body", "body": (b"," if start else b"") + batch, "more_body": True})
        await send({"type": "http.response.body", "body": b"]}"})
        return
    await send({"type": "http.response.body", "body": b'{"Devices": [', "more_body": True})
    filler = b'{"Id": 1}, ' * (CHUNK // 11)
    for _ in range(1 << 20):  # 64 GiB: "never ends" for any client
        if _gone(send):
            return
        await send({"type": "http.response.body", "body": filler, "more_body": True})
    await send({"type": "http.response.body", "body": b"]}"})


async def _wait_for_disconnect(receive: Any, seconds: float) -> None:
    """Hold the request until the client hangs up (its timeout) or `seconds` pass, without keeping the server busy."""

    async def until_gone() -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return

    try:
        await asyncio.wait_for(until_gone(), seconds)
    except asyncio.TimeoutError:
        pass


def _drop(send: Any) -> None:
    """Close the connection without any response bytes, as a crashed proxy or a reset would."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("sandbox fault: drop")  # another server: at least no valid answer
    # uvicorn ignores later sends once it believes the peer is gone, so it will not write a 500 after this.
    cycle.disconnected = True
    transport.close()
