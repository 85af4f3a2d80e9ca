"""`odatui waves`: per wave, how far its Macs got and whether its gate holds, read live by the MDM plug-in
(odatui.mdm.Mdm.wave_status) against the ids of the last run."""

from __future__ import annotations

from typing import Any

from odatui.mdm import for_config


async def wave_status(config: Any, secrets: Any) -> list[dict[str, Any]]:
    """One object per wave (devices, eligible, installs, failing, registered, gate, reason, opens_now)."""
    return await for_config(config).wave_status(config, secrets)
