"""CLI habits an admin can trust (issue 26): one source for every command's words (the README's table is generated
from it and compared here), no abbreviated flags, and one rule for every command that changes a tenant: without a
terminal and without --yes it exits 2 before any request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from odatui.cli import build_parser
from odatui.commands import COMMANDS, readme_section, readme_table

REPO = Path(__file__).resolve().parents[1]


def odatui(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odatui", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, **kw.pop("env", {})}, timeout=60, stdin=kw.pop("stdin", subprocess.DEVNULL),
                          **kw)


def test_the_readme_commands_table_is_the_generated_one():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert readme_section(readme) == readme_table(build_parser()), \
        "README's Commands table is out of date: run `python scripts/readme_commands.py --write`"


def test_every_flag_of_every_command_is_in_the_readme():
    """The table's synopsis comes from the parser: a flag someone adds shows up in the README (after --write)."""
    section = readme_section((REPO / "README.md").read_text(encoding="utf-8"))
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, command in sub.choices.items():
        for action in command._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag not in ("--help", "--config") and action.help != "==SUPPRESS==":
                    assert flag in section, f"{name} {flag} is missing from the README"


def test_command_help_is_the_same_words_as_the_source():
    for command in COMMANDS:
        if command.name == "wizard":
            continue
        done = odatui(command.name, "--help", env={"COLUMNS": "10000"})
        assert done.returncode == 0
        assert " ".join((command.description or command.summary).split()) in " ".join(done.stdout.split())
        for example in command.examples:
            assert example in done.stdout


@pytest.mark.parametrize("args, unknown", [
    (["apply", "--y"], "--y"), (["remove", "--inc"], "--inc"), (["status", "--dev"], "--dev"),
    (["sandbox", "--write", "x.toml"], "--write"), (["repush", "--fail", "--yes"], "--fail"),
])
def test_abbreviated_flags_are_unknown_options(args, unknown):
    done = odatui(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"unrecognized arguments: {unknown}" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("command", [c.name for c in COMMANDS if c.changes_tenant])
def test_every_tenant_changing_command_needs_yes_without_a_terminal(command, tmp_path):
    """The config points at a host nobody serves: a request made anyway would fail differently (exit 1 or 4)."""
    config = tmp_path / "answers.toml"
    config.write_text('[okta]\norg_url = "https://acme.okta.com"\n[ws1]\napi_url = "https://as1.awmdm.com"\n')
    extra = ["--failing"] if command == "repush" else []
    with open(os.devnull) as devnull:
        done = odatui(command, *extra, "--config", str(config), stdin=devnull)
    assert done.returncode == 2, done.stdout + done.stderr
    first = done.stderr.splitlines()[0]
    assert f"`odatui {command}` changes the tenant" in first and "--yes" in first
    assert done.stdout == "" and "Traceback" not in done.stderr


def test_tenant_changing_commands_are_declared_and_get_yes():
    declared = {c.name for c in COMMANDS if c.changes_tenant}
    assert {"apply", "remove", "repush", "retry"} <= declared
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in declared:
        assert "--yes" in sub.choices[name]._option_string_actions, name


def test_secrets_set_refuses_a_file_that_is_not_a_private_key(tmp_path, isolated_home):
    notes = tmp_path / "key.pem"
    notes.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    done = odatui("secrets", "set", "okta.private_key", "--from-file", str(notes))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "okta.private_key" in done.stderr and "Nothing was stored" in done.stderr
    assert "BEGIN CERTIFICATE" not in done.stderr + done.stdout and "Traceback" not in done.stderr
