"""Wave gates at 50,000 Macs: `odatui.mdm.ws1.steps.wave_gate.count_waves` (what `odatui apply` reads to decide the gates and
`odatui waves` prints) for two waves — a 3-Mac pilot and the rollout group — with Okta Verify assigned to both.
Bulk listings only: the members of each wave's smart group, the app's installed devices and the organization
group's device pages; the figure to watch is requests made, which must grow with pages (500 Macs each), not Macs.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

DEVICES = 50_000


async def _measure(devices: int) -> list[dict[str, Any]]:
    from odatui.core.config import parse_config
    from odatui.sandbox.server import Sandbox, SandboxOptions
    from odatui.core.secrets import SecretStore
    from odatui.mdm.ws1.steps.wave_gate import Prerequisite, count_waves
    from odatui.mdm.ws1.api.base import PAGE_SIZE
    from odatui.mdm.ws1.api.client import Ws1Client

    with Sandbox(SandboxOptions(devices=devices, seed=7)) as sandbox:
        env = Sandbox.secret_env()
        secrets = SecretStore(use_keychain=False, values={"ws1.password": env["ODATUI_WS1__PASSWORD"],
                                                          "ws1.tenant_code": env["ODATUI_WS1__TENANT_CODE"]})
        config = parse_config(sandbox.config_dict(), source="sandbox")
        emulator = sandbox.world.emulators["ws1"]
        groups = [{"id": g["id"], "name": g["name"], "wave": g["name"]} for g in emulator.smart_groups
                  if g["name"] in ("Okta PSSO Pilot", "Okta PSSO Macs")]
        async with Ws1Client.from_config(config.ws1, secrets) as client:
            start, t = client.requests_made, time.perf_counter()
            counts = await count_waves(client, 570, groups, floor=14, prereqs=[Prerequisite("Okta Verify", 0.9)],
                                       profile=None)
            wall = time.perf_counter() - t
            made = client.requests_made - start
    pages = -(-devices // PAGE_SIZE)
    return [
        {"name": f"waves {devices // 1000}k: requests made", "value": made, "unit": "requests",
         "target": pages + len(groups), "note": f"{pages} device pages + one member listing per wave"},
        {"name": f"waves {devices // 1000}k: wall time", "value": round(wall, 2), "unit": "s", "target": None,
         "note": ", ".join(f"{c.wave}: {c.devices} Macs, {c.eligible} eligible" for c in counts)},
    ]


def run(quick: bool = False) -> list[dict[str, Any]]:
    quick = quick or os.environ.get("ODATUI_BENCH_QUICK") == "1"
    return asyncio.run(_measure(5_000 if quick else DEVICES))


if __name__ == "__main__":
    for row in run():
        print(row)
