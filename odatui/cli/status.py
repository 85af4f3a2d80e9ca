"""`odatui status`: the last run as recorded, checked against the live tenant, and the rollout counts — printed
from odatui.service.status's report (or as JSON). `--devices` is odatui.cli.devices's."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from odatui.cli.devices import cmd_status_devices
from odatui.core.errors import UsageError
from odatui.service.setup import load_config_at
from odatui.service.status import status_report


def cmd_status(args: Any) -> int:
    config = load_config_at(getattr(args, "config", None))
    if getattr(args, "devices", False):
        return cmd_status_devices(args, config)
    if getattr(args, "filter", None) or getattr(args, "bulk_only", False) or getattr(args, "detail", False) \
            or getattr(args, "max_requests", None) is not None or getattr(args, "device", None):
        raise UsageError("--filter, --detail, --max-requests and --device go with --devices",
                         hint="e.g. `odatui status --devices --filter failing`")
    report = status_report(config)
    if getattr(args, "json", False):
        json.dump(report.as_json(), sys.stdout, indent=2)
        print()
        return 0
    print_status(report)
    return 0


def print_status(report: Any) -> None:
    steps, stale, rollout = report.steps, report.stale, report.rollout
    if not steps:
        print(f"No run yet for {report.target} (state file {report.state_file}). `odatui plan` shows what would happen.")
        return
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(report.updated)) if report.updated else "?"
    print(f"Target {report.target} — last update {when}")
    if report.checked:
        print("Checked against the live tenant just now" + (f": {len(stale)} step(s) are stale." if stale else "."))
    else:
        print(f"Last run as recorded; not checked against the live tenant ({report.live_problem}).")
    width = max(len(s) for s in steps)
    for sid, info in steps.items():
        line = f"  {sid:<{width}}  {info['status']:<12}  attempts {info['attempts']}"
        if info["stale_reason"]:
            line += f"  succeeded in the last run, but {info['stale_reason']}"
        elif info["last_error"] and info["status"] != "succeeded":
            line += f"  {info['last_error'].splitlines()[0]}"
        print(line)
        shown = {k: v for k, v in info["outputs"].items() if not isinstance(v, (dict, list)) or v}
        if shown and info["status"] == "succeeded":
            print(f"  {'':<{width}}  " + "; ".join(f"{k.replace('_', ' ')} {words(v)}" for k, v in shown.items()))
    if stale:
        print("`odatui retry` re-runs the stale steps.")
    if rollout is not None:
        print(f"Rollout to smart group {rollout['smart_group']!r}: {rollout['devices']} devices, "
              f"profile installed on {rollout['profile_installed']}, Okta Verify installed on {rollout['app_installed']}")
        if rollout.get("certificate_installed") is not None:
            print(f"Device Access certificate profile installed on {rollout['certificate_installed']} of "
                  f"{rollout['devices']}")
        dps = rollout.get("dps_registrations") or {}
        if dps.get("users") is not None:
            print(f"Desktop Password Sync registrations: {dps['users']} of the rollout's {dps['rollout_users']} "
                  f"Okta user(s) (System Log, since {dps['since'][:10]})"
                  + (f"; {dps['other_users']} other user(s) outside the rollout's groups" if dps.get("other_users")
                     else ""))
        elif dps.get("error"):
            print(f"Desktop Password Sync registrations unavailable: {dps['error']}")
        if rollout.get("okta_verify_macs") is not None:
            print(f"{rollout['okta_verify_macs_label']}: {rollout['okta_verify_macs']} (org-wide; FastPass Macs "
                  "included, so not a rollout count)")
        elif rollout.get("okta_error"):
            print(f"Macs registered with Okta Verify unavailable: {rollout['okta_error']}")
    elif report.rollout_error:
        print(f"Rollout status unavailable: {report.rollout_error}")


def words(value: Any) -> str:
    """An output value as a person reads it, never a Python repr: names of listed objects, `key value` pairs."""
    if isinstance(value, dict):
        if "name" in value:
            return str(value["name"]) + (f" (id {value['id']})" if "id" in value else "")
        return ", ".join(f"{k.replace('_', ' ')} {words(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(words(v) for v in value) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "none" if value is None else str(value)
