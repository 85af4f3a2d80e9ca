"""Separate listeners for the Okta org, the WS1 API host and the WS1 token service (`SandboxOptions.split_hosts`).

For real these are three hosts (acme.okta.com, as1234.awmdm.com, na.uemauth.workspaceone.com), so a config that
points one client at another's host fails. The sandbox keeps its combined listener (`Sandbox.url` serves
everything, as tests and the admin routes expect) and adds one port per host; a request for another host's path
gets that host's "not found". The 404 shapes are the emulators' own (unverified for a foreign path: neither vendor
documents what it answers for the other's API).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse

OKTA, WS1_API, WS1_TOKEN = "okta", "ws1_api", "ws1_token"
_WS1_API_PREFIXES = ("/api/mdm", "/api/mam", "/api/system", "/api/v1/mdm")


def host_of(path: str) -> str:
    """Which host serves this path."""
    p = path.lower().rstrip("/")
    if p == "/connect/token":
        return WS1_TOKEN
    if p.startswith(_WS1_API_PREFIXES):
        return WS1_API
    return OKTA


async def refuse(role: str, scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The listener's own "not found" for a path another host serves."""
    if role == OKTA:
        response: Any = JSONResponse({"errorCode": "E0000022", "errorSummary": "Not found: Resource not found",
                                      "errorLink": "E0000022", "errorId": "sandbox", "errorCauses": []},
                                     status_code=404)
    elif role == WS1_API:
        response = JSONResponse({"errorCode": 0, "message": "Resource not found.", "activityId": "sandbox"},
                                status_code=404)
    else:  # the token service is not an API host: a plain web-server 404
        response = HTMLResponse("<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>",
                                status_code=404)
    await response(scope, receive, send)


def role_of(scope: dict[str, Any], roles: dict[int, str] | None) -> str | None:
    if not roles:
        return None
    server = scope.get("server") or (None, None)
    return roles.get(server[1])


__all__ = ["OKTA", "WS1_API", "WS1_TOKEN", "Request", "host_of", "refuse", "role_of"]
