"""Per-Mac truth after a rollout (`status --devices`, the wizard's device table) and a second push of the profile
(`repush`, the table's re-push), for the faces. The MDM plug-in reads its devices (odatui.mdm.Mdm); the ids come
from the last run's state: exactly what was rolled out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from odatui.mdm import for_config


def rollout_ids(config: Any) -> dict[str, Any]:
    """The ids of this target's last run; no run yet is a usage error (exit 2) with the fix."""
    return for_config(config).rollout_ids(config)


def ids_from_outputs(outputs: dict[str, dict[str, Any]], config: Any = None) -> dict[str, Any] | None:
    """The rollout's ids from a run's outputs, None before the MDM's preflight found them."""
    return for_config(config).ids_from_outputs(outputs)


async def list_devices(config: Any, secrets: Any, ids: dict[str, Any], on_rows: Callable[[list[Any], list[str]], Any],
                       **options: Any) -> Any:
    """Every Mac of the rollout with its state and reasons; `on_rows(rows, problems)` gets each page as it arrives.
    Returns the summary. `options`: per_device, only, budgeted, max_requests, progress (the plug-in's)."""
    return await for_config(config).list_devices(config, secrets, ids, on_rows, **options)


async def push_profile(config: Any, secrets: Any, profile_id: int, device_ids: list[int]) -> tuple[int, list[str]]:
    """Ask the MDM to install the profile again on these Macs; (done, "device: why" per failure)."""
    return await for_config(config).push_profile(config, secrets, profile_id, device_ids)


async def repush(config: Any, secrets: Any, ids: dict[str, Any], device_ids: list[int] | None,
                 on_problem: Callable[[str], Any], confirm: Callable[[int], bool],
                 **options: Any) -> tuple[list[int], int | None, list[str]]:
    """`odatui repush`: the given Macs, or every Mac with a reason a re-push fixes; `confirm(count)` first.
    (targets, pushed or None when not confirmed, failures). `options`: limit, on_skipped."""
    return await for_config(config).repush(config, secrets, ids, device_ids, on_problem, confirm, **options)
