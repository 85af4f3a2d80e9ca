"""CLI basics: --help and --version work without loading Textual, httpx or pydantic; bad usage is exit 2 with one
readable line (plus its hint); the package installs into a fresh venv with a working `odatui` script."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from odatui import __version__

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("textual", "httpx", "pydantic", "pydantic_settings", "keyring")


def odatui(*args: str, python: str = sys.executable, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, *kw.pop("flags", []), "-m", "odatui", *args], capture_output=True, text=True,
                          cwd=REPO, env=os.environ.copy(), timeout=60, **kw)


def imported(stderr: str) -> set[str]:
    """Top-level packages named in `-X importtime` output."""
    names = set()
    for line in stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+\d+ \|\s*(\S+)", line)
        if m:
            names.add(m.group(1).split(".")[0])
    return names


def test_help_lists_every_command_and_loads_nothing_heavy():
    done = odatui("--help", flags=["-X", "importtime"])
    assert done.returncode == 0
    for command in ("demo", "plan", "apply", "retry", "status", "export", "sandbox", "secrets", "serve", "bundle"):
        assert command in done.stdout
    assert "Exit codes" in done.stdout
    loaded = imported(done.stderr)
    assert "odatui" in loaded  # the parser really ran
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_version_loads_nothing_heavy():
    done = odatui("--version", flags=["-X", "importtime"])
    assert done.returncode == 0
    assert done.stdout.strip() == f"odatui {__version__}"
    assert not imported(done.stderr) & set(HEAVY)


def test_subcommand_help_loads_nothing_heavy():
    done = odatui("apply", "--help", flags=["-X", "importtime"])
    assert done.returncode == 0 and "--only" in done.stdout and "--from" in done.stdout
    assert not imported(done.stderr) & set(HEAVY)


@pytest.mark.parametrize("args, says", [
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["plan", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["sandbox", "--port", "eighty"], "invalid int value: 'eighty'"),
    (["export"], "the following arguments are required: --out"),
    (["secrets", "rotate"], "invalid choice: 'rotate'"),
])
def test_bad_usage_is_exit_2_and_one_line(args, says):
    done = odatui(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert lines[0].startswith("odatui: ") and says in lines[0], done.stderr
    assert len(lines) == 2 and re.fullmatch(r"  → see `odatui( \w+)? --help`", lines[1]), done.stderr  # no usage dump
    assert "Traceback" not in done.stderr


def test_unknown_secret_name_is_exit_2():
    done = odatui("secrets", "set", "okta.apitoken", input="x")
    assert done.returncode == 2
    assert done.stderr.startswith("odatui: unknown secret 'okta.apitoken'") and "okta.api_token" in done.stderr
    assert "Traceback" not in done.stderr


def test_every_command_has_its_handler():
    from odatui.cli.main import HANDLERS, _handler

    for command in HANDLERS:
        assert callable(_handler(command)), command


def test_pip_install_into_a_fresh_venv_gives_a_working_odatui(tmp_path):
    pytest.importorskip("hatchling", reason="the build backend (hatchling) is needed to build without network")
    fresh = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True, timeout=120)
    # Dependencies come from the test venv (no network); odatui itself is built and installed for real.
    site = next((fresh / "lib").glob("python3*/site-packages"))
    (site / "deps-from-test-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(fresh / "bin" / "python"), "install",
                           "--no-deps", "--no-build-isolation", "--no-index", "-q", str(REPO)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    script = fresh / "bin" / "odatui"
    version = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.strip() == f"odatui {__version__}", version.stderr
    helped = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert helped.returncode == 0 and "secrets" in helped.stdout
    # It ran the installed copy, not the checkout.
    where = subprocess.run([str(fresh / "bin" / "python"), "-c", "import odatui; print(odatui.__file__)"],
                           capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert where.stdout.startswith(str(fresh))


def test_serve_on_a_busy_port_says_so_before_serving():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = odatui("serve", "--port", str(port))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"port {port} is taken" in done.stderr and "--port" in done.stderr
    assert "serving" not in done.stdout.lower() and "Traceback" not in done.stderr


def test_help_into_a_closed_pipe_ends_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)
    done = subprocess.run([sys.executable, "-m", "odatui", "plan", "--help"], stdout=write_end,
                          stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=60)
    os.close(write_end)
    assert done.returncode in (0, 141) and done.stderr == "", done.stderr


def test_every_command_help_has_a_description_and_examples():
    from odatui.cli.main import HANDLERS

    for command in HANDLERS:
        if command == "wizard":
            continue
        done = odatui(command, "--help")
        assert done.returncode == 0, command
        usage, _, rest = done.stdout.partition("\n\n")
        description = rest.split("\n\n")[0]
        assert len(description.split()) >= 8, f"{command}: no description in\n{done.stdout}"
        examples = done.stdout.split("examples:\n", 1)[1]
        assert f"odatui {command}" in examples, f"{command}: no example in\n{done.stdout}"


def test_config_path_prints_where_the_config_lives(tmp_path):
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    done = subprocess.run([sys.executable, "-m", "odatui", "config", "path"], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=60)
    assert done.returncode == 0 and done.stdout == f"{tmp_path / 'xdg' / 'odatui' / 'config.toml'}\n"
    assert "no file there yet" in done.stderr
    given = tmp_path / "berlin.toml"
    given.write_text("")
    done = subprocess.run([sys.executable, "-m", "odatui", "config", "path", "--config", str(given)],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=60)
    assert done.stdout == f"{given}\n" and done.stderr == ""
