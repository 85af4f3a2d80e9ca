"""`odatui` command line. Parsing only: each command's body lives in the module that owns it, imported lazily
so `odatui --help` and `--version` never load Textual, httpx or pydantic.

Exit codes (odatui.engine.exits): 0 done · 1 a step failed · 2 bad usage or config · 3 a step needs the admin ·
4 secrets unavailable · 128 + signal (130 Ctrl-C, 141 a closed pipe).
"""

from __future__ import annotations

import errno
import importlib
import sys
from collections.abc import Sequence

from odatui import __version__

from odatui.engine.exits import EXIT_FAILED, EXIT_SIGPIPE, EXIT_USAGE

from odatui.cli.commands import BY_NAME, COMMANDS, YES_HELP

# command → "module:function" (odatui.cli.commands is the one source of every command's handler and words)
HANDLERS = {c.name: c.handler for c in COMMANDS}


def build_parser():
    import argparse

    class _Parser(argparse.ArgumentParser):
        def __init__(self, *args, **kwargs) -> None:
            # No abbreviations: `apply --y` or `remove --inc` must not silently mean --yes / --include-adopted.
            super().__init__(*args, **{"allow_abbrev": False, **kwargs})

        def error(self, message: str) -> None:  # one line and exit 2, as for every other bad input
            self.exit(EXIT_USAGE, f"odatui: {message}\n  → see `{self.prog} --help`\n")

    # --config is accepted before or after the command; SUPPRESS keeps the subcommand from resetting it to None.
    common = _Parser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="config (answers) file; default: the user config dir")

    parser = _Parser(
        prog="odatui",
        description="Roll out Okta Desktop Password Sync (Platform SSO) on Macs managed by Workspace ONE UEM.",
        epilog="Exit codes: 0 done, 1 a step failed, 2 bad usage or config, 3 a step needs your action, "
        "4 secrets unavailable. Run without a command for the wizard.",
    )
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="config (answers) file; default: the user config dir")
    parser.add_argument("--version", action="version", version=f"odatui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    demo = sub.add_parser("demo", parents=[common], help="the wizard against the embedded sandbox (no tenant needed)")
    demo.add_argument("--unattended", action="store_true", help="run the whole plan headless, progress as lines")

    plan = sub.add_parser("plan", parents=[common], help="show what each step would do; changes nothing")
    plan.add_argument("--json", action="store_true",
                      help="one JSON object per step: id, change, summary, warnings, notes")

    apply = sub.add_parser("apply", parents=[common], help="run the plan unattended")
    apply.add_argument("--only", nargs="+", metavar="ID", help="run only these steps (e.g. ws1.profile)")
    apply.add_argument("--from", dest="from_step", metavar="ID", help="start at this step and run what follows it")

    apply.add_argument("--allow-downgrade", action="store_true",
                       help="make an older Okta Verify package the assigned version")
    apply.add_argument("--advance-wave", metavar="NAME",
                       help="open this wave's gate by hand (needs --yes without a terminal; recorded in the run state)")

    waves = sub.add_parser("waves", parents=[common], help="per wave: Macs, Okta Verify, profile, failing, gate")
    waves.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("retry", parents=[common], help="re-run the steps that failed last time")

    remove = sub.add_parser("remove", parents=[common], help="plan, then remove what odatui created for this target")
    remove.add_argument("--include-adopted", nargs="*", metavar="NAME", default=None,
                        help="also remove what odatui found already there (an app, profile or rule of another "
                             "admin); a smart group that still has Macs only when named here one by one")
    remove.add_argument("--recover", action="store_true",
                        help="the run state is damaged or gone: find what odatui created by the marker it leaves on it")

    status = sub.add_parser("status", parents=[common], help="last run per step, and rollout status")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument("--devices", action="store_true",
                        help="every Mac of the smart group(s): OS, profile, Okta Verify, SCEP certificate, reasons")
    status.add_argument("--filter", choices=["failing"], help="(--devices) only Macs with a reason")
    status.add_argument("--detail", action="store_true", help="(--devices) look up undecided Macs too")
    status.add_argument("--max-requests", type=int, metavar="N", help="(--devices --detail) WS1 requests in all "
                        "(default 4× the bulk listing, at least 1000); the rest is reported undecided")
    status.add_argument("--device", nargs="+", type=int, metavar="ID", help="(--devices) only these Macs, in full")
    status.add_argument("--bulk-only", action="store_true", help=argparse.SUPPRESS)  # the default now; kept working

    repush = sub.add_parser("repush", parents=[common], help="ask Workspace ONE to install the profile again")
    repush.add_argument("--device", nargs="+", type=int, metavar="ID", help="WS1 device ids")
    repush.add_argument("--failing", action="store_true", help="every Mac that `status --devices` lists with a reason")
    repush.add_argument("--max", type=int, metavar="N",
                        help="push to at most N Macs in this run (the rest on the next); Macs with an install "
                             "already queued are always skipped")

    export = sub.add_parser("export", parents=[common], help="write .mobileconfig files for any MDM")
    export.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    export.add_argument("--sign-cert", metavar="PEM", help="sign the profiles with this certificate (PEM)")
    export.add_argument("--sign-key", metavar="PEM", help="private key of --sign-cert (PEM)")

    sandbox = sub.add_parser("sandbox", help="run the Okta and Workspace ONE emulators in the foreground")
    sandbox.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    sandbox.add_argument("--latency-ms", type=int, default=0, metavar="N", help="added latency per request")
    sandbox.add_argument("--fault-rate", type=float, default=0.0, metavar="P", help="probability of an injected fault")
    sandbox.add_argument("--seed", type=int, default=0, metavar="N", help="seed for faults and the fleet")
    sandbox.add_argument("--devices", type=int, default=36, metavar="N", help="enrolled Macs to simulate")
    sandbox.add_argument("--psso-app", choices=["absent", "present"], default="present",
                         help="whether the Okta PSSO app exists at start")
    sandbox.add_argument("--write-config", metavar="FILE", help="write a config that points at the sandbox")
    sandbox.add_argument("--force", action="store_true", help="let --write-config replace a file that is not an "
                         "odatui answers file")
    sandbox.add_argument("--okta-auth", choices=["api_token", "service_app", "none"], default="api_token",
                         help="how the written config reaches Okta (default: api_token)")
    sandbox.add_argument("--service-app-key", choices=["rsa", "ec"], default="ec",
                         help="the Okta service app's key pair: rsa (the Admin Console's default) or ec")
    sandbox.add_argument("--dpop", choices=["required", "off"], default="off",
                         help="whether the Okta service app requires DPoP-bound tokens")
    sandbox.add_argument("--split-hosts", action="store_true",
                         help="one port each for the Okta org, the WS1 API and the WS1 token service")
    sandbox.add_argument("--custom-domain", metavar="HOST", default=None,
                         help="an Okta custom domain, shown in /.well-known/okta-organization")

    secrets = sub.add_parser("secrets", parents=[common], help="manage keychain entries")
    secrets.add_argument("action", choices=["set", "delete", "status"])
    secrets.add_argument("name", nargs="?", help="okta.api_token, okta.private_key, ws1.password, "
                         "ws1.tenant_code, ws1.client_secret or okta.scep_challenge")
    secrets.add_argument("--from-file", metavar="FILE", help="(set) read the value from a file, e.g. a PEM key")

    serve = sub.add_parser("serve", parents=[common], help="the wizard in a browser (textual-serve), on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--host", default="127.0.0.1", help=argparse.SUPPRESS)

    bundle = sub.add_parser("bundle", parents=[common], help="support bundle: redacted config, state, logs, versions")
    bundle.add_argument("--out", required=True, metavar="FILE", help="zip file to write")
    bundle.add_argument("--force", action="store_true", help="replace FILE even if it is not an earlier bundle")
    bundle.add_argument("--all", action="store_true", help="include the run state of every target, not only --config's")

    config = sub.add_parser("config", parents=[common], help="where the config (answers) file lives")
    config.add_argument("action", choices=["path"], help="path: print the config file's path")

    for name, command in sub.choices.items():
        entry = BY_NAME[name]  # a subcommand without its entry in odatui.cli.commands fails here, at every start
        if entry.changes_tenant:
            command.add_argument("--yes", action="store_true", help=YES_HELP)
        command.description = entry.description or entry.summary
        command.epilog = "examples:\n" + "\n".join(f"  {line}" for line in entry.examples) if entry.examples else None
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def refuse_unconfirmed(command: str, args) -> None:
    """The one rule for every command that changes a tenant: no terminal to ask at and no --yes → exit 2, before
    any request (as `terraform apply` without -auto-approve); a flag the command lists in `needs_yes` needs --yes
    even at a terminal."""
    entry = BY_NAME.get(command)
    if entry is None or getattr(args, "yes", False):
        return
    from odatui.core.errors import UsageError

    for flag, why, hint in entry.needs_yes:  # checked first: the flag's own reason, at a terminal too
        if getattr(args, flag, False):
            raise UsageError(why, hint=hint)
    if not entry.changes_tenant or sys.stdin.isatty():
        return
    raise UsageError(f"`odatui {command}` changes the tenant and there is no terminal to confirm at (stdin); "
                     "add --yes to run it unattended", hint="`odatui plan` shows what would change")


def _handler(command: str):
    module_name, func = HANDLERS[command].split(":")
    return getattr(importlib.import_module(module_name), func)


def _open_log():
    try:
        from odatui.core.log import setup_logging

        return setup_logging()
    except OSError as exc:
        print(f"odatui: cannot open the log file: {exc}", file=sys.stderr)
        return None


def logs_after_first_paint(command: str, args) -> bool:
    """The full-screen commands open the log file in the app's start-up worker, after the first paint (logging
    handlers, platformdirs and the log dir cost start-up time); every other command opens it first."""
    return command in ("wizard", "demo") and not getattr(args, "unattended", False)


def _wizard_args(argv: Sequence[str]):
    """`odatui` and `odatui demo` go straight to the wizard without building the parser: argparse is ~30 ms of
    the first paint, and these two have no options to parse."""
    from types import SimpleNamespace

    if list(argv) in ([], ["demo"]):
        return SimpleNamespace(command=argv[0] if argv else None, config=None, unattended=False)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """The entry point. A reader that goes away (`odatui status | head -1`) ends the command quietly with the
    conventional SIGPIPE exit, as `cat` or `git log` do: nothing more to say to a pipe nobody reads."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # buffered output to a closed pipe fails here, not in the interpreter's shutdown
        return code
    except BrokenPipeError:
        import os

        # Later flushes (at exit) must not fail again: point stdout at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_SIGPIPE


_FILE_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EDQUOT, errno.EROFS,
                          errno.ENOTDIR, errno.ELOOP, errno.EISDIR, errno.EFBIG})


def _main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _wizard_args(argv) or build_parser().parse_args(argv)
    command = args.command or "wizard"
    from odatui.core.errors import OdatuiError

    log_path = None if logs_after_first_paint(command, args) else _open_log()
    if command != "serve":  # textual-serve stops itself on SIGTERM
        from odatui.core import signals

        signals.install()
    try:
        refuse_unconfirmed(command, args)
        return int(_handler(command)(args) or 0)
    except OdatuiError as exc:
        print(f"odatui: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        raise  # main() ends quietly
    except KeyboardInterrupt:
        from odatui.core import signals

        code = signals.exit_code()
        print(f"odatui: interrupted; the run state is kept — `odatui retry` or `odatui apply` resumes "
              f"({signals.received()}, exit {code})", file=sys.stderr)
        return code
    except Exception as exc:  # last line of defence: a readable line, the traceback only in the log
        import logging

        if isinstance(exc, OSError) and exc.filename is not None and exc.errno in _FILE_ERRNOS:
            # A file the admin named that the system refuses (a name too long, no permission, a full or read-only
            # disk) and no command caught itself: one line naming the file and why, exit 2 (bad input).
            print(f"odatui: cannot use {exc.filename}: {exc.strerror}; nothing was changed\n"
                  "  → choose another name or folder (or fix its permissions or free some disk space)",
                  file=sys.stderr)
            return EXIT_USAGE

        if log_path is None:  # the app failed before its start-up worker opened the log (or could not)
            log_path = _open_log()
        if log_path is not None:  # without a log file, the traceback would land on the terminal
            logging.getLogger("odatui").exception("unexpected error in %s", command)
        where = f" (details in {log_path})" if log_path else ""
        from odatui.core.log import redact

        print(f"odatui: unexpected error: {type(exc).__name__}: {redact(str(exc))}{where}", file=sys.stderr)
        return EXIT_FAILED
