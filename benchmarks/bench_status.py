"""Rollout status for 10,000 devices: `Ws1Client.rollout_status` against a sandbox fleet of 10,000 Macs with the app
and the profile assigned to the smart group. Reports requests made and wall time against the one-page bound
(the time of a single 500-device page request): paging concurrently should cost a few pages, not one per device.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

DEVICES = 10_000
ROUNDS = 5


async def _setup(client: Any, sandbox: Any, work: Path) -> tuple[int, int, int, str, int]:
    """The tenant after a rollout: app + AUTO assignment + Device profile on the smart group."""
    from odatui.macos.pkg import read_package
    from odatui.macos.pkginfo import pkginfo_plist
    from odatui.sandbox.samplepkg import make_sample_pkg
    from odatui.sandbox.credentials import WS1_GROUP_ID, WS1_SMART_GROUP

    og = await client.groups.find_org_group(WS1_GROUP_ID)
    sg = next(g for g in await client.groups.search_smart_groups(WS1_SMART_GROUP) if g.name == WS1_SMART_GROUP)
    pkg = make_sample_pkg(work / "OktaVerify-9.52.0.pkg", payload_size=64 * 1024)
    facts = read_package(pkg)
    app_blob = await client.apps.upload_blob(str(pkg), file_name=pkg.name, og_id=og.id, module_type="Application")
    info_blob = await client.apps.upload_blob(pkginfo_plist(facts, minimum_os=14), file_name="OktaVerify-9.52.0.plist",
                                         og_id=og.id)
    app_id = await client.apps.create_macos_app(og.id, app_blob_id=app_blob.id, pkginfo_blob_id=info_blob.id,
                                           version=facts.version, name="Okta Verify")
    app_uuid = (await client.apps.get_internal_app(app_id))["uuid"]
    await client.apps.put_assignment_rules(app_uuid, {"assignments": [{"priority": 0, "distribution": {
        "name": "Okta PSSO Macs", "smart_groups": [sg.uuid], "app_delivery_method": "AUTO"}}],
        "excluded_smart_groups": []})
    profile_id = await client.profiles.create_macos_profile({
        "General": {"Name": "Okta Platform SSO", "ProfileContext": "Device", "ManagedLocationGroupID": og.id,
                    "AssignmentType": "Auto", "AssignedSmartGroups": [{"SmartGroupId": sg.id}]},
        "CustomSettingsList": [{"CustomSettings": "<dict><key>PayloadType</key><string>com.okta.mobile</string>"
                                                  "</dict>"}],
    })
    profile_uuid = (await client.profiles.get_profile(profile_id))["General"]["ProfileUuid"]
    # Let the simulated fleet check in: most Macs install within minutes, the offline ones never do.
    import httpx

    from odatui.core.http import ssl_context

    with httpx.Client(verify=ssl_context(str(sandbox.ca_path)), timeout=10) as admin:
        admin.post(f"{sandbox.url}/_sandbox/ws1/clock", json={"advance_s": 3600}).raise_for_status()
    return sg.id, app_id, profile_id, profile_uuid, og.id


async def _measure(quick: bool, latency_ms: int = 0) -> list[dict[str, Any]]:
    from odatui.core.config import parse_config
    from odatui.sandbox.server import Sandbox, SandboxOptions
    from odatui.core.secrets import SecretStore
    from odatui.mdm.ws1.api.base import PAGE_CONCURRENCY, PAGE_SIZE
    from odatui.mdm.ws1.api.client import Ws1Client

    rounds = 3 if quick else ROUNDS
    with tempfile.TemporaryDirectory() as tmp, Sandbox(SandboxOptions(devices=DEVICES, seed=7, latency_ms=latency_ms)) as sandbox:
        env = Sandbox.secret_env()
        secrets = SecretStore(use_keychain=False, values={"ws1.password": env["ODATUI_WS1__PASSWORD"],
                                                          "ws1.tenant_code": env["ODATUI_WS1__TENANT_CODE"]})
        config = parse_config(sandbox.config_dict(), source="sandbox")
        async with Ws1Client.from_config(config.ws1, secrets) as client:
            sg_id, app_id, profile_id, profile_uuid, og_id = await _setup(client, sandbox, Path(tmp))

            # The bound: one full page of the profile's installed devices (the largest single answer).
            page_times = []
            for _ in range(rounds):
                t = time.perf_counter()
                await client.request("GET", f"/api/mdm/profiles/{profile_uuid}/devices", version=1, what="one page",
                                     params={"profilestatus": "INSTALLED", "page": 0, "pagesize": PAGE_SIZE})
                page_times.append(time.perf_counter() - t)
            one_page = statistics.median(page_times)

            walls, status = [], None
            for _ in range(rounds):
                t = time.perf_counter()
                status = await client.rollout.rollout_status(sg_id, app_id, profile_id, og_id=og_id)
                walls.append(time.perf_counter() - t)
            wall = statistics.median(walls)
    assert status is not None
    pages_min = 1 + 2 * -(-status.devices // PAGE_SIZE)  # members (one call) + profile and app listings
    if latency_ms:
        # With WAN-like latency the server's own time is small, so the ratio shows how many round trips the
        # client's paging needs: profile lookup → first pages → the rest, PAGE_CONCURRENCY at a time.
        rounds_bound = 2 + -(-(status.requests_made - 3) // PAGE_CONCURRENCY)
        return [
            {"name": f"status 10k @{latency_ms} ms: wall time", "value": round(wall * 1000, 1), "unit": "ms",
             "target": None},
            {"name": f"status 10k @{latency_ms} ms: wall ÷ one page", "value": round(wall / one_page, 2),
             "unit": "×", "target": None,
             "note": f"{status.requests_made} requests, {PAGE_CONCURRENCY} in flight: about {rounds_bound} round "
                     "trips on the client's critical path; the rest is the emulator building the pages one after "
                     "another on one core (it shares this process)"},
        ]
    return [
        {"name": "status 10k: devices in smart group", "value": status.devices, "unit": "devices", "target": None,
         "note": f"profile installed {status.profile_installed}, app installed {status.app_installed}"},
        {"name": "status 10k: requests made", "value": status.requests_made, "unit": "requests",
         "target": pages_min + 2, "note": f"{pages_min} pages of {PAGE_SIZE} + profile lookup"},
        {"name": "status 10k: wall time", "value": round(wall * 1000, 1), "unit": "ms", "target": None},
        {"name": "status 10k: one-page bound", "value": round(one_page * 1000, 1), "unit": "ms", "target": None},
        {"name": "status 10k: wall ÷ one page", "value": round(wall / one_page, 2), "unit": "×",
         "target": None, "note": f"median of {rounds}; no latency: the sandbox builds each page in Python on the "
                                 "same cores, so concurrent pages mostly queue on the server"},
    ]


def run(quick: bool = False) -> list[dict[str, Any]]:
    quick = quick or os.environ.get("ODATUI_BENCH_QUICK") == "1"
    return asyncio.run(_measure(quick)) + asyncio.run(_measure(quick, latency_ms=100))


if __name__ == "__main__":
    for row in run():
        print(row)
