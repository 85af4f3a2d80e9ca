"""Fleet scale by default: `status --devices` answers from bulk listings, a detailed look stays within
`--max-requests`, one rate limit paces every WS1 listing of a look, and a 429's Retry-After pauses all of them.
Against the sandbox over real HTTPS (the CLI in a child process, or the lister in-process)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from rollout import REPO, demo_factory, odatui_cli  # noqa: F401 - demo_factory is a fixture
from test_ws1_client import contract, make_client  # noqa: F401 - fixtures
from ws1_contract import admin, roll_out

from odatui.core.http import RetryPolicy, ssl_context
from odatui.sandbox.fleet import Fleet
from odatui.mdm.ws1.api.device_rows import OwnedProfile
from odatui.mdm.ws1.api.devices import DeviceLister
from odatui.mdm.ws1.api.pacing import Ws1RateLimit

PER_MAC = re.compile(r"/api/mdm/devices/\d+/(profiles|certificates)")


@pytest.fixture
def rolled_out(demo_factory, sandbox_env):
    session = demo_factory(devices=120, seed=5)
    run = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    with httpx.Client(verify=ssl_context(str(session.sandbox.ca_path)), timeout=10) as c:
        c.post(f"{session.sandbox.url}/_sandbox/ws1/clock", json={"advance_s": 3600}).raise_for_status()
    return session


def _ws1_requests(session, since: int) -> list[dict]:
    return [r for r in session.sandbox.world.requests[since:] if r["path"].startswith("/api/")]


def test_default_status_devices_answers_from_bulk_listings(rolled_out):
    session = rolled_out
    before = len(session.sandbox.world.requests)
    run = odatui_cli("status", "--devices", "--json", "--config", str(session.config_path))
    assert run.returncode == 0, run.stderr
    sent = _ws1_requests(session, before)
    assert not [r for r in sent if PER_MAC.fullmatch(r["path"])]  # not one per-Mac lookup
    doc = json.loads(run.stdout)
    summary = doc["summary"]
    members = session.sandbox.world.emulators["ws1"].fleet.members()
    assert summary["mode"] == "bulk" and summary["devices"] == len(members) == len(doc["devices"])
    # members, the profile, its INSTALLED and NOT_INSTALLED lists, the app's list, one device page
    assert len(sent) == summary["requests"] == 6
    installed = sum(1 for d in doc["devices"] if d["profile"] == "installed")
    pending = sum(1 for d in doc["devices"] if d["profile"] == "pending")
    assert installed and pending
    assert summary["undecided"] == {"certificate": installed, "profile": pending}
    assert {d["certificate"] for d in doc["devices"] if d["profile"] == "installed"} == {"unknown"}
    assert not [d for d in doc["devices"] if "profiles" in d]  # one profile: its column says it
    assert summary["by_group"] == {str(doc["summary"]["smart_groups"][0]): {
        "devices": len(members), "failing": summary["failing"], "profile_installed": installed,
        "okta_verify_installed": summary["okta_verify"].get("installed", 0)}}
    assert "left undecided" in run.stderr and "`--detail` looks them up" in run.stderr
    assert "device pages" not in run.stderr  # piped: no progress line


def test_max_requests_is_never_exceeded_and_the_rest_is_undecided(rolled_out):
    session = rolled_out
    before = len(session.sandbox.world.requests)
    run = odatui_cli("status", "--devices", "--json", "--max-requests", "20", "--config", str(session.config_path))
    assert run.returncode == 0, run.stderr
    sent = _ws1_requests(session, before)
    summary = json.loads(run.stdout)["summary"]
    assert len(sent) <= 20 and summary["max_requests"] == 20
    assert summary["mode"] == "detail" and summary["lookups"] == len([r for r in sent if PER_MAC.fullmatch(r["path"])])
    assert summary["lookups"] == 20 - 6  # all the budget the bulk listing left went to lookups, no more
    assert sum(summary["undecided"].values()) > 0
    assert "the budget of 20 requests is spent (14 per-Mac lookups made)" in run.stderr

    # A budget below what the bulk listing needs: one line with the fix, nothing sent past it.
    before = len(session.sandbox.world.requests)
    tiny = odatui_cli("status", "--devices", "--detail", "--max-requests", "3", "--config", str(session.config_path))
    assert tiny.returncode != 0 and "Traceback" not in tiny.stderr
    assert "request budget of 3 is spent" in tiny.stderr and "raise --max-requests" in tiny.stderr
    assert len(_ws1_requests(session, before)) <= 3

    bad = odatui_cli("status", "--devices", "--max-requests", "0", "--config", str(session.config_path))
    assert bad.returncode == 2 and "--max-requests must be at least 1" in bad.stderr


def test_device_ids_are_looked_up_in_full(rolled_out):
    session = rolled_out
    fleet = session.sandbox.world.emulators["ws1"].fleet
    chosen = [d.id for d in fleet.members()[:3]]
    before = len(session.sandbox.world.requests)
    run = odatui_cli("status", "--devices", "--json", "--device", *map(str, chosen), "--config",
                     str(session.config_path))
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert sorted(d["id"] for d in doc["devices"]) == sorted(chosen) and doc["summary"]["undecided"] == {}
    looked_up = {int(PER_MAC.fullmatch(r["path"]).group(0).split("/")[4])
                 for r in _ws1_requests(session, before) if PER_MAC.fullmatch(r["path"])}
    assert looked_up <= set(chosen)


def test_progress_line_on_a_terminal_only(rolled_out):
    """stderr a terminal: the progress line (pages, Macs judged), then cleared; stdout stays the rows."""
    import pty

    session = rolled_out
    master, slave = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "odatui", "status", "--devices", "--json", "--config",
                           str(session.config_path)], cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE,
                          stderr=slave, stdin=subprocess.DEVNULL, timeout=120)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    text = seen.decode(errors="replace")
    assert proc.returncode == 0
    assert re.search(r"odatui: device pages 1/1, \d+ Macs judged, \d+ with a reason", text), text
    assert "\r\x1b[K" in text  # drawn over, then cleared
    assert json.loads(proc.stdout)["summary"]["devices"] > 0


async def test_rate_limit_holds_in_any_window():
    limiter = Ws1RateLimit(5, window=0.4)
    starts: list[float] = []

    async def one() -> None:
        await limiter.wait_turn()
        starts.append(time.monotonic())

    began = time.monotonic()
    await asyncio.gather(*(one() for _ in range(12)))
    assert starts[-1] - began >= 0.8  # 12 starts at 5 per 0.4 s need two full windows
    for i, t in enumerate(starts):
        assert sum(1 for u in starts[i:] if u - t < 0.4 - 1e-3) <= 5


async def test_429_retry_after_pauses_every_listing_of_the_look(sandbox_factory, make_client, tmp_path):
    devices = 2500
    sb = sandbox_factory(devices=devices, seed=7)
    client = make_client(sb, policy=RetryPolicy())  # Retry-After as the server says, not a test's short cap
    # The app and two profiles (the Platform SSO one and a second one odatui owns) on the smart group.
    sg_id, app_id, (psso, second) = await roll_out(client, sb, tmp_path, profiles=("P", "Q"))
    # The first profile-status page is refused with Retry-After: 2 (WS1's 429, errorCode 1020).
    admin(sb, "/_sandbox/faults", [{"method": "GET", "path": "/api/mdm/profiles/.*/devices", "status": 429,
                                    "headers": {"Retry-After": "2"}, "times": 1,
                                    "body": {"errorCode": 1020, "message": "Too many requests, retry later."}}])
    before = len(sb.world.requests)
    rows: list = []
    lister = DeviceLister(client, [sg_id], og_id=570, macos_min=14, per_device=False, app_id=app_id,
                          profiles=[OwnedProfile("profile", psso), OwnedProfile("ws1.second", second)],
                          certificate_from="ws1.second")
    summary = await lister.run(lambda page, problems: rows.extend(page))

    members = Fleet(7, devices).members()
    assert summary.devices == len(rows) == len(members)  # the listing completed, the refused page retried
    log = [r for r in sb.world.requests[before:] if r["path"].startswith("/api/")]
    refused = [r for r in log if r["status"] == 429]
    assert len(refused) == 1
    t429 = refused[0]["time"]
    after = [r for r in log if r["time"] > t429]
    # Answered within the pause: only what was already on the wire when the 429 came back (the first pages of
    # the other listings); everything else, every listing's next page included, waited the 2 seconds.
    in_pause = [r for r in after if r["time"] < t429 + 1.9]
    assert len(in_pause) <= 4, [(r["path"], round(r["time"] - t429, 2)) for r in in_pause]
    assert len(after) - len(in_pause) >= 8  # and there was plenty left to hold back
    assert {r["path"].split("/")[3] for r in after if r["time"] >= t429 + 1.9} >= {"profiles", "devices"}
    # A second profile odatui owns is read in bulk too, and here judges the certificate column.
    assert all(set(r.profiles) == {"profile", "ws1.second"} for r in rows)
    assert all(r.certificate == r.profiles["ws1.second"] for r in rows)
    assert summary.by_group[sg_id]["devices"] == len(members)


def test_rate_limit_setting_is_checked_and_reaches_the_client():
    from test_config import bad, ws1
    from ws1_contract import sandbox_secrets

    from odatui.core.config import parse_config
    from odatui.mdm.ws1.api.client import Ws1Client

    bad(ws1(requests_per_minute=0), "ws1.requests_per_minute", "at least 1", "default is 1000")
    config = parse_config(ws1(api_url="https://as1.awmdm.com", username="a", requests_per_minute=120), source="t")
    client = Ws1Client.from_config(config.ws1, sandbox_secrets())
    assert client.requests_per_minute == 120
    assert parse_config({}, source="t").ws1.requests_per_minute == 1000  # Omnissa's Go SDK's default
