"""`odatui waves [--json]`: the staged rollout at a glance, one line (or JSON object) per wave.

Exit codes: 0 listed (also when a wave is gated: that is the rollout working) · 2 bad usage, or no run yet.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from odatui.core.secrets import SecretStore
from odatui.service.setup import load_config_at
from odatui.service.waves import wave_status

COLUMNS = (("wave", 18), ("devices", 7), ("eligible", 8), ("okta_verify_installed", 11), ("profile_installed", 8),
           ("registered", 10), ("failing", 7), ("gate", 8))
HEADERS = {"okta_verify_installed": "OKTA VERIFY", "profile_installed": "PROFILE"}


def render(waves: list[dict[str, Any]]) -> str:
    lines = ["  ".join(f"{HEADERS.get(name, name.upper()):<{w}}" for name, w in COLUMNS) + "  REASON"]
    for item in waves:
        cells = []
        for name, width in COLUMNS:
            value = item.get(name)
            cells.append(f"{str('–' if value is None else value)[:width]:<{width}}")
        reason = item["reason"] + (" (moves on the next apply)" if item.get("opens_now") else "")
        lines.append("  ".join(cells) + "  " + reason)
    return "\n".join(lines) + "\n"


def cmd_waves(args: Any) -> int:
    config = load_config_at(getattr(args, "config", None))
    waves = asyncio.run(wave_status(config, SecretStore()))
    if getattr(args, "json", False):
        sys.stdout.write(json.dumps({"waves": waves}, indent=2) + "\n")
    else:
        sys.stdout.write(render(waves))
    return 0
