"""What exists now in Workspace ONE after a run, one line each, for the Done screen (odatui.tui.results): names and
ids from the run's outputs, not the plan's "will create" wording."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def _said(view: Any) -> str:
    return "created" if view.status == "succeeded" else "found"


def done_lines(done: Callable[[str], Any], out: Callable[[str], Mapping[str, Any]], config: Any = None) -> list[str]:
    """`done(step_id)`: the step's view when it succeeded or was unchanged, else None; `out(step_id)`: its outputs;
    `config` names what outputs do not carry."""
    lines: list[str] = []
    ws1_cfg = getattr(config, "ws1", None)
    rollout = getattr(config, "rollout", None)

    if view := done("ws1.upload"):
        o = out("ws1.upload")
        uuid = f", uuid {o['app_uuid']}" if o.get("app_uuid") else ""
        lines.append(f"✓ Workspace ONE app Okta Verify {o.get('version', '?')} ({_said(view)}): "
                     f"app id {o.get('app_id', '?')}{uuid}")

    if done("preflight.ws1"):
        o = out("preflight.ws1")
        assigned = "; Okta Verify assigned to it (Auto)" if done("ws1.assign") else ""
        og = f" in {o['og_name']} (id {o['og_id']})" if o.get("og_name") else ""
        # Every smart group (wave) of the rollout, not only the first: the profile and the app go to each.
        groups = o.get("smart_groups") or [{"name": o.get("smart_group_name") or getattr(ws1_cfg, "smart_group", "")
                                            or "?", "id": o.get("smart_group_id", "?"),
                                            "devices": o.get("smart_group_devices")}]
        for n, group in enumerate(groups):
            devices = f", {group['devices']} devices" if group.get("devices") is not None else ""
            wave = f"Wave {n + 1}: smart group" if len(groups) > 1 else "Smart group"
            lines.append(f"✓ {wave} “{group.get('name', '?')}” (id {group.get('id', '?')}{devices}){og}{assigned}")

    if view := done("ws1.profile"):
        o = out("ws1.profile")
        name = getattr(rollout, "profile_name", "") or "Platform SSO profile"
        uuid = f", uuid {o['profile_uuid']}" if o.get("profile_uuid") else ""
        lines.append(f"✓ Workspace ONE profile “{name}” ({_said(view)}): id {o.get('profile_id', '?')}{uuid}")

    if done("verify"):
        lines.append("✓ Verified: the profile, the app assignment and the Okta app agree")
    return lines
