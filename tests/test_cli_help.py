"""CLI habits an admin can trust (issue 26): one source for every command's words (the README's table is generated
from it and compared here), no abbreviated flags, and one rule for every command that changes a tenant: without a
terminal and without --yes it exits 2 before any request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from odatui.cli.main import build_parser
from odatui.cli.commands import COMMANDS, readme_section, readme_table

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


def test_plan_and_apply_give_one_exit_code_for_one_bad_secret(isolated_home, sandbox, sandbox_env, tmp_path):
    """A secret with an escape in it is refused input: exit 2 from `plan` as from `apply` (plan said 1)."""
    import tomli_w

    from odatui.sandbox.samplepkg import make_sample_pkg

    data = sandbox.config_dict()
    data["rollout"]["package"] = str(make_sample_pkg(tmp_path / "OktaVerify-9.52.0.pkg", version="9.52.0"))
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(data))
    env = {"ODATUI_OKTA__API_TOKEN": "abc\x1bdef"}
    plan = odatui("plan", "--config", str(config), env=env)
    apply = odatui("apply", "--yes", "--config", str(config), env=env)
    assert plan.returncode == apply.returncode == 2, (plan.stdout, apply.stdout)
    assert "escape character" in plan.stdout and "abc\x1bdef" not in plan.stdout + plan.stderr
    wrong = odatui("plan", "--config", str(config), env={"ODATUI_OKTA__API_TOKEN": "not-the-token"})
    assert wrong.returncode == 1  # a token the org refuses is a failed step, as in a run


def test_the_okta_scopes_are_written_once():
    """F1 on the Okta screen and the README list the same scopes the client asks for (F1 listed 2 of 5)."""
    from odatui.core.domain import OKTA_SCOPES
    from odatui.okta.client import SCOPES
    from odatui.tui.screens.okta import OktaScreen

    assert SCOPES == OKTA_SCOPES
    assert " ".join(OKTA_SCOPES) in " ".join(OktaScreen.HELP.split())
    assert " ".join(OKTA_SCOPES) in (REPO / "README.md").read_text(encoding="utf-8")


def test_every_field_label_fits_its_column():
    """Labels are drawn in an 18-column cell (app.tcss .field-label): a longer one ran into its value."""
    import ast

    for path in (REPO / "odatui" / "tui" / "screens").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("Field", "Choice") and node.args \
                    and isinstance(node.args[0], ast.Constant):
                assert len(node.args[0].value) <= 17, f"{path.name}: {node.args[0].value!r} is too long for 18 columns"


def test_status_prints_words_never_python_reprs():
    from odatui.cli.status import words

    shown = words({"smart_groups": [{"id": 4711, "name": "Okta PSSO Macs"}, {"id": 4712, "name": "Pilot"}],
                   "custom_domain": None, "manual": False, "group_ids": {"Mac Pilot": "00g1"}, "warnings": []})
    assert shown == ("smart groups Okta PSSO Macs (id 4711), Pilot (id 4712), custom domain none, manual no, "
                     "group ids Mac Pilot 00g1, warnings none")
    assert not set("{}[]'") & set(shown)


def test_the_readme_sandbox_route_works_after_its_own_venv_route():
    """The venv route installs into .venv without putting odatui on PATH: the sandbox route activates it first in
    each terminal it uses, before any bare `odatui`."""
    import re

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && .venv/bin/pip install -q ." in readme
    block = re.search(r"Or run the sandbox on its own.*?```sh\n(.*?)```", readme, re.S).group(1)
    lines = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    terminals = [lines[:2], lines[2:]]  # "in one terminal" (the sandbox), "in another" (plan, wizard)
    for commands in terminals:
        first_odatui = next(n for n, c in enumerate(commands) if re.search(r"(^|&& )odatui ", c))
        assert any(". .venv/bin/activate" in c for c in commands[:first_odatui + 1]), commands


def test_write_config_refuses_a_foreign_secrets_file_beside_it(tmp_path, isolated_home):
    secrets = tmp_path / "sandbox.secrets.sh"
    secrets.write_text("export MY_TOKEN=keep-me\n")
    done = odatui("sandbox", "--port", "0", "--write-config", str(tmp_path / "sandbox.toml"))
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(secrets) in done.stderr and "--force" in done.stderr
    assert secrets.read_text() == "export MY_TOKEN=keep-me\n" and not (tmp_path / "sandbox.toml").exists()
