"""The import contracts in pyproject.toml (drawn in docs/ARCHITECTURE.md), checked by import-linter's `lint-imports`:
layers over packages (the package root holds nothing but layer folders), no import cycle at any depth
(`acyclic_siblings`), and the forbidden and protected rules. import-linter finds the cycles; no test here does."""

from __future__ import annotations

import os
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


def contracts() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]


def run(config: dict, tmp_path: Path, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "importlinter.toml"
    path.write_text(tomli_w.dumps({"tool": {"importlinter": config}}))
    return subprocess.run([lint_imports(), str(path), "--no-cache"], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def test_the_contracts_in_pyproject_are_kept():
    """The pyproject section itself, every contract, with no arguments: what CI runs."""
    done = subprocess.run([lint_imports(), "--no-cache"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Contracts: {len(contracts()['contracts'])} kept, 0 broken." in done.stdout


def test_the_house_is_layers_over_packages_with_no_cycle():
    found = contracts()["contracts"]
    top = [c for c in found if c["type"] == "layers" and c.get("containers") == ["odatui"]]
    assert top and top[0].get("exhaustive") is True, "one layers contract over odatui's packages, exhaustive"
    assert any(c["type"] == "acyclic_siblings" and "odatui" in c["ancestors"] for c in found)


def test_the_package_root_holds_only_layer_folders():
    root = REPO / "odatui"
    assert sorted(p.name for p in root.glob("*.py")) == ["__init__.py", "__main__.py"]
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert all((root / f / "__init__.py").exists() for f in folders), folders


def test_a_broken_contract_is_reported(tmp_path):
    """The checker really looks: a rule the code breaks on purpose (config imports errors) fails."""
    config = contracts()
    config["contracts"] = [{"name": "canary", "type": "forbidden", "source_modules": ["odatui.core.config"],
                            "forbidden_modules": ["odatui.core.errors"]}]
    done = run(config, tmp_path)
    assert done.returncode != 0
    assert "canary BROKEN" in done.stdout


def test_an_import_cycle_is_reported(tmp_path):
    """The acyclic rule really looks: two modules that import each other, deep in a package, break it."""
    sub = tmp_path / "loopy" / "inner"
    sub.mkdir(parents=True)
    (tmp_path / "loopy" / "__init__.py").write_text("")
    (sub / "__init__.py").write_text("")
    (sub / "a.py").write_text("from loopy.inner import b\n")
    (sub / "b.py").write_text("def f():\n    from loopy.inner import a  # inside a function: still a loop\n")
    config = {"root_package": "loopy", "contracts": [
        {"name": "canary", "type": "acyclic_siblings", "ancestors": ["loopy"]}]}
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    done = run(config, tmp_path, cwd=tmp_path, env=env)
    assert done.returncode != 0, done.stdout
    assert "canary BROKEN" in done.stdout and "loopy.inner" in done.stdout

# --- the house rules import-linter cannot state (issue 25): no mixin, no module that only re-exports ---------------
# DEBT names today's offenders and the room that removes each; an offender not listed fails, and so does a listed one
# that is gone (remove its line). Issue 25 is done when DEBT is empty.
import ast as _ast

ODATUI = REPO / "odatui"
_DATA_BASES = {"Protocol", "TypedDict", "NamedTuple", "BaseModel", "BaseSettings", "Table", "Message", "Event", "Enum"}


def _assigned_on_self(cls: _ast.ClassDef) -> set[str]:
    names: set[str] = set()
    for node in _ast.walk(cls):
        targets = node.targets if isinstance(node, _ast.Assign) else (
            [node.target] if isinstance(node, (_ast.AnnAssign, _ast.AugAssign)) and node.value is not None else [])
        for target in targets:
            for sub in _ast.walk(target):
                if isinstance(sub, _ast.Attribute) and isinstance(sub.value, _ast.Name) and sub.value.id == "self":
                    names.add(sub.attr)
    return names


def house_offences() -> set[str]:
    trees = {p: _ast.parse(p.read_text()) for p in sorted(ODATUI.rglob("*.py"))}
    ours = {n.name for t in trees.values() for n in _ast.walk(t) if isinstance(n, _ast.ClassDef)}
    found: set[str] = set()
    for path, tree in trees.items():
        rel = path.relative_to(REPO).as_posix()
        for cls in [n for n in _ast.walk(tree) if isinstance(n, _ast.ClassDef)]:
            bases = [_ast.unparse(b).split("[")[0].split(".")[-1] for b in cls.bases]
            mine = [b for b in bases if b in ours]
            if len(mine) >= 2:
                found.add(f"{rel} {cls.name}: built from {len(mine)} odatui classes")
            decorated = any("dataclass" in _ast.unparse(d) for d in cls.decorator_list)
            if decorated or set(bases) & _DATA_BASES:
                continue
            declared = [n.target.id for n in cls.body if isinstance(n, _ast.AnnAssign) and n.value is None
                        and isinstance(n.target, _ast.Name) and "ClassVar" not in _ast.unparse(n.annotation)]
            if [name for name in declared if name not in _assigned_on_self(cls)]:
                found.add(f"{rel} {cls.name}: declares attributes another class sets (a mixin)")
        body = [n for n in tree.body if not (isinstance(n, _ast.Expr) and isinstance(n.value, _ast.Constant))]
        ours_imported = {a.asname or a.name for n in body if isinstance(n, _ast.ImportFrom)
                         and (n.module or "").startswith("odatui") for a in n.names}
        exported: set[str] = set()
        other = []
        for n in body:
            if isinstance(n, (_ast.Import, _ast.ImportFrom)):
                continue
            if isinstance(n, _ast.Assign) and any(isinstance(t, _ast.Name) and t.id == "__all__" for t in n.targets):
                exported = {e.value for e in getattr(n.value, "elts", []) if isinstance(e, _ast.Constant)}
            elif not (isinstance(n, _ast.Assign) and isinstance(n.value, _ast.Name)):
                other.append(n)
        if ours_imported and not other:
            found.add(f"{rel}: only re-exports")
        elif exported & ours_imported:
            found.add(f"{rel}: __all__ re-exports imported names")
        if any(isinstance(n, _ast.FunctionDef) and n.name == "__getattr__" for n in body):
            found.add(f"{rel}: lazy re-exports (module __getattr__)")
        if any("noqa: F401" in line and "odatui" in line for line in path.read_text().splitlines()):
            found.add(f"{rel}: re-export import (noqa: F401)")
    return found


DEBT: dict[str, str] = {
}


def test_no_mixin_and_no_re_export_beyond_the_listed_debt():
    found = house_offences()
    assert not found - set(DEBT), "new mixin or re-export:\n" + "\n".join(sorted(found - set(DEBT)))
    assert not set(DEBT) - found, "fixed (remove from DEBT):\n" + "\n".join(sorted(set(DEBT) - found))
