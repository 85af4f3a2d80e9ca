"""The plain (non-TUI) face: `odatui plan`, `apply`, `retry` and `status`; the work is odatui.service's.

Progress goes out as plain lines (`[12:00:01] ws1.upload 42% 420 MB/1.0 GB 85 MB/s`), one per event, so the
output reads well in a CI log, over SSH and in `tee`. Exit codes are the engine's (0 done, 1 a step failed,
2 bad usage or config, 3 needs the admin, 4 secrets unavailable).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, TextIO

from odatui.engine.exits import MEANING
from odatui.core.errors import UsageError
from odatui.core.events import StepFailed, StepNeedsAction, StepProgress
from odatui.service import plan as plans
from odatui.service.plan import row_change
from odatui.service.run import RunSession, open_run
from odatui.service.setup import check_step_ids, load_config_at
from odatui.service.words import describe

PLAIN_PROGRESS_EVERY = 1.0  # seconds between progress lines of one step (the engine already caps at ~10/s)


# --------------------------------------------------------------------------------------------- output


class PlainPrinter:
    """Turns engine events into lines. Progress lines of a step are thinned to one per second (and the last)."""

    def __init__(self, out: TextIO | None = None, *, clock=time.time) -> None:
        self.out = out or sys.stdout
        self.clock = clock
        self._last_progress: dict[str, float] = {}

    def line(self, step_id: str, text: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.clock()))
        self.out.write(f"[{stamp}] {step_id} {text}\n".replace(" \n", "\n") if step_id else f"[{stamp}] {text}\n")
        self.out.flush()

    def __call__(self, event: Any) -> None:
        sid = event.step_id
        text = describe(event)  # the words are the service's (odatui.service.words), the same as the wizard's
        if text is None:
            return  # the run's end: the caller prints the summary with the state's details
        if isinstance(event, StepProgress):
            now = self.clock()
            if event.fraction != 1.0 and now - self._last_progress.get(sid, -1e9) < PLAIN_PROGRESS_EVERY:
                return
            self._last_progress[sid] = now
        self.line(sid, text)
        if isinstance(event, StepNeedsAction):
            for text_line in event.text.splitlines():
                self.out.write(f"    {text_line}\n")
            if event.polling and event.next_check_in:
                self.out.write(f"    (checking again in {event.next_check_in:.0f} s)\n")
        elif isinstance(event, StepFailed) and event.hint and event.will_retry_in is None:
            for hint_line in event.hint.splitlines():
                self.out.write(f"    → {hint_line}\n")
        self.out.flush()


EXIT_WORDS = MEANING  # the one exit-code table's words (odatui.engine.exits)


def print_summary(result: Any, records: dict[str, Any], out: TextIO | None = None, ran: Any = None) -> None:
    """`records`: each step's recorded outcome (odatui.service.types.StepStatus); `ran`: the steps this run ran or
    re-checked, the others' lines are the last run's, said as such."""
    out = out or sys.stdout
    width = max(len(s) for s in result.summary) if result.summary else 0
    out.write("\nSummary:\n")
    for sid, status in result.summary.items():
        rec = records.get(sid)
        detail = ""
        if ran is not None and sid not in ran and status != "pending":
            detail = "not part of this run: the last run's result, not re-checked (`odatui status` checks it)"
        elif rec is not None and status in ("failed", "needs-action") and rec.last_error:
            detail = rec.last_error.splitlines()[0]
        elif rec is not None and rec.summary and status in ("succeeded", "skipped"):
            detail = rec.summary
        out.write(f"  {sid:<{width}}  {status:<12}  {detail}".rstrip() + "\n")
        if rec is not None and status == "failed" and rec.hint:
            for hint_line in rec.hint.splitlines():
                out.write(f"  {'':<{width}}  {'':<12}  → {hint_line}\n")
    out.write(f"Result: {EXIT_WORDS.get(result.exit_code, 'finished')} (exit {result.exit_code})\n")
    if result.exit_code in (1, 2, 3):
        out.write("Fix what is named above, then `odatui retry` (or `odatui apply`: finished steps are skipped).\n")
    out.flush()


# --------------------------------------------------------------------------------------------- set-up


def load(args: Any) -> Any:
    return load_config_at(getattr(args, "config", None))


def require_fields(run: RunSession, step_ids: list[str], args: Any) -> None:
    run.require_fields(step_ids, getattr(args, "config", None))


# --------------------------------------------------------------------------------------------- plan


def print_plan(rows: list[Any], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    width = max(len(r.step_id) for r in rows)
    out.write(f"{'STEP':<{width}}  {'CHANGE':<12}  SUMMARY\n")
    for row in rows:
        kind, summary = row_change(row)
        out.write(f"{row.step_id:<{width}}  {kind:<12}  {summary}\n")
        if row.error and row.hint:
            out.write(f"{'':<{width}}  {'':<12}  → {row.hint}\n")
        for note in (row.change.details if row.change is not None else ()):
            if note.startswith(("warning:", "note:")):  # what the admin must know even when nothing changes
                out.write(f"{'':<{width}}  {'':<12}  {note}\n")
        if row.change is not None and row.change.kind.value == "needs-action" and row.change.action:
            for text_line in row.change.action.splitlines():
                out.write(f"{'':<{width}}  {'':<12}  {text_line}\n")
        for warning in (row.change.warnings if row.change is not None else ()):
            out.write(f"{'':<{width}}  {'':<12}  warning: {warning}\n")
    out.flush()


def cmd_plan(args: Any) -> int:
    config = load(args)
    run = open_run(config)
    require_fields(run, run.order, args)
    rows = asyncio.run(run.plan())
    pending = plans.pending_notes(config, rows)
    if getattr(args, "json", False):
        json.dump(plans.plan_json(rows, pending), sys.stdout, indent=2)
        print()
        return plans.plan_exit_code(rows)
    print_plan(rows)
    for note in pending:
        print(f"ws1.profile: {note}")
    print("Nothing was changed. `odatui apply` makes these changes.")
    return plans.plan_exit_code(rows)


# --------------------------------------------------------------------------------------------- apply / retry


def run_and_report(run: RunSession, *, only: list[str] | None = None, from_step: str | None = None,
                   out: TextIO | None = None) -> Any:
    printer = PlainPrinter(out)
    result = asyncio.run(run.run(only=only, from_step=from_step, on_event=printer))
    print_summary(result, run.previous(), out, ran=result.ran)
    error = result.abort_error
    if error is not None and result.exit_code == 4:
        print(f"odatui: {error}", file=sys.stderr)
    return result


def cmd_apply(args: Any) -> int:
    check_step_ids([*(getattr(args, "only", None) or []), *([args.from_step] if getattr(args, "from_step", None) else [])])
    config = load(args)
    if getattr(args, "allow_downgrade", False):
        # --yes is already checked: odatui.cli.commands lists --allow-downgrade in apply's needs_yes.
        config.rollout.allow_downgrade = True  # this run only: the field is never saved
    # Without a terminal and --yes, odatui.cli.main.refuse_unconfirmed has already refused (exit 2), before any request.
    advance = getattr(args, "advance_wave", None)
    if advance is not None:
        names = [w.name for w in config.waves() if w.gated]
        if advance not in names:
            raise UsageError(f"--advance-wave {advance!r} is not a gated wave of this rollout",
                             hint=("the waves are: " + ", ".join(repr(n) for n in names)) if names else
                             "only [[rollout.waves]] have gates")
        if not getattr(args, "yes", False) and not sys.stdin.isatty():
            # Opening a gate by hand pushes the SSO profile to a wave's Macs: never without an explicit yes.
            raise UsageError("--advance-wave changes the tenant and stdin is not a terminal; add --yes to confirm",
                             hint="`odatui waves` shows why the wave is gated")
        config.rollout.advance_wave = advance  # this run only: the field is never saved
    run = open_run(config)
    only, from_step = getattr(args, "only", None), getattr(args, "from_step", None)
    selected = run.select(only, from_step)
    require_fields(run, selected, args)
    if not getattr(args, "yes", False):
        print_plan(asyncio.run(run.plan()))
        # The question on stderr: it reaches the admin even when stdout is piped into a log (`| tee`).
        sys.stdout.flush()
        sys.stderr.write("Apply these changes? [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing was changed.")
            return 0
    # The config file given is the one answers file: nothing is copied elsewhere (it is the admin's to keep).
    return run_and_report(run, only=only, from_step=from_step).exit_code


def cmd_retry(args: Any) -> int:
    config = load(args)
    run = open_run(config)
    check = asyncio.run(run.retry_plan())
    ids = check.ids
    for sid in [s for s in run.order if s in check.stale]:
        print(f"{sid} succeeded in the last run, but {check.stale[sid]}")
    if not ids:
        if check.checked:
            print("No failed steps in the last run, and the tenant still matches it: nothing to retry.")
        else:
            print("No failed steps in the last run: nothing to retry "
                  f"(not re-checked against the tenant: {check.problem}).")
        return 0
    require_fields(run, ids, args)
    print(f"Retrying: {', '.join(ids)}")
    return run_and_report(run, only=ids).exit_code
