"""The one benchmark command: run every `benchmarks/bench_*.py`, print one table, write docs/PERFORMANCE.md.

    python -m benchmarks.run [--quick] [--only NAME ...] [--no-write]

The three fleet-scale goals (status --devices at 50,000 Macs, the wizard's device table, --detail within
--max-requests) are one module: `python -m benchmarks.run --only devices` re-runs exactly them.

Each module exposes `run() -> list[dict]` (rows `{name, value, unit, target}`, optionally `better` = "lower" |
"higher", `ratio`, `note`). It runs in its own Python process, so one module's memory (peak-RSS figures), threads
or crash cannot touch the next; a module that fails becomes an "error: …" row, never a crash of the whole run.
`--quick` sets ODATUI_BENCH_QUICK=1 and passes `quick=True` to a `run()` that accepts it (smaller sizes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import inspect
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO / "benchmarks"
PERFORMANCE_MD = REPO / "docs" / "PERFORMANCE.md"
# Every module's last rows with the commit, time and machine load they were measured at: `--only NAME` re-measures
# those modules and keeps the others' figures (each still labelled with its own commit and load).
RESULTS_JSON = REPO / "docs" / "performance.json"
NOTES_MD = BENCH_DIR / "NOTES.md"  # hand-written notes appended to PERFORMANCE.md on every write
README = REPO / "README.md"
README_START, README_END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
QUICK_ENV = "ODATUI_BENCH_QUICK"
MARKER = "@@odatui-bench-rows@@ "
MODULE_TIMEOUT = 1800.0  # seconds; a 1 GB upload on a slow disk is the long one


def discover() -> list[str]:
    """Module short names (`upload` for bench_upload.py), sorted."""
    return sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))


# ------------------------------------------------------------------------------------------ child: one module


def _child(name: str, quick: bool) -> int:
    """Import one bench module, call run(), print its rows as one marked JSON line on stdout."""
    sys.path.insert(0, str(REPO))
    try:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        run = getattr(module, "run", None)
        if not callable(run):
            raise TypeError(f"benchmarks/bench_{name}.py has no run() -> list[dict]")
        params = inspect.signature(run).parameters
        takes_quick = "quick" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())
        rows = run(quick=quick) if takes_quick else run()
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise TypeError(f"run() returned {type(rows).__name__}, not a list of dicts")
    except BaseException as exc:  # report it as a row; the traceback goes to stderr for the curious
        import traceback

        traceback.print_exc()
        message = f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:200]
        rows = [{"name": name, "value": f"error: {message}", "unit": "", "target": None}]
    sys.stdout.flush()
    print("\n" + MARKER + json.dumps(rows, default=str), flush=True)
    return 0


def run_module(name: str, quick: bool, timeout: float = MODULE_TIMEOUT) -> tuple[list[dict[str, Any]], float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    if quick:
        env[QUICK_ENV] = "1"
    else:
        env.pop(QUICK_ENV, None)
    cmd = [sys.executable, "-m", "benchmarks.run", "--child", name] + (["--quick"] if quick else [])
    started = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [_error_row(name, f"timed out after {timeout:.0f} s")], time.perf_counter() - started
    took = time.perf_counter() - started
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                return [_normalise(r, name) for r in json.loads(line[len(MARKER):])], took
            except ValueError:
                break
    tail = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}, no rows"])[-1]
    return [_error_row(name, tail[:200])], took


def _error_row(name: str, message: str) -> dict[str, Any]:
    return {"name": name, "value": f"error: {message}", "unit": "", "target": None, "module": name}


def _normalise(row: dict[str, Any], module: str) -> dict[str, Any]:
    out = dict(row)
    out.setdefault("name", module)
    out.setdefault("value", None)
    out.setdefault("unit", "")
    out.setdefault("target", None)
    out["module"] = module
    return out


# ------------------------------------------------------------------------------------------ judging a row

_TARGET = re.compile(r"^\s*(<=|≤|<|>=|≥|>|=)?\s*(-?\d+(?:\.\d+)?)")


def judge(row: dict[str, Any]) -> tuple[str, str]:
    """(ratio, verdict) for a row. A numeric target is a bound: ≤ unless `better` is "higher";
    a string target may carry its own operator ("< 100", "≥ 0.8"). No target: informational."""
    value, target = row.get("value"), row.get("target")
    if isinstance(value, str) and value.startswith("error"):
        return "", "ERROR"
    if not isinstance(value, (int, float)) or isinstance(value, bool) or target in (None, ""):
        ratio = row.get("ratio")
        return (_fmt(ratio) + "×" if isinstance(ratio, (int, float)) else ""), "info"
    higher = str(row.get("better", "lower")).lower() == "higher"
    if isinstance(target, (int, float)):
        op, bound = (">=" if higher else "<="), float(target)
    else:
        m = _TARGET.match(str(target))
        if not m:
            return "", "info"
        op = {"≤": "<=", "≥": ">=", None: ">=" if higher else "<="}.get(m.group(1), m.group(1))
        bound = float(m.group(2))
    ok = {"<=": value <= bound, "<": value < bound, ">=": value >= bound, ">": value > bound,
          "=": value == bound}[op]
    ratio = row.get("ratio")
    if not isinstance(ratio, (int, float)):
        ratio = value / bound if bound else None
    return (_fmt(ratio) + "×" if ratio is not None else ""), ("ok" if ok else "MISS")


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return "" if v is None else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 0.01 or a == 0:
        return f"{v:.2f}"
    return f"{v:.3g}"


def _target_text(row: dict[str, Any]) -> str:
    target = row.get("target")
    if target in (None, ""):
        return "—"
    if isinstance(target, (int, float)):
        op = "≥" if str(row.get("better", "lower")).lower() == "higher" else "≤"
        return f"{op} {_fmt(target)}"
    return str(target)


def table_rows(rows: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for row in rows:
        ratio, verdict = judge(row)
        value = row.get("value")
        out.append([str(row.get("name", "")), _fmt(value) if not isinstance(value, str) else value,
                    str(row.get("unit") or ""), _target_text(row), ratio, verdict])
    return out


HEADERS = ["benchmark", "value", "unit", "target", "ratio", "verdict"]


def text_table(rows: list[dict[str, Any]]) -> str:
    body = table_rows(rows)
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(HEADERS)]
    widths = [min(w, 70) for w in widths]

    def line(cells: list[str]) -> str:
        return "  ".join((c if len(c) <= 70 else c[:67] + "…").ljust(w) for c, w in zip(cells, widths)).rstrip()

    return "\n".join([line(HEADERS), line(["-" * w for w in widths]), *(line(r) for r in body)])


def markdown_table(rows: list[dict[str, Any]]) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in table_rows(rows)]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ the machine


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except (OSError, ValueError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "CPU": cpu,
        "cores": f"{usable} usable of {os.cpu_count()}",
        "memory": memory,
        "OS": platform.platform(),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "odatui": _odatui_version(),
    }


def _odatui_version() -> str:
    try:
        from odatui import __version__
    except Exception:
        __version__ = "?"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                                timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{__version__}" + (f" (commit {commit})" if commit else "")


def _descriptions(names: list[str]) -> dict[str, str]:
    """First docstring line of each module, read without importing it."""
    import ast

    out = {}
    for name in names:
        try:
            doc = ast.get_docstring(ast.parse((BENCH_DIR / f"bench_{name}.py").read_text(encoding="utf-8"))) or ""
        except (OSError, SyntaxError):
            doc = ""
        out[name] = " ".join(doc.strip().split("\n\n")[0].split())
    return out


def load_results() -> dict[str, Any]:
    try:
        data = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and isinstance(data.get("modules"), dict) else {"modules": {}}
    except (OSError, ValueError):
        return {"modules": {}}


def record(results: dict[str, Any], name: str, rows: list[dict[str, Any]], *, took: float, quick: bool,
           load: tuple[float, float], when: dt.datetime) -> None:
    results["modules"][name] = {"rows": rows, "seconds": round(took, 1), "quick": quick,
                                "when": when.strftime("%Y-%m-%d %H:%M UTC"), "commit": _commit(),
                                "load_before": round(load[0], 2), "load_after": round(load[1], 2)}


def performance_md(results: dict[str, Any], *, when: dt.datetime) -> str:
    info = machine()
    modules = results["modules"]
    names = [n for n in discover() if n in modules] + sorted(set(modules) - set(discover()))
    rows = [r for n in names for r in modules[n]["rows"]]
    loads = [m["load_before"] for m in modules.values()] + [m["load_after"] for m in modules.values()]
    parts = [
        "# odatui performance",
        "",
        "Written by `python -m benchmarks.run` — do not edit by hand; re-run it (notes: `benchmarks/NOTES.md`).",
        "Figures are measured against the embedded sandbox (real HTTPS on loopback), each module in its own process.",
        "`--only NAME` re-measures those modules and keeps the others' rows; each module below names the commit and",
        "the machine load it was measured at.",
        "",
        f"Last written {when.strftime('%Y-%m-%d %H:%M UTC')} on:",
        "",
        *(f"- **{k}**: {v}" for k, v in info.items()),
        f"- **load average (1 min) during the runs**: {min(loads):.1f}–{max(loads):.1f} on {info['cores']} cores"
        if loads else "",
        "",
        "## Results",
        "",
        markdown_table(rows),
        "",
        "`ratio` is value ÷ target; `ok` means the target holds, `MISS` that it does not, `info` a figure without a "
        "target, `ERROR` that the module failed (its message is in the value column).",
        "",
        "## What each module measures, and when it was measured",
        "",
    ]
    desc = _descriptions(names)
    for name in names:
        m = modules[name]
        parts.append(f"- `benchmarks/bench_{name}.py` ({m['seconds']:.1f} s; {m['when']}, commit {m['commit']}, load "
                     f"average {m['load_before']:.1f} before / {m['load_after']:.1f} after"
                     + ("; **quick sizes**" if m.get("quick") else "") + ")"
                     + (f": {desc[name]}" if desc.get(name) else ""))
    parts.append("")
    try:
        parts += ["", NOTES_MD.read_text(encoding="utf-8").rstrip(), ""]
    except OSError:
        pass
    return "\n".join(parts)


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              timeout=5).stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def update_readme(rows: list[dict[str, Any]], when: dt.datetime) -> bool:
    """Replace the figures between the README's benchmark markers, when the README has them."""
    try:
        text = README.read_text(encoding="utf-8")
    except OSError:
        return False
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        return False
    info = machine()
    block = (f"{README_START}\n_Measured {when.strftime('%Y-%m-%d')} on {info['CPU']} ({info['cores']} cores), "
             f"{info['OS']}, {info['Python']}; details in [docs/PERFORMANCE.md](docs/PERFORMANCE.md)._\n\n"
             f"{markdown_table(rows)}\n")
    README.write_text(text[:start] + block + text[end:], encoding="utf-8")
    return True


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (e.g. 100 MB instead of 1 GB)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these modules (upload, status, …)")
    parser.add_argument("--no-write", action="store_true", help="print the table; don't write docs/PERFORMANCE.md")
    parser.add_argument("--timeout", type=float, default=MODULE_TIMEOUT, help="seconds per module")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return _child(args.child, args.quick)

    available = discover()
    names = available
    if args.only:
        wanted = [n.removeprefix("bench_").removesuffix(".py") for n in args.only]
        unknown = [n for n in wanted if n not in available]
        if unknown:
            print(f"benchmarks: no module named {', '.join(unknown)}; available: {', '.join(available)}",
                  file=sys.stderr)
            return 2
        names = wanted

    rows: list[dict[str, Any]] = []
    results = load_results()
    started = time.perf_counter()
    for name in names:
        print(f"· {name} … (load average {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
        load_before = os.getloadavg()[0]
        module_rows, took = run_module(name, args.quick, args.timeout)
        record(results, name, module_rows, took=took, quick=args.quick, load=(load_before, os.getloadavg()[0]),
               when=dt.datetime.now(dt.timezone.utc))
        rows += module_rows
        for _, value, _, _, _, verdict in table_rows(module_rows):
            if verdict == "ERROR":
                print(f"  {name}: {value}", file=sys.stderr)
    print(text_table(rows))
    print(f"\n{len(names)} module(s) in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if not args.no_write:
        when = dt.datetime.now(dt.timezone.utc)
        PERFORMANCE_MD.parent.mkdir(parents=True, exist_ok=True)
        RESULTS_JSON.write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
        PERFORMANCE_MD.write_text(performance_md(results, when=when), encoding="utf-8")
        print(f"wrote {PERFORMANCE_MD.relative_to(REPO)} and {RESULTS_JSON.relative_to(REPO)}", file=sys.stderr)
        every = [r for m in results["modules"].values() for r in m["rows"]]
        if not args.quick and update_readme(every, when):
            print("updated the figures in README.md", file=sys.stderr)
    return 1 if any(judge(r)[1] == "ERROR" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
