"""SIGTERM and SIGHUP (a supervisor stopping odatui, an SSH session closing) end a run the way Ctrl-C does: the
running steps are recorded as cancelled (retryable), the state is kept, and the exit code is 128 + the signal's
number, the shell's convention (130 Ctrl-C/SIGINT, 129 SIGHUP, 143 SIGTERM)."""

from __future__ import annotations

import signal
from types import FrameType

_received = signal.SIGINT
_caught = False
NAMES = {signal.SIGINT: "Ctrl-C", signal.SIGHUP: "SIGHUP", signal.SIGTERM: "SIGTERM"}


def install() -> None:
    """Route SIGTERM and SIGHUP through whatever handles SIGINT at the moment they arrive."""
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, _like_ctrl_c)
        except (ValueError, OSError):  # not the main thread (embedded use): leave the default
            pass


def _like_ctrl_c(signum: int, frame: FrameType | None) -> None:
    global _received, _caught
    _received, _caught = signal.Signals(signum), True
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) and handler is not signal.default_int_handler:
        # asyncio.run's handler: cancels the main task, so the engine records its running steps as cancelled
        # and asyncio.run then raises KeyboardInterrupt, exactly as for Ctrl-C.
        handler(signal.SIGINT, frame)
        return
    raise KeyboardInterrupt


def caught() -> bool:
    """Whether SIGTERM or SIGHUP arrived (the wizard exits through Textual's own shutdown, not an exception)."""
    return _caught


def received() -> str:
    return NAMES.get(_received, _received.name)


def exit_code() -> int:
    return 128 + int(_received)  # as odatui.engine.exits.signal_exit (core cannot import the engine)
