"""The plain (non-TUI) face of the engine: `odatui plan`, `apply`, `retry`, `status` and `demo --unattended`.

Progress goes out as plain lines (`[12:00:01] ws1.upload 42% 420 MB/1.0 GB 85 MB/s`), one per event, so the
output reads well in a CI log, over SSH and in `tee`. Exit codes are the engine's (0 done, 1 a step failed,
2 bad usage or config, 3 needs the admin, 4 secrets unavailable).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from odatui.errors import ConfigError
from odatui.events import (
    RunFinished,
    StepCancelled,
    StepFailed,
    StepLog,
    StepNeedsAction,
    StepProgress,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)

PLAIN_PROGRESS_EVERY = 1.0  # seconds between progress lines of one step (the engine already caps at ~10/s)


# --------------------------------------------------------------------------------------------- output


def human_bytes(n: float) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.1f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.0f} MB" if n >= 1e7 else f"{n / 1e6:.1f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.0f} kB"
    return f"{int(n)} B"


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
        if isinstance(event, StepStarted):
            self.line(sid, f"started: {event.title}" + (f" (attempt {event.attempt})" if event.attempt > 1 else ""))
        elif isinstance(event, StepProgress):
            now = self.clock()
            if event.fraction != 1.0 and now - self._last_progress.get(sid, -1e9) < PLAIN_PROGRESS_EVERY:
                return
            self._last_progress[sid] = now
            self.line(sid, progress_text(event))
        elif isinstance(event, StepLog):
            self.line(sid, event.message if event.level == "info" else f"{event.level}: {event.message}")
        elif isinstance(event, StepNeedsAction):
            self.line(sid, "NEEDS YOUR ACTION:")
            for text_line in event.text.splitlines():
                self.out.write(f"    {text_line}\n")
            if event.polling and event.next_check_in:
                self.out.write(f"    (checking again in {event.next_check_in:.0f} s)\n")
        elif isinstance(event, StepSucceeded):
            self.line(sid, ("done: " if event.changed else "unchanged: ") + (event.summary or "ok"))
        elif isinstance(event, StepFailed):
            retry = f" (retrying in {event.will_retry_in:.0f} s)" if event.will_retry_in is not None else ""
            self.line(sid, f"FAILED: {event.error}{retry}")
            if event.hint and event.will_retry_in is None:
                for hint_line in event.hint.splitlines():
                    self.out.write(f"    → {hint_line}\n")
        elif isinstance(event, StepSkipped):
            self.line(sid, f"skipped: {event.reason}")
        elif isinstance(event, StepCancelled):
            self.line(sid, f"cancelled: {event.reason}")
        elif isinstance(event, RunFinished):
            pass  # the caller prints the summary with the state's details
        self.out.flush()


def progress_text(event: StepProgress) -> str:
    parts = []
    if event.fraction is not None:
        parts.append(f"{event.fraction * 100:.0f}%")
    if event.bytes_done is not None and event.bytes_total:
        parts.append(f"{human_bytes(event.bytes_done)}/{human_bytes(event.bytes_total)}")
        if event.rate:
            parts.append(f"{human_bytes(event.rate)}/s")
    elif event.message:
        parts.append(event.message)
    return " ".join(parts) or "working"


EXIT_WORDS = {0: "done", 1: "a step failed", 2: "a step failed on its input (config or package)", 3: "a step needs your action",
              4: "secrets unavailable", 130: "cancelled"}


def print_summary(result: Any, state: Any, out: TextIO | None = None, ran: Any = None) -> None:
    """`ran`: the steps this run ran or re-checked; the others' lines are the last run's, said as such."""
    out = out or sys.stdout
    width = max(len(s) for s in result.summary) if result.summary else 0
    out.write("\nSummary:\n")
    for sid, status in result.summary.items():
        rec = state.steps.get(sid)
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
    from odatui.config import load_config

    path = getattr(args, "config", None)
    config = load_config(Path(path) if path else None)  # a bad ODATUI_* override is named even without a file
    if path and not Path(path).expanduser().exists():
        load_config(Path(path), must_exist=True)  # raises: no config file at PATH (a mistyped --config)
    return config


def require_fields(config: Any, engine: Any, step_ids: list[str], args: Any) -> None:
    from odatui.engine import missing_fields

    wanted = set(step_ids)
    for sid in step_ids:
        wanted.update(engine.ancestors(sid))
    missing = missing_fields(config, wanted)
    scep_gaps: list[str] = []
    if "ws1.profile" in wanted:
        from odatui import scep

        scep_gaps = scep.missing(config, getattr(engine, "secrets", None))
        missing += scep_gaps
    if missing:
        where = getattr(args, "config", None) or "the config file"
        envs = ", ".join("ODATUI_" + m.upper().replace(".", "__") for m in missing)
        hint = f"set them in {where} (run `odatui` for the wizard), or set {envs}"
        if scep_gaps:
            hint += (f"\nDevice Access SCEP (Platform SSO 2.0): {scep.ADMIN_CONSOLE_CLICKS}; keep the secret key in "
                     "the keychain with `odatui secrets set okta.scep_challenge`, or set [rollout] scep = "
                     '"elsewhere" if another profile deploys that certificate')
        raise ConfigError(f"the config is missing {', '.join(missing)}", hint=hint)
    if "ws1.profile" in wanted:
        scep.settings(config, getattr(engine, "secrets", None))  # a malformed secret key: one line, exit 2


def make_engine(config: Any, secrets: Any = None, *, directory: Path | None = None, **kw: Any) -> Any:
    from odatui.engine import Engine
    from odatui.secrets import SecretStore
    from odatui.state import StateStore

    store = StateStore(config.target_key(), directory)
    return Engine(config, secrets if secrets is not None else SecretStore(), store, **kw)


# --------------------------------------------------------------------------------------------- plan


def print_plan(rows: list[Any], out: TextIO | None = None) -> None:
    out = out or sys.stdout
    width = max(len(r.step_id) for r in rows)
    out.write(f"{'STEP':<{width}}  {'CHANGE':<12}  SUMMARY\n")
    for row in rows:
        if row.error:
            kind, summary = "error", row.error
        elif row.change is None:
            kind, summary = "later", row.hint or ""
        else:
            kind, summary = row.change.kind.value, row.change.summary
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


def plan_warnings(row: Any) -> list[str]:
    """The readiness warnings (`Change.warnings`), then the details a step marks "warning:" (e.g. the profile's
    rollout warnings, a non-OIDC PSSO app), without the prefix."""
    if row.change is None:
        return []
    marked = [d.removeprefix("warning: ") for d in row.change.details if d.startswith("warning: ")]
    return list(row.change.warnings) + marked


def plan_notes(row: Any) -> list[str]:
    return [d.removeprefix("note: ") for d in (row.change.details if row.change is not None else ())
            if d.startswith("note: ")]


def plan_json(rows: list[Any]) -> list[dict[str, Any]]:
    """`odatui plan --json`: one object per step, for scripts."""
    out = []
    for row in rows:
        if row.error:
            change, summary = "error", row.error
        elif row.change is None:
            change, summary = "later", row.hint or ""
        else:
            change, summary = row.change.kind.value, row.change.summary
        item: dict[str, Any] = {"id": row.step_id, "change": change, "summary": summary,
                                "warnings": plan_warnings(row), "notes": plan_notes(row)}
        if row.hint and row.error:
            item["hint"] = row.hint
        if row.change is not None and row.change.action:
            item["action"] = row.change.action
        out.append(item)
    return out


def cmd_plan(args: Any) -> int:
    config = load(args)
    engine = make_engine(config)
    require_fields(config, engine, engine.order, args)
    rows = asyncio.run(engine.plan())
    profile_row = next((r for r in rows if r.step_id == "ws1.profile"), None)
    pending_notes: tuple[str, ...] = ()
    if profile_row is not None and profile_row.change is None:  # not decided yet: its notes still apply
        from odatui.steps.rollout_warnings import rollout_notes

        pending_notes = rollout_notes(config)
    if getattr(args, "json", False):
        items = plan_json(rows)
        for item in items:
            if item["id"] == "ws1.profile":
                item["warnings"] += [n.removeprefix("warning: ") for n in pending_notes if n.startswith("warning: ")]
                item["notes"] += [n.removeprefix("note: ") for n in pending_notes if n.startswith("note: ")]
        json.dump(items, sys.stdout, indent=2)
        print()
        return 1 if any(r.error for r in rows) else 0
    print_plan(rows)
    for note in pending_notes:
        print(f"ws1.profile: {note}")
    print("Nothing was changed. `odatui apply` makes these changes.")
    return 1 if any(r.error for r in rows) else 0


# --------------------------------------------------------------------------------------------- apply / retry


def run_and_report(engine: Any, *, only: list[str] | None = None, from_step: str | None = None,
                   out: TextIO | None = None) -> Any:
    printer = PlainPrinter(out)
    result = asyncio.run(engine.run(only=only, from_step=from_step, on_event=printer))
    print_summary(result, engine.state, out, ran=engine.ran)
    error = engine.abort_error
    if error is not None and result.exit_code == 4:
        print(f"odatui: {error}", file=sys.stderr)
    return result


def check_step_ids(ids: list[str]) -> None:
    """Unknown --only/--from ids are named before anything else is loaded (exit 2)."""
    from odatui.errors import UsageError
    from odatui.steps import STEP_IDS

    for sid in ids:
        if sid not in STEP_IDS:
            import difflib

            guess = difflib.get_close_matches(sid, STEP_IDS, n=1)
            raise UsageError(f"unknown step id {sid!r}" + (f" (did you mean {guess[0]}?)" if guess else ""),
                             hint="step ids: " + ", ".join(STEP_IDS))


def cmd_apply(args: Any) -> int:
    check_step_ids([*(getattr(args, "only", None) or []), *([args.from_step] if getattr(args, "from_step", None) else [])])
    config = load(args)
    if getattr(args, "allow_downgrade", False):
        config.rollout.allow_downgrade = True  # this run only: the field is never saved
    if not getattr(args, "yes", False) and not sys.stdin.isatty():
        # Nobody can answer the confirmation (a pipe, cron, CI): refuse rather than change a tenant unasked, as
        # `terraform apply` does without -auto-approve. Before any request is made.
        from odatui.errors import UsageError

        raise UsageError("apply needs a confirmation and stdin is not a terminal; use --yes to apply unattended",
                         hint="`odatui plan` shows what would change")
    engine = make_engine(config)
    only, from_step = getattr(args, "only", None), getattr(args, "from_step", None)
    selected = engine.select(only, from_step)
    require_fields(config, engine, selected, args)
    if not getattr(args, "yes", False):
        print_plan(asyncio.run(engine.plan()))
        # The question on stderr: it reaches the admin even when stdout is piped into a log (`| tee`).
        sys.stdout.flush()
        sys.stderr.write("Apply these changes? [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing was changed.")
            return 0
    # The config file given is the one answers file: nothing is copied elsewhere (it is the admin's to keep).
    return run_and_report(engine, only=only, from_step=from_step).exit_code


def retry_ids(engine: Any, state: Any = None, stale: Any = ()) -> list[str]:
    """The failed steps of the last run, the succeeded ones the live tenant no longer agrees with (`stale`, from
    odatui.freshness), and what they blocked."""
    from odatui.state import RUNNING

    state = state if state is not None else engine.store.load()
    # Skipped steps too (blocked by a prerequisite that was missing), unless they are not needed at all.
    blocked = {sid for sid, rec in state.steps.items()
               if rec.status == "skipped" and rec.summary != "not needed for this configuration"}
    # "running" in a saved state means the process that ran it died (kill -9, power loss): the run takes the lock
    # before it starts, so no live odatui is behind it. Such a step is retried like a cancelled one.
    running = {sid for sid, rec in state.steps.items() if rec.status == RUNNING}
    failed = [sid for sid in engine.order
              if sid in state.failed() or sid in stale or sid in blocked or sid in running]
    wanted = set(failed)
    for sid in failed:
        for child in engine.descendants(sid):
            rec = state.steps.get(child)
            if rec is None or rec.status != "succeeded":
                wanted.add(child)
    return [sid for sid in engine.order if sid in wanted]


def cmd_retry(args: Any) -> int:
    from odatui.freshness import live_check

    config = load(args)
    engine = make_engine(config)
    # The last run's successes are checked against the live tenant first: a restored org or an app deleted by
    # hand makes them stale, and stale steps are retried like failed ones.
    check = asyncio.run(live_check(engine))
    engine.store = check.store
    ids = retry_ids(engine, check.store.load(), check.stale)
    for sid in [s for s in engine.order if s in check.stale]:
        print(f"{sid} succeeded in the last run, but {check.stale[sid]}")
    if not ids:
        if check.checked:
            print("No failed steps in the last run, and the tenant still matches it: nothing to retry.")
        else:
            print("No failed steps in the last run: nothing to retry "
                  f"(not re-checked against the tenant: {check.problem}).")
        return 0
    require_fields(config, engine, ids, args)
    print(f"Retrying: {', '.join(ids)}")
    return run_and_report(engine, only=ids).exit_code


# --------------------------------------------------------------------------------------------- status


async def _rollout(config: Any, outputs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from odatui.secrets import SecretStore
    from odatui.ws1.client import Ws1Client

    pre = outputs.get("preflight.ws1") or {}
    client = Ws1Client.from_config(config.ws1, SecretStore())
    okta_task = asyncio.create_task(_okta_macs(config))  # side by side: Okta pages while WS1 pages
    try:
        status = await client.rollout_status(
            int(pre["smart_group_id"]), (outputs.get("ws1.upload") or {}).get("app_id"),
            (outputs.get("ws1.profile") or {}).get("profile_id"), og_id=pre.get("og_id"))
    finally:
        await client.aclose()
    okta_macs, okta_error = await okta_task
    return {"smart_group": pre.get("smart_group_name"), "devices": status.devices,
            "profile_installed": status.profile_installed, "app_installed": status.app_installed,
            "okta_registered_macs": okta_macs, "okta_error": okta_error}


async def _okta_macs(config: Any) -> tuple[int | None, str | None]:
    """Macs registered with Okta (Devices API, platform MACOS): how many users finished Okta Verify
    registration, against how many Macs have the profile. Read-only; a failure is reported, not raised."""
    from odatui.errors import OdatuiError
    from odatui.log import redact
    from odatui.okta.client import OktaClient
    from odatui.secrets import SecretStore

    if config.okta.auth == "none":
        return None, "no Okta API access (okta.auth = \"none\")"
    try:
        client = await asyncio.to_thread(OktaClient.from_config, config.okta, SecretStore())
        try:
            if client.auth_mode == "service_app" and "okta.devices.read" not in client.scopes:
                # As verify does: its token never carries the scope, so no call that can only be refused.
                return None, "the credentials lack okta.devices.read (grant it to the service app to see them)"
            return await client.count_devices(), None
        finally:
            await client.aclose()
    except OdatuiError as exc:
        return None, redact(exc.message)


def cmd_status(args: Any) -> int:
    from odatui.errors import OdatuiError
    from odatui.freshness import live_check
    from odatui.log import redact
    from odatui.state import StateStore
    from odatui.steps import STEP_IDS

    config = load(args)
    if getattr(args, "devices", False):
        from odatui.devices_cli import cmd_status_devices

        return cmd_status_devices(args, config)
    if getattr(args, "filter", None) or getattr(args, "bulk_only", False):
        from odatui.errors import UsageError

        raise UsageError("--filter and --bulk-only go with --devices", hint="e.g. `odatui status --devices --filter failing`")
    # Which tenants the config reaches now (not how it is spelled), and whether they still hold what the last
    # run recorded: a stored success the live tenant disagrees with is shown as "stale", never as current.
    check = None
    live_problem: str | None = None
    try:
        check = asyncio.run(live_check(make_engine(config)))
        live_problem = check.problem
    except OdatuiError as exc:  # e.g. secrets unavailable: the stored state is still worth showing
        live_problem = redact(exc.message)
    store = check.store if check is not None else StateStore(config.target_key())
    stale = check.stale if check is not None else {}
    state = store.load()
    order = list(STEP_IDS) + [s for s in state.steps if s not in STEP_IDS]
    steps = {sid: {"status": "stale" if sid in stale else rec.status, "last_status": rec.status,
                   "stale_reason": stale.get(sid), "attempts": rec.attempts, "last_error": rec.last_error,
                   "hint": rec.hint, "summary": rec.summary, "finished": rec.finished, "outputs": rec.outputs,
                   "created": rec.created, "adopted": rec.adopted}
             for sid in order if (rec := state.steps.get(sid)) is not None}
    checked = check is not None and check.checked
    outputs = {sid: out for sid, out in state.outputs().items() if sid not in stale}
    rollout: dict[str, Any] | None = None
    rollout_error: str | None = None
    if not checked and live_problem:
        rollout_error = f"the tenant was not reached ({live_problem})"  # its rollout cannot be read either
    elif "preflight.ws1" in outputs and ({"ws1.assign", "ws1.profile"} & set(outputs)):
        try:
            rollout = asyncio.run(_rollout(config, outputs))
        except OdatuiError as exc:
            rollout_error = redact(str(exc))
        except Exception as exc:  # status is read-only: report, never crash
            rollout_error = f"{type(exc).__name__}: {redact(str(exc))}"
    if getattr(args, "json", False):
        json.dump({"target": state.target, "state_file": str(store.path), "updated": state.updated,
                   "identity": state.identity, "checked_live": checked, "not_checked_because": live_problem,
                   "steps": steps, "rollout": rollout, "rollout_error": rollout_error}, sys.stdout, indent=2)
        print()
        return 0
    if not steps:
        print(f"No run yet for {state.target} (state file {store.path}). `odatui plan` shows what would happen.")
        return 0
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state.updated)) if state.updated else "?"
    print(f"Target {state.target} — last update {when}")
    if checked:
        print("Checked against the live tenant just now" + (f": {len(stale)} step(s) are stale." if stale else "."))
    else:
        print(f"Last run as recorded; not checked against the live tenant ({live_problem}).")
    width = max(len(s) for s in steps)
    for sid, info in steps.items():
        line = f"  {sid:<{width}}  {info['status']:<12}  attempts {info['attempts']}"
        if info["stale_reason"]:
            line += f"  succeeded in the last run, but {info['stale_reason']}"
        elif info["last_error"] and info["status"] != "succeeded":
            line += f"  {info['last_error'].splitlines()[0]}"
        print(line)
        shown = {k: v for k, v in info["outputs"].items() if not isinstance(v, (dict, list)) or v}
        if shown and info["status"] == "succeeded":
            print(f"  {'':<{width}}  " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    if stale:
        print("`odatui retry` re-runs the stale steps.")
    if rollout is not None:
        print(f"Rollout to smart group {rollout['smart_group']!r}: {rollout['devices']} devices, "
              f"profile installed on {rollout['profile_installed']}, Okta Verify installed on {rollout['app_installed']}")
        if rollout.get("okta_registered_macs") is not None:
            print(f"Okta: {rollout['okta_registered_macs']} Macs registered (Okta Verify registration finished) of "
                  f"{rollout['profile_installed']} with the profile")
        elif rollout.get("okta_error"):
            print(f"Okta registered Macs unavailable: {rollout['okta_error']}")
    elif rollout_error:
        print(f"Rollout status unavailable: {rollout_error}")
    return 0


# --------------------------------------------------------------------------------------------- demo


def cmd_demo_unattended(args: Any) -> int:
    """`odatui demo --unattended`: the whole plan against an in-process sandbox, plain lines, a summary."""
    from odatui.demo import start_demo

    session = start_demo(psso_app="present")
    try:
        print(f"odatui demo: sandbox (Okta + Workspace ONE emulators) at {session.url}; nothing leaves this machine")
        engine = make_engine(session.config, session.secrets, directory=Path(session.sandbox.data_dir) / "runs")
        started = time.monotonic()
        result = run_and_report(engine)
        print(f"Demo finished in {time.monotonic() - started:.1f} s.")
        return result.exit_code
    finally:
        session.close()
