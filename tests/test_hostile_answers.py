"""Hostile servers (or a compromised proxy): answers that never end, inflate, or hold a million devices. odatui reads
every answer through one capped, streaming reader (odatui.core.http_body) and stops with one line naming the limit,
in bounded memory. Served by the sandbox's hostile fault kinds over real HTTPS."""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pytest
from rollout import REPO, demo_factory  # noqa: F401 - demo_factory is a fixture

from odatui.core.http import ssl_context

PEAK_RSS_LIMIT_MB = 300

# Runs odatui in a grandchild and prints that process's peak RSS (KiB on Linux) on the last stderr line, so the
# figure is odatui's alone (not the test runner's, nor an earlier child's).
MEASURE = ("import resource, subprocess, sys\n"
           "run = subprocess.run([sys.executable, '-m', 'odatui', *sys.argv[1:]], stdin=subprocess.DEVNULL)\n"
           "print(f'PEAK_KB {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr)\n"
           "sys.exit(run.returncode)\n")


def measured(*args: str) -> tuple[int, str, str, float]:
    run = subprocess.run([sys.executable, "-c", MEASURE, *args], cwd=REPO, capture_output=True, text=True,
                         timeout=240, stdin=subprocess.DEVNULL)
    lines = run.stderr.splitlines()
    peak_mb = int(lines[-1].split()[1]) / 1024
    return run.returncode, run.stdout, "\n".join(lines[:-1]), peak_mb


def fault(session, rule: dict) -> None:
    with httpx.Client(verify=ssl_context(str(session.sandbox.ca_path)), timeout=10) as c:
        c.post(f"{session.sandbox.url}/_sandbox/faults", json=rule).raise_for_status()


@pytest.fixture
def rolled_out(demo_factory, sandbox_env):  # noqa: F811
    session = demo_factory(devices=20, seed=3)
    run = subprocess.run([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(session.config_path)],
                         cwd=REPO, capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stdout + run.stderr
    return session


@pytest.mark.parametrize("kind,limit", [("endless", "8 MiB"), ("gzip-bomb", "8 MiB"), ("huge-json", "8 MiB"),
                                        ("million-devices", "8 MiB")])
def test_a_hostile_device_listing_ends_in_one_line_naming_the_limit_in_bounded_memory(rolled_out, kind, limit):
    fault(rolled_out, {"method": "GET", "path": "/api/mdm/devices/search", "fault": kind, "times": None})
    code, out, err, peak_mb = measured("status", "--devices", "--json", "--config", str(rolled_out.config_path))
    said = out + err
    print(f"\n{kind}: exit {code}, peak RSS {peak_mb:.0f} MB\n{said}")
    assert code != 0 and "Traceback" not in said and "unexpected error" not in said, said
    lines = [ln for ln in said.splitlines() if f"{limit} limit for one answer" in ln]
    assert lines, said
    assert peak_mb < PEAK_RSS_LIMIT_MB, f"{kind}: {peak_mb:.0f} MB"


def test_a_smart_group_member_list_of_a_million_is_refused_by_its_own_limit(rolled_out):
    fault(rolled_out, {"method": "GET", "path": "/api/mdm/smartgroups/[0-9]+/devices", "fault": "million-devices",
                       "times": None})
    code, out, err, peak_mb = measured("status", "--json", "--config", str(rolled_out.config_path))
    print(f"\nmember list of 10^6: exit {code}, peak RSS {peak_mb:.0f} MB")
    said = out + err
    assert "24 MiB limit for one answer" in said and "Traceback" not in said, said
    assert peak_mb < PEAK_RSS_LIMIT_MB
