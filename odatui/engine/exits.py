"""THE exit-code table of odatui: what every command returns, and what a run's outcome maps to.

0 done · 1 a step failed · 2 bad usage, config or input · 3 a step needs the admin · 4 secrets unavailable ·
128 + the signal's number when a signal stopped it (130 Ctrl-C, 129 SIGHUP, 141 SIGPIPE, 143 SIGTERM), the
shell's convention (https://www.gnu.org/software/bash/manual/html_node/Exit-Status.html).
"""

from __future__ import annotations

import signal
from collections.abc import Mapping

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NEEDS_ACTION = 3
EXIT_SECRETS = 4


def signal_exit(signum: int) -> int:
    """The exit code of a command a signal stopped: 128 + its number."""
    return 128 + int(signum)


EXIT_CANCELLED = signal_exit(signal.SIGINT)  # a run stopped by Ctrl-C, the TUI closing or engine.cancel()
EXIT_SIGPIPE = signal_exit(signal.SIGPIPE)  # a writer whose reader went away (`odatui status | head -1`)

# One line per code, for a run's "Result:" line.
MEANING: dict[int, str] = {
    EXIT_OK: "done",
    EXIT_FAILED: "a step failed",
    # Not only the config or package: a full disk or an unwritable state file is input odatui cannot use either.
    EXIT_USAGE: "stopped on its input: the config, the package, or a file or disk of this machine (named above)",
    EXIT_NEEDS_ACTION: "a step needs your action",
    EXIT_SECRETS: "secrets unavailable",
    EXIT_CANCELLED: "cancelled",
}


def run_exit(statuses: Mapping[str, str], *, failed_with: Mapping[str, int], not_applicable: set[str],
             aborted: int | None = None, cancelled: bool = False) -> int:
    """A run's exit code from the statuses of the steps it ran (odatui.core.state.Status values)."""
    from odatui.core.state import Status  # deferred: start-up (this table is read by `odatui --help`)

    if aborted is not None:
        return aborted
    if cancelled:
        return EXIT_CANCELLED
    # A step that failed on the admin's input (a bad package, a config value) is exit 2: fix the input first.
    if any(failed_with.get(s) == EXIT_USAGE for s, st in statuses.items() if st == Status.FAILED):
        return EXIT_USAGE
    values = set(statuses.values())
    if Status.FAILED in values or Status.CANCELLED in values:
        return EXIT_FAILED
    if Status.NEEDS_ACTION in values:
        return EXIT_NEEDS_ACTION
    blocked = [s for s, st in statuses.items() if st == Status.SKIPPED and s not in not_applicable]
    return EXIT_FAILED if blocked else EXIT_OK
