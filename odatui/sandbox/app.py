"""Compose the sandbox ASGI app: both emulators, the `/_sandbox` admin routes, request recording, latency and
faults. The emulators know nothing of each other; the world holds them and the shared request log."""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import time
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from odatui.sandbox import credentials
from odatui.sandbox.faults import Faults
from odatui.sandbox.fleet import Fleet
from odatui.sandbox.hosts import host_of, refuse, role_of
from odatui.sandbox.okta import OktaEmulator
from odatui.mdm.ws1.emulator import Ws1Emulator
from odatui.mdm.ws1.emulator.common import Ws1Tenant

WS1_PREFIXES = ("/api/mdm", "/api/mam", "/api/system", "/connect")
SECRET_HEADERS = {"authorization", "aw-tenant-code", "cookie", "dpop"}
SECRET_FIELDS = re.compile(r"(client_secret|client_assertion|password|access_token)=[^&]*")


def _instance_id(data_dir: Path) -> str:
    """This sandbox's identity (the Okta org id and WS1 group GUIDs derive from it): kept in the data dir, so a
    restart there is the same tenant restored, and a fresh data dir a new tenant."""
    path = Path(data_dir) / "sandbox-instance"
    try:
        kept = path.read_text(encoding="ascii").strip()
        if re.fullmatch(r"[0-9a-f]{32}", kept):
            return kept
    except (OSError, UnicodeDecodeError):
        pass
    fresh = secrets.token_hex(16)
    try:
        path.write_text(fresh + "\n", encoding="ascii")
    except OSError:
        pass  # a read-only data dir: an identity for this run only
    return fresh


class World:
    def __init__(self, options: Any, data_dir: Path, base_url: str) -> None:
        self.options = options
        self.data_dir = data_dir
        self.base_url = base_url
        self.ws1_url = base_url  # the WS1 API listener's URL when hosts are split
        self.rng = random.Random(options.seed)
        self.requests: list[dict[str, Any]] = []
        self.requests_total = 0
        self.emulators: dict[str, Any] = {}
        self.instance_id = _instance_id(data_dir)

    def record(self, request: Request, status: int, body_preview: str = "") -> None:
        self.requests_total += 1
        headers = {k: ("[redacted]" if k.lower() in SECRET_HEADERS else v) for k, v in request.headers.items()}
        self.requests.append({
            "n": self.requests_total, "time": time.time(), "method": request.method, "path": request.url.path,
            "query": SECRET_FIELDS.sub(r"\1=[redacted]", request.url.query), "status": status, "headers": headers,
        })
        del self.requests[:-5000]  # bounded: benchmarks make tens of thousands of calls

    def snapshot(self) -> dict[str, Any]:
        out: dict[str, Any] = {"requests_total": self.requests_total}
        for name, emulator in self.emulators.items():
            out[name] = emulator.snapshot()
        return out


def ws1_tenant() -> Ws1Tenant:
    """The WS1 tenant the sandbox stands for: its demo credentials and names, and the sandbox Okta's SCEP secret."""
    return Ws1Tenant(user=credentials.WS1_USER, password=credentials.WS1_PASSWORD,
                     tenant_code=credentials.WS1_TENANT_CODE, oauth_client_id=credentials.WS1_OAUTH_CLIENT_ID,
                     oauth_secret=credentials.WS1_OAUTH_SECRET, group_id=credentials.WS1_GROUP_ID,
                     smart_group=credentials.WS1_SMART_GROUP, okta_scep_challenge=credentials.OKTA_SCEP_CHALLENGE)


def build_app(options: Any, data_dir: Path, base_url: str, *, roles: dict[int, str] | None = None,
              ws1_url: str | None = None) -> tuple[Starlette, World]:
    """`roles`: listener port → the one host it stands for (split hosts); ports not in it serve everything."""
    world = World(options, data_dir, base_url)
    world.ws1_url = ws1_url or base_url  # where WS1 answers point (Location headers)
    routes: list[Route] = []
    world.emulators["okta"] = OktaEmulator(options, world)
    world.emulators["ws1"] = Ws1Emulator(options, world, tenant=ws1_tenant(),
                                         fleet=Fleet(getattr(options, "seed", 0), int(getattr(options, "devices", 36))))
    for emulator in world.emulators.values():
        routes.extend(emulator.routes())
    world.faults = Faults(options, world)

    async def state(request: Request) -> JSONResponse:
        return JSONResponse(world.snapshot())

    async def requests(request: Request) -> JSONResponse:
        return JSONResponse({"requests": world.requests, "requests_total": world.requests_total})

    async def add_faults(request: Request) -> JSONResponse:
        # Per-route fault rules at run time (the `odatui sandbox` user or a test that started it elsewhere).
        try:
            body = await request.json()
            world.faults.add_rules(body if isinstance(body, list) else [body])
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"injected": world.faults.injected, "rules": len(world.faults.rules)})

    async def list_faults(request: Request) -> JSONResponse:
        return JSONResponse({"injected": world.faults.injected, "seen": world.faults.seen})

    routes += [Route("/_sandbox/state", state), Route("/_sandbox/requests", requests),
               Route("/_sandbox/faults", add_faults, methods=["POST"]), Route("/_sandbox/faults", list_faults)]
    for emulator in world.emulators.values():
        routes.extend(getattr(emulator, "admin_routes", lambda: [])())

    # No slash redirects: the real services answer 404 for a trailing slash (WS1's token URL most visibly).
    app = Starlette(routes=routes)
    app.router.redirect_slashes = False

    async def not_found(request: Request, exc: Exception) -> JSONResponse:
        status = getattr(exc, "status_code", 404)
        if request.url.path.lower().startswith(WS1_PREFIXES):  # each vendor's own error shape
            return JSONResponse({"errorCode": 0, "message": "The requested resource does not support http method "
                                 f"'{request.method}'." if status == 405 else "Resource not found.",
                                 "activityId": "sandbox"}, status_code=status)
        return JSONResponse({"errorCode": "E0000022", "errorSummary": "The endpoint does not support the provided HTTP method"
                             if status == 405 else "Not found: Resource not found",
                             "errorLink": "E0000022", "errorId": "sandbox", "errorCauses": []},
                            status_code=status)

    async def crashed(request: Request, exc: Exception) -> JSONResponse:
        # An emulator bug must look like a vendor 500, never a stack trace, and the server keeps serving.
        if request.url.path.lower().startswith(WS1_PREFIXES):
            return JSONResponse({"errorCode": 0, "message": "An error has occurred.", "activityId": "sandbox"},
                                status_code=500)
        return JSONResponse({"errorCode": "E0000009", "errorSummary": "Internal Server Error", "errorId": "sandbox"},
                            status_code=500)

    app.add_exception_handler(404, not_found)
    app.add_exception_handler(405, not_found)
    app.add_exception_handler(Exception, crashed)

    inner = app

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        recorded = scope["path"].startswith("/_sandbox")  # admin routes are not part of the request log

        async def send_wrapper(message: dict[str, Any]) -> None:
            nonlocal recorded
            # Record before the answer leaves: a client that reads /_sandbox/requests right after its call
            # must already find the call there.
            if message["type"] == "http.response.start" and not recorded:
                recorded = True
                world.record(Request(scope), message["status"])
            await send(message)

        if options.latency_ms and not recorded:
            await asyncio.sleep(options.latency_ms / 1000)
        if roles and not recorded:
            role = role_of(scope, roles)
            if role is not None and host_of(scope["path"]) != role:
                await refuse(role, scope, receive, send_wrapper)
                return
        faults = getattr(world, "faults", None)
        if faults is not None and not scope["path"].startswith("/_sandbox"):
            handled = await faults.maybe_fault(scope, receive, send_wrapper, raw_send=send)
            if handled:
                if not recorded:  # a dropped connection sends no answer at all
                    recorded = True
                    world.record(Request(scope), 0)
                return
        await inner(scope, receive, send_wrapper)
        if not recorded:
            world.record(Request(scope), 0)

    return asgi, world  # type: ignore[return-value]
