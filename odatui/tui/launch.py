"""Entry points the CLI loads lazily: `odatui` (wizard), `odatui serve`, and the app runner `odatui demo`
(odatui.cli.demo) uses.

Only Textual and odatui's light modules load before the first paint; the log file, config, keychain probe and
sandbox are started by the app in a worker after mount.
"""

from __future__ import annotations

import sys
from typing import Any

LOOPBACK_HOSTS = {"127.0.0.1", "localhost"}


def _exit_code(app: Any) -> int:
    from odatui.core import signals  # deferred: start-up

    if signals.caught():  # SIGTERM/SIGHUP: Textual shut down and restored the terminal; say how it ended
        return signals.exit_code()
    if app.return_code == 130:
        return 130
    finished = getattr(app.model, "finished", None)
    return int(finished.exit_code) if finished is not None else int(app.return_code or 0)


def run_app(session: Any, *, demo: bool = False) -> int:
    """The wizard on this session (`odatui`; `odatui demo` hands in its sandbox session from odatui.cli.demo)."""
    from odatui.tui.app import OdatuiApp  # deferred: start-up

    app = OdatuiApp(session, demo=demo, open_log=True)
    try:
        app.run()
    finally:
        session.close()
    return _exit_code(app)


def run_wizard(args: Any) -> int:
    from odatui.tui.session import Session  # deferred: start-up

    return run_app(Session(getattr(args, "config", None)))


def serve_command(args: Any) -> str:
    """The command textual-serve starts for each browser visit: this Python, the wizard, the same config."""
    import shlex  # deferred: start-up

    parts = [sys.executable, "-m", "odatui"]
    if getattr(args, "config", None):
        parts += ["--config", str(args.config)]
    return shlex.join(parts)


def check_port_free(port: int) -> None:
    """Say so (exit 2) before announcing a URL another program answers; textual-serve would fail later, with a
    traceback, after "serving" was printed."""
    import errno  # deferred: start-up
    import socket

    from odatui.core.errors import UsageError

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does: TIME_WAIT is not "taken"
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(f"port {port} is taken on 127.0.0.1 (another program listens there)",
                                 hint="pick another with --port, e.g. odatui serve --port 8010") from None
            raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
                             hint="pick another with --port") from None


def run_serve(args: Any) -> int:
    from odatui.core.errors import UsageError  # deferred: start-up

    host = getattr(args, "host", "127.0.0.1") or "127.0.0.1"
    if host not in LOOPBACK_HOSTS:
        # textual-serve has no authentication: anyone who reaches the port drives the wizard with your secrets.
        raise UsageError(
            f"odatui serve binds to 127.0.0.1 only (refusing --host {host}): the browser UI has no login",
            hint="reach it from elsewhere through an SSH tunnel: ssh -L 8000:127.0.0.1:8000 this-host",
        )
    port = int(getattr(args, "port", 8000))
    if not 0 < port < 65536:
        raise UsageError(f"--port must be 1–65535 (got {port})")
    check_port_free(port)
    from odatui.core.log import register_secret  # deferred: start-up
    from odatui.tui.serve_guard import guarded_server, new_token

    # A fresh token per run, printed once (Jupyter's model): without it every request gets 403 and no wizard starts.
    token = new_token()
    register_secret(token)
    print(f"odatui: serving the wizard at http://127.0.0.1:{port}/?token={token}\n"
          "  open that URL (the token is printed only here); Ctrl+C stops", flush=True)
    guarded_server(serve_command(args), port=port, token=token).serve()
    return 0
