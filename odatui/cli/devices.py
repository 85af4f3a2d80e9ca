"""`odatui status --devices` and `odatui repush`: the truth per Mac after a rollout, and a second push.

Both read the smart group, organization group, app and profile ids from the last run's state (the ids odatui
created or adopted), so they ask WS1 about exactly what was rolled out (odatui.service.devices); this prints
the rows as pages arrive.

Exit codes: 0 listed / all re-pushed · 1 some device could not be listed completely or re-pushed (the others
are) · 2 bad usage, or no run yet to read the ids from.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, TextIO

from odatui.core.errors import UsageError
from odatui.core.secrets import SecretStore
from odatui.service.devices import list_devices, repush, rollout_ids
from odatui.service.setup import load_config_at

COLUMNS = (("id", 7), ("serial", 13), ("name", 26), ("macos", 8), ("user", 22), ("profile", 10),
           ("okta_verify", 11), ("certificate", 11))


class _Writer:
    """Rows out as they come: a JSON document streamed element by element, or an aligned table."""

    def __init__(self, out: TextIO, as_json: bool, failing_only: bool) -> None:
        self.out, self.as_json, self.failing_only = out, as_json, failing_only
        self.shown = 0
        self.problems: list[str] = []
        self.ids: set[int] = set()  # only for a look at named Macs (--device): which of them were listed
        self.keep_ids = False

    def start(self) -> None:
        if self.as_json:
            self.out.write('{"devices": [')
        else:
            self.out.write("  ".join(f"{name.upper():<{w}}" for name, w in COLUMNS) + "  REASONS\n")

    def rows(self, rows: list[Any], problems: list[str]) -> None:
        for line in problems:
            self.problems.append(line)
            print(f"odatui: {line}", file=sys.stderr)
        chunk: list[str] = []  # one write per page, not per row
        for row in rows:
            if self.keep_ids:
                self.ids.add(row.id)
            for reason in row.reasons:
                if reason.startswith("incomplete"):
                    print(f"odatui: device {row.id}: {reason}; listed with what WS1 sent", file=sys.stderr)
            if self.failing_only and not row.reasons:
                continue
            if self.as_json:
                chunk.append(("\n  " if self.shown == 0 else ",\n  ") + json.dumps(row.as_dict()))
            else:
                d = row.as_dict()
                cells = "  ".join(f"{str(d[name] if d[name] is not None else '?')[:w]:<{w}}" for name, w in COLUMNS)
                chunk.append(cells + "  " + "; ".join(row.reasons) + "\n")
            self.shown += 1
        self.out.write("".join(chunk))
        self.out.flush()

    def finish(self, summary: dict[str, Any]) -> None:
        if self.as_json:
            self.out.write(("\n" if self.shown else "") + '], "summary": ' + json.dumps(summary) + "}\n")
        self.out.flush()


class _Progress:
    """A progress line on stderr while a look runs (device pages judged of all, Macs judged), only when stderr is a
    terminal: piped or redirected output stays exactly the rows and the summary."""

    EVERY = 0.2  # seconds between redraws

    def __init__(self, err: TextIO) -> None:
        self.err = err
        self.on = err.isatty()
        self.last = 0.0
        self.drawn = False

    def __call__(self, summary: Any) -> None:
        now = time.monotonic()
        if not self.on or now - self.last < self.EVERY:
            return
        self.last = now
        self.err.write(f"\r\033[Kodatui: device pages {summary.pages_done}/{summary.pages_total}, "
                       f"{summary.devices:,} Macs judged, {summary.failing:,} with a reason")
        self.err.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            self.err.write("\r\033[K")
            self.err.flush()


def _look(args: Any) -> dict[str, Any]:
    """How much to ask WS1: bulk listings only (the default), or per-Mac lookups too (--detail within
    --max-requests, or the named --device Macs)."""
    device_ids = getattr(args, "device", None)
    detail = bool(getattr(args, "detail", False))
    max_requests = getattr(args, "max_requests", None)
    if max_requests is not None and max_requests < 1:
        raise UsageError(f"--max-requests must be at least 1 (got {max_requests})",
                         hint="e.g. `odatui status --devices --detail --max-requests 2000`")
    if getattr(args, "bulk_only", False) and (detail or max_requests is not None):
        raise UsageError("--bulk-only (the default) and --detail/--max-requests contradict each other",
                         hint="drop --bulk-only")
    only = {int(d) for d in device_ids} if device_ids else None
    per_device = detail or max_requests is not None or only is not None
    return {"per_device": per_device, "only": only, "max_requests": max_requests,
            "budgeted": per_device and (only is None or max_requests is not None)}


def cmd_status_devices(args: Any, config: Any) -> int:
    look = _look(args)
    ids = rollout_ids(config)
    failing_only = getattr(args, "filter", None) == "failing"
    as_json = bool(getattr(args, "json", False))
    writer = _Writer(sys.stdout, as_json, failing_only)
    writer.keep_ids = look["only"] is not None
    progress = _Progress(sys.stderr)
    writer.start()
    try:
        summary = asyncio.run(list_devices(config, SecretStore(), ids, writer.rows, progress=progress,
                                           **look)).as_dict()
    finally:
        progress.clear()
    summary["shown"] = writer.shown
    summary["filter"] = "failing" if failing_only else None
    writer.finish(summary)
    if not as_json:
        def states(counts: dict[str, int]) -> str:
            return ", ".join(f"{n} {state}" for state, n in sorted(counts.items(), key=lambda kv: -kv[1])) or "–"

        print(f"{summary['devices']} Macs in smart group(s) {', '.join(map(str, ids['smart_group_names']))}; "
              f"{summary['failing']} with reasons. Profile: {states(summary['profile'])}. Okta Verify: "
              f"{states(summary['okta_verify'])}. SCEP certificate: {states(summary['certificate'])}.")
    _say_undecided(summary)
    if look["only"] is not None:
        for unknown in sorted(look["only"] - writer.ids):
            writer.problems.append(f"device {unknown} is not a Mac of the smart group(s)")
            print(f"odatui: device {unknown} is not a Mac of smart group(s) "
                  f"{', '.join(map(str, ids['smart_group_names']))}", file=sys.stderr)
    if failing_only and writer.shown == 0:
        print(f"odatui: no device matches --filter failing ({summary['devices']} Macs listed, none with a reason)",
              file=sys.stderr)
    if summary["not_listed"]:
        print(f"odatui: {summary['not_listed']} smart group members were not returned by the device search of "
              "organization group "
              f"{ids['og_id']} (enrolled in another organization group?)", file=sys.stderr)
    return 1 if writer.problems or summary["incomplete"] else 0


def _say_undecided(summary: dict[str, Any]) -> None:
    """One line naming what the look left undecided and how to decide it (stderr: the rows stay clean)."""
    undecided = summary["undecided"]
    if not undecided:
        return
    what = "; ".join(f"{n:,} {UNDECIDED[k]}" for k, n in sorted(undecided.items()))
    if summary["mode"] == "bulk":
        fix = "`--detail` looks them up per Mac (one request each, within --max-requests)"
    else:
        fix = (f"the budget of {summary['max_requests']:,} requests is spent ({summary['lookups']:,} per-Mac "
               "lookups made); raise --max-requests to decide more")
    print(f"odatui: left undecided: {what}; {fix}", file=sys.stderr)


UNDECIDED = {"profile": "Macs with the profile assigned, not installed (pending, or failed?)",
             "certificate": "Macs with the profile installed whose SCEP certificate was not looked up"}


# --------------------------------------------------------------------------------------------- repush


def _repush(config: Any, ids: dict[str, Any], device_ids: list[int] | None, confirm: Any,
            limit: int | None = None) -> int:
    problems: list[str] = []

    def problem(line: str) -> None:
        problems.append(line)
        print(f"odatui: {line}", file=sys.stderr)

    def skipped(line: str) -> None:
        print(line)

    targets, done, failed = asyncio.run(repush(config, SecretStore(), ids, device_ids, problem, confirm,
                                               on_skipped=skipped, limit=limit))
    if not targets:
        print("No device to re-push the profile to.")
        return 1 if problems else 0
    if done is None:
        print("Nothing was changed.")
        return 0
    for line in failed:
        print(f"odatui: device {line}", file=sys.stderr)
    print(f"Profile {ids['profile_id']} re-pushed to {done} of {len(targets)} Macs (WS1 queues an install "
          "command; each Mac installs it at its next check-in).")
    return 1 if problems or failed else 0


def cmd_repush(args: Any) -> int:
    device_ids = getattr(args, "device", None)
    if not device_ids and not getattr(args, "failing", False):
        raise UsageError("say which Macs: --device ID… or --failing", hint="e.g. `odatui repush --failing --yes`")
    if device_ids and getattr(args, "failing", False):
        raise UsageError("give --device or --failing, not both")
    config = load_config_at(getattr(args, "config", None))
    ids = rollout_ids(config)
    if ids["profile_id"] is None:
        raise UsageError("the last run created no profile to re-push", hint="run `odatui apply` first")

    def confirm(count: int) -> bool:
        if getattr(args, "yes", False) or not (sys.stdin.isatty() and sys.stdout.isatty()):
            return bool(getattr(args, "yes", False)) or _refuse_unattended()
        try:
            answer = input(f"Re-push profile {ids['profile_id']} to {count} Macs? [y/N] ").strip().lower()
        except EOFError:  # Ctrl-D at the question: a no, as for remove
            return False
        return answer in ("y", "yes")

    limit = getattr(args, "max", None)
    if limit is not None and limit < 1:
        raise UsageError(f"--max must be 1 or more (got {limit})", hint="e.g. `odatui repush --failing --max 500`")
    return _repush(config, ids, [int(d) for d in device_ids] if device_ids else None, confirm, limit)


def _refuse_unattended() -> bool:
    # stdin is a terminal (odatui.cli.main refused otherwise) but stdout is not: the question would go unseen.
    raise UsageError("repush asks for a confirmation and stdout is not a terminal; add --yes to re-push unattended",
                     hint="nothing was re-pushed")
