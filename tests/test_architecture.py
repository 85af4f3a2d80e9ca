"""The import contracts in pyproject.toml (DESIGN.md's layering rules), checked by import-linter's `lint-imports`.

Modules named in a contract that have not landed yet are left out of that contract (and reported), so the check
is useful from the first commit on instead of failing with "module does not exist"."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import tomli_w

REPO = Path(__file__).resolve().parents[1]


def lint_imports() -> str:
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    if exe is None:
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    return exe


def exists(module: str) -> bool:
    if not module.startswith("odatui"):
        return True  # external (textual, httpx): always part of the graph
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def contracts_for_what_exists() -> tuple[dict, list[str]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    left_out: list[str] = []
    kept = []
    for contract in config["contracts"]:
        contract = dict(contract)
        for key in ("source_modules", "forbidden_modules"):
            present = [m for m in contract[key] if exists(m)]
            left_out += [f"{contract['name']}: {m}" for m in contract[key] if m not in present]
            contract[key] = present
        if contract["source_modules"] and contract["forbidden_modules"]:
            kept.append(contract)
    return {**config, "contracts": kept}, left_out


def run(config: dict, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "importlinter.toml"
    path.write_text(tomli_w.dumps({"tool": {"importlinter": config}}))
    return subprocess.run([lint_imports(), "--config", str(path), "--no-cache"], capture_output=True, text=True,
                          cwd=REPO, timeout=300)


def test_layering_contracts_are_kept(tmp_path):
    config, left_out = contracts_for_what_exists()
    if left_out:
        print("not checked yet (modules missing):", *left_out, sep="\n  ")
    assert config["contracts"], "no contract has all its modules yet"
    done = run(config, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(config['contracts'])} kept, 0 broken." in done.stdout


def test_the_contracts_in_pyproject_run_as_written(tmp_path):
    """The pyproject section itself is usable by `lint-imports` with no arguments, once every module exists."""
    _, left_out = contracts_for_what_exists()
    if left_out:
        pytest.skip("modules named in the contracts have not landed: " + "; ".join(left_out))
    done = subprocess.run([lint_imports(), "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_broken_contract_is_reported(tmp_path):
    """The checker really looks: a rule the code breaks on purpose (config imports errors) fails."""
    config, _ = contracts_for_what_exists()
    config["contracts"] = [{"name": "canary", "type": "forbidden", "source_modules": ["odatui.config"],
                            "forbidden_modules": ["odatui.errors"]}]
    done = run(config, tmp_path)
    assert done.returncode != 0
    assert "canary BROKEN" in done.stdout
