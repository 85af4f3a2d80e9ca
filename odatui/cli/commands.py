"""THE one source of every command's words: `odatui --help`, `odatui COMMAND --help` and the README's "Commands"
table are generated from COMMANDS (tests/test_cli_help.py compares the README with `readme_table()`).

To add a command: one `Command` entry here (its handler, summary, description, examples, and whether it changes a
tenant), and its flags in `odatui.cli.main.build_parser`; then `python scripts/readme_commands.py --write` rewrites the
README's table (without --write it exits 1 and prints the table when the README is out of date).

A command with `changes_tenant=True` gets `--yes` from the parser builder and the one rule that goes with it: with
stdin not a terminal and no `--yes`, it exits 2 before any request (terraform's -auto-approve habit). Flags added
to such a command later (e.g. a wave to advance) inherit the rule without code of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Command:
    name: str
    handler: str  # "module:function"; the function takes the parsed args and returns an exit code
    summary: str  # one line: `odatui --help` and the README table's "does" column
    description: str = ""  # `odatui NAME --help`
    examples: tuple[str, ...] = ()
    changes_tenant: bool = False  # needs --yes without a terminal (exit 2)
    # Flags that need --yes even at a terminal, with why: (args attribute, the refusal, its hint). Checked by the
    # same rule as changes_tenant (odatui.cli.main.refuse_unconfirmed), before any request.
    needs_yes: tuple[tuple[str, str, str], ...] = ()
    readme_usage: str = ""  # the README's synopsis when it differs from the parser's (e.g. the bare wizard)
    extra_rows: tuple[tuple[str, str], ...] = field(default=())  # more README rows: (synopsis, does)


COMMANDS: tuple[Command, ...] = (
    Command("wizard", "odatui.tui.launch:run_wizard", "the wizard for the config at `--config FILE` or the default "
            "config path", readme_usage="odatui"),
    Command("demo", "odatui.cli.demo:run_demo", "the wizard (or a headless run) against the embedded sandbox",
            "The whole wizard against the embedded Okta and Workspace ONE emulators: no tenant, keychain or network "
            "needed. Nothing real is changed.",
            ("odatui demo", "odatui demo --unattended    # the whole plan headless, one line per event")),
    Command("plan", "odatui.cli.runner:cmd_plan", "what each step would do (`create`, `update`, `replace`, `none`), with "
            "readiness warnings; changes nothing (`--json`: one object per step with `id`, `change`, `summary`, "
            "`warnings`, `notes`)",
            "Read both tenants and show what each step would create, update, replace or leave alone. Changes "
            "nothing.",
            ("odatui plan", "odatui plan --config ~/rollouts/berlin.toml", "odatui plan --json | jq '.[].warnings'")),
    Command("apply", "odatui.cli.runner:cmd_apply", "run the plan unattended",
            "Run the plan without the wizard. Without --yes it shows the plan and asks on the terminal; when stdin "
            "is not a terminal (cron, CI, a pipe) it refuses (exit 2) unless --yes is given. Resumes an interrupted "
            "run. With [[rollout.waves]] it goes as far as the wave gates allow and says why it stopped (exit 0); "
            "--advance-wave NAME opens one gate by hand, recorded in the run state.",
            ("odatui apply --config answers.toml", "odatui apply --yes --config answers.toml",
             "odatui apply --yes --only ws1.profile", "odatui apply --yes --from ws1.upload",
             "odatui apply --advance-wave 'Okta PSSO Macs' --yes"),
            changes_tenant=True,
            # A downgrade uninstalls Okta Verify from the Macs before the older one installs (ws1 upload's
            # DOWNGRADE_ON_MACOS): it is asked for in writing, never answered at a prompt by habit.
            needs_yes=(("allow_downgrade",
                        "--allow-downgrade needs --yes: on macOS a downgrade removes Okta Verify from the Macs and "
                        "installs the older one (FastPass and Desktop MFA stop in between), or does nothing",
                        "`odatui plan` with the older package shows the steps; then `odatui apply --allow-downgrade "
                        "--yes`"),)),
    Command("waves", "odatui.cli.waves:cmd_waves", "per wave: Macs, eligible Macs, Okta Verify installed, profile "
            "installed, registered, failing, and the gate's state with its reason (read live)",
            "Per wave: Macs, eligible Macs (Apple silicon at or above the floor), Okta Verify installed, profile "
            "installed, registered, failing, and the gate's state with its reason. Read live, bulk listings only.",
            ("odatui waves", "odatui waves --json | jq '.waves[] | {wave, gate, reason}'")),
    Command("remove", "odatui.cli.remove:cmd_remove", "plan, then remove what odatui created for this target (never an "
            "Okta Verify version that carries another admin's rule; nothing that lacks odatui's marker; `--recover`: "
            "the run state is damaged or gone, find what odatui made by its marker in the tenant)",
            "List what odatui created for this target (the WS1 profile, its assignment rules, the app, smart groups "
            "it made, the Okta group assignments it added), then remove them after you confirm. Objects odatui "
            "found already there stay unless --include-adopted. Each object is read back first and removed only "
            "when it carries odatui's marker for this target. --recover rebuilds a damaged or lost run state's list "
            "from those markers. Safe to run again; resumes after an interruption.",
            ("odatui remove --config answers.toml", "odatui remove --yes --config answers.toml",
             "odatui remove --yes --include-adopted", "odatui remove --recover"),
            changes_tenant=True),
    Command("retry", "odatui.cli.runner:cmd_retry", "re-run the steps that failed last time, and those the live tenant "
            "no longer agrees with (stale)",
            "Run again the steps that failed in the last run of this target, and the steps they held back. Without "
            "a terminal it needs --yes (exit 2 otherwise), as apply.",
            ("odatui retry --config answers.toml", "odatui retry --yes --config answers.toml"),
            changes_tenant=True),
    Command("status", "odatui.cli.status:cmd_status", "last run per step, checked against the live tenant (a success it "
            "no longer holds shows as `stale`; offline, says it is unchecked), rollout status; "
            "`rollout.dps_registrations`: Desktop Password Sync registrations of the rollout's users (Okta System "
            "Log), apart from `okta_verify_macs`, the org-wide \"Macs registered with Okta Verify (any feature)\"; "
            "`--devices`: every Mac of the smart groups (every wave): macOS, user, profile / "
            "Okta Verify / SCEP certificate state, `reasons`",
            "The last run of this target, step by step (checked against the live tenant), and the rollout in the "
            "smart groups. --devices lists every Mac with its profile, Okta Verify and certificate state and the "
            "reasons it is not ready, from bulk listings (a few hundred requests for 50,000 Macs); --detail looks "
            "up per Mac what they leave undecided, within --max-requests.",
            ("odatui status", "odatui status --json | jq .steps", "odatui status --devices --filter failing",
             "odatui status --devices --json > macs.json",
             "odatui status --devices --detail --max-requests 2000")),
    Command("repush", "odatui.cli.devices:cmd_repush", "ask Workspace ONE to install the profile again on those Macs, "
            "only where a re-push can fix the reason (says which it skipped); a Mac whose profile status shows an "
            "install already queued (PendingInstall) is skipped; `--max N` pushes to at most N in this run",
            "Ask Workspace ONE to install the profile again on some Macs: those named with --device, or every Mac "
            "that `status --devices` lists as failing. Asks first unless --yes; without a terminal it needs --yes "
            "(exit 2 otherwise).",
            ("odatui repush --failing", "odatui repush --device 10021 10022 --yes",
             "odatui repush --failing --max 500 --yes"),
            changes_tenant=True),
    Command("export", "odatui.cli.export:cmd_export", "`.mobileconfig` files + WS1 Custom Settings fragments",
            "Write the Platform SSO .mobileconfig files (and WS1 Custom Settings fragments) for any MDM.",
            ("odatui export --out ~/psso-profiles",
             "odatui export --out out/ --sign-cert signer.pem --sign-key signer-key.pem")),
    Command("sandbox", "odatui.cli.sandbox:cmd_sandbox", "the Okta and Workspace ONE emulators in the foreground; "
            "`--write-config FILE` writes a config for them, and on a restart updates only its URLs, CA bundles and "
            "package in that file (your edits and comments stay); any other existing FILE is refused unless "
            "`--force`. `--split-hosts`: one port each for the Okta org, the WS1 API and its token service; with "
            "`--okta-auth service_app` the service app key (0600) stays next to the sandbox CA and the banner prints "
            "the `ODATUI_OKTA__PRIVATE_KEY` line to set",
            "Run the Okta and Workspace ONE emulators in the foreground, over HTTPS on 127.0.0.1, until Ctrl-C. "
            "--write-config FILE writes a config for them, a sample Okta Verify package and FILE's sibling "
            "<name>.secrets.sh (0600) with the demo credentials to source. On a restart, a FILE it wrote before "
            "keeps your edits and comments: only the URLs, CA bundles, package and service app id are updated. "
            "Any other existing FILE is refused (exit 2) unless --force.",
            ("odatui sandbox --port 8443 --write-config ~/sandbox.toml",
             ". ~/sandbox.secrets.sh && odatui plan --config ~/sandbox.toml",
             "odatui sandbox --fault-rate 0.2 --seed 7 --write-config ~/flaky.toml")),
    Command("secrets", "odatui.cli.secrets:cmd_secrets", "keychain entries; a private key must parse as one",
            "Store, delete or check the secrets odatui uses, in the OS keychain (never in the config file). "
            "Values are read without echo, from stdin or from a file, never from the command line.",
            ("odatui secrets status", "odatui secrets set okta.api_token",
             "odatui secrets set okta.private_key --from-file key.pem", "odatui secrets delete ws1.password")),
    Command("serve", "odatui.tui.launch:run_serve", "the wizard in a browser, bound to 127.0.0.1; open the `?token=` "
            "URL it prints once (every other request gets 403, see docs/SECURITY.md)",
            "The same wizard in a browser (textual-serve), on 127.0.0.1 only: reach it from elsewhere through an "
            "SSH tunnel.",
            ("odatui serve", "odatui serve --port 8010", "ssh -L 8000:127.0.0.1:8000 admin-host   # from your laptop")),
    Command("bundle", "odatui.cli.bundle:cmd_bundle", "support bundle: redacted config, this target's run state (every "
            "target's with `--all`), logs, versions",
            "A zip for support: the config with secrets removed, the run state of this target (every target with "
            "--all), the logs (redacted) and versions.",
            ("odatui bundle --out support.zip", "odatui bundle --out support.zip --config answers.toml",
             "odatui bundle --out everything.zip --all")),
    Command("config", "odatui.cli.config:cmd_config", "where the answers file lives (`--config`'s, or the default)",
            "Where the answers (config) file lives: the one given with --config, or the default in the user "
            "config folder. Printed alone on stdout.",
            ("odatui config path", "${EDITOR:-vi} \"$(odatui config path)\"")),
)

BY_NAME = {c.name: c for c in COMMANDS}
YES_HELP = "don't ask for confirmation (needed when stdin is not a terminal)"
README_BEGIN = "<!-- commands: generated by `python scripts/readme_commands.py --write` from odatui/cli/commands.py -->"
README_END = "<!-- /commands -->"


def synopsis(parser, name: str) -> str:
    """`odatui NAME [--flag X]…` from the parser itself: a flag added to the parser shows up in the README."""
    import argparse

    command = BY_NAME[name]
    if command.readme_usage:
        return command.readme_usage
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]
    formatter = argparse.HelpFormatter(f"odatui {name}", width=10_000)
    actions = [a for a in sub._actions if a.help is not argparse.SUPPRESS and a.dest not in ("help", "config")]
    formatter.add_usage(None, actions, [], prefix="")
    return re.sub(r"\s+", " ", formatter.format_help()).strip()


def readme_table(parser) -> str:
    """The README's "Commands" table; `parser` is odatui.cli.main.build_parser()'s."""
    rows = [README_BEGIN, "| command | does |", "|---|---|"]
    for command in COMMANDS:
        usage = synopsis(parser, command.name).replace("|", "\\|")
        rows.append(f"| `{usage}` | {command.summary} |")
        rows += [f"| `{u}` | {d} |" for u, d in command.extra_rows]
    rows.append(README_END)
    return "\n".join(rows)


def readme_section(text: str) -> str | None:
    """The generated table as it stands in the README text (None when its markers are missing)."""
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        return None
    return text[begin:end + len(README_END)]
