"""`odatui status` and the wizard's rollout line: one implementation of what the last run recorded, checked
against the live tenant, and the rollout counts read from WS1 (and Okta's registered Macs)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from odatui.core.errors import OdatuiError
from odatui.engine.freshness import live_check
from odatui.core.log import redact
from odatui.core.secrets import SecretStore
from odatui.steps.base import clients
from odatui.service.registrations import OKTA_VERIFY_MACS_LABEL, dps_registrations, okta_verify_macs
from odatui.service.setup import make_engine
from odatui.core.state import StateStore
from odatui.mdm import step_ids


async def rollout_status(config: Any, secrets: Any, outputs: dict[str, dict[str, Any]], *,
                         okta: bool = True) -> dict[str, Any]:
    """Devices in the smart group and install counts, read live from WS1; with `okta`, Okta's registered Macs
    side by side (Okta pages while WS1 pages)."""
    pre = outputs.get("preflight.ws1") or {}
    if pre.get("smart_group_id") is None:
        raise RuntimeError("the smart group is not known yet (preflight.ws1 has not succeeded)")
    okta_task = asyncio.create_task(_okta_counts(config, secrets, outputs)) if okta else None
    try:
        async with clients(config, secrets, outputs, "ws1") as ctx:
            status = await ctx.ws1().rollout_status(
                int(pre["smart_group_id"]), (outputs.get("ws1.upload") or {}).get("app_id"),
                (outputs.get("ws1.profile") or {}).get("profile_id"), og_id=pre.get("og_id"))
            cert_id = (outputs.get("ws1.certificate") or {}).get("certificate_profile_id")
            cert_installed = None
            if cert_id is not None:  # rollout.scep = "ws1_ca": the certificate profile's install count (bulk)
                members = set(await ctx.ws1().smart_group_device_ids(int(pre["smart_group_id"])))
                cert_installed = len(await ctx.ws1().certificate_profile_installed(int(cert_id), members))
    except BaseException:
        if okta_task is not None:
            okta_task.cancel()
        raise
    (macs, macs_error), dps = await okta_task if okta_task is not None else ((None, None), None)
    # Okta's device count is every Mac Okta Verify registered (FastPass ones too): never shown as Password Sync
    # registrations, which come from the System Log per user of the rollout (odatui.service.registrations).
    return {"smart_group": pre.get("smart_group_name"), "devices": status.devices,
            "profile_installed": status.profile_installed, "app_installed": status.app_installed,
            "certificate_installed": cert_installed,
            "okta_verify_macs": macs, "okta_verify_macs_label": OKTA_VERIFY_MACS_LABEL, "okta_error": macs_error,
            "dps_registrations": dps}


async def _okta_counts(config: Any, secrets: Any, outputs: dict[str, dict[str, Any]]) -> tuple[Any, Any]:
    """Both Okta counts side by side: ((Okta Verify Macs, why not), Password Sync registrations)."""
    return await asyncio.gather(okta_verify_macs(config, secrets), dps_registrations(config, secrets, outputs))


@dataclass
class StatusReport:
    """What `odatui status` shows: the recorded steps (stale ones marked), whether they were checked live, and
    the rollout counts (or why they are unavailable)."""
    target: str
    state_file: str
    updated: float | None
    identity: Any
    checked: bool
    live_problem: str | None
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    stale: dict[str, str] = field(default_factory=dict)
    rollout: dict[str, Any] | None = None
    rollout_error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "state_file": self.state_file, "updated": self.updated,
                "identity": self.identity, "checked_live": self.checked, "not_checked_because": self.live_problem,
                "steps": self.steps, "rollout": self.rollout, "rollout_error": self.rollout_error}


def status_report(config: Any, secrets: Any = None) -> StatusReport:
    """Which tenants the config reaches now (not how it is spelled), and whether they still hold what the last
    run recorded: a stored success the live tenant disagrees with is "stale", never current."""
    secrets = secrets if secrets is not None else SecretStore()
    check = None
    live_problem: str | None = None
    try:
        check = asyncio.run(live_check(make_engine(config, secrets)))
        live_problem = check.problem
    except OdatuiError as exc:  # e.g. secrets unavailable: the stored state is still worth showing
        live_problem = redact(exc.message)
    store = check.store if check is not None else StateStore(config.target_key())
    stale = check.stale if check is not None else {}
    state = store.load()
    known = step_ids(config)
    order = list(known) + [s for s in state.steps if s not in known]
    steps = {sid: {"status": "stale" if sid in stale else rec.status, "last_status": rec.status,
                   "stale_reason": stale.get(sid), "attempts": rec.attempts, "last_error": rec.last_error,
                   "hint": rec.hint, "summary": rec.summary, "finished": rec.finished, "outputs": rec.outputs,
                   "created": rec.created, "adopted": rec.adopted}
             for sid in order if (rec := state.steps.get(sid)) is not None}
    report = StatusReport(state.target, str(store.path), state.updated, state.identity,
                          check is not None and check.checked, live_problem, steps, dict(stale))
    outputs = {sid: out for sid, out in state.outputs().items() if sid not in stale}
    if not report.checked and live_problem:
        report.rollout_error = f"the tenant was not reached ({live_problem})"  # its rollout cannot be read either
    elif "preflight.ws1" in outputs and ({"ws1.assign", "ws1.profile"} & set(outputs)):
        try:
            report.rollout = asyncio.run(rollout_status(config, secrets, outputs))
        except OdatuiError as exc:
            report.rollout_error = redact(str(exc))
        except Exception as exc:  # status is read-only: report, never crash
            report.rollout_error = f"{type(exc).__name__}: {redact(str(exc))}"
    return report
