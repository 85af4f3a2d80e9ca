"""`odatui serve` behind a per-run token and an Origin/Host check, wrapped around textual-serve's aiohttp server.

textual-serve has no authentication: any local process (or any web page, through the browser) that reaches the port
opens a websocket and drives the wizard as the admin. The model is Jupyter's (jupyter_server's token login and its
`check_origin`/`check_host`, https://jupyter-server.readthedocs.io/en/latest/operators/security.html):

- a random token per run (`secrets.token_urlsafe(32)`), printed once in the URL; the first page load that carries it
  gets an HttpOnly, SameSite=Strict cookie scoped to this port, which the page's websocket then sends;
- every HTTP and websocket request must carry the token (query or cookie), a loopback `Host` (no DNS rebinding) and,
  when the browser sends one, an `Origin` equal to `http://<that Host>` (no cross-site page can drive it);
- anything else gets 403 before a handler runs, so the wizard process is never started for it.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from typing import Any

# A loopback name and an optional port, nothing else: a rebinding DNS name (evil.example -> 127.0.0.1) is refused.
_LOOPBACK_HOST = re.compile(r"(?i)(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?")
TOKEN_PARAM = "token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def cookie_name(port: int) -> str:
    # Browsers do not scope cookies by port: two odatui serve on one host must not overwrite each other's cookie.
    return f"odatui-token-{port}"


def refusal(method: str, path: str, headers: Any, query: Any, cookies: Any, *, token: str, port: int) -> str | None:
    """Why this request is refused, or None. Pure so the tests can call it with any header combination."""
    host = headers.get("Host", "")
    if not _LOOPBACK_HOST.fullmatch(host):
        return "Host is not a loopback name"
    origin = headers.get("Origin")
    if origin is not None and origin != f"http://{host}":
        return "foreign Origin"
    given = query.get(TOKEN_PARAM) or cookies.get(cookie_name(port)) or ""
    if not hmac.compare_digest(given.encode("utf-8", "replace"), token.encode()):
        return "missing or wrong token"
    return None


def guarded_server(command: str, *, port: int, token: str, title: str = "odatui") -> Any:
    """textual-serve's Server with the guard as the first middleware, on 127.0.0.1:`port`."""
    from aiohttp import web
    from textual_serve.server import Server

    class GuardedServer(Server):
        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.middlewares.insert(0, guard)  # before every route, static files and the websocket included
            return app

        async def on_startup(self, app: web.Application) -> None:
            # textual-serve prints its own banner with the URL *without* the token; odatui prints the usable one.
            pass

        def initialize_logging(self) -> None:
            super().initialize_logging()
            # aiohttp's access log would print every request line, the tokened URL included.
            logging.getLogger("aiohttp.access").setLevel(logging.WARNING)

    @web.middleware
    async def guard(request: web.Request, handler: Any) -> web.StreamResponse:
        why = refusal(request.method, request.path, request.headers, request.query, request.cookies,
                      token=token, port=port)
        if why is not None:
            logging.getLogger("odatui.serve").warning("refused %s %s: %s", request.method, request.path, why)
            return web.Response(status=403, text=f"403 Forbidden: {why}. Open the URL odatui serve printed.\n",
                                 headers=_HEADERS)
        response = await handler(request)
        if not response.prepared:  # the websocket response is already sent; pages and files get the headers
            response.headers.update(_HEADERS)
            if request.query.get(TOKEN_PARAM):
                response.set_cookie(cookie_name(port), token, httponly=True, samesite="Strict", path="/")
        return response

    return GuardedServer(command, host="127.0.0.1", port=port, title=title)


# No caching of the tokened page, no Referer carrying the token to a link's target, no framing by another site.
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
