"""`odatui status` and the wizard's rollout line: one implementation of what the last run recorded, checked
against the live tenant, and the rollout counts read from WS1 (and Okta's registered Macs)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from odatui.errors import OdatuiError
from odatui.freshness import live_check
from odatui.log import redact
from odatui.okta.client import OktaClient
from odatui.secrets import SecretStore
from odatui.service.clients import clients
from odatui.service.setup import make_engine
from odatui.state import StateStore
from odatui.steps import STEP_IDS


async def okta_macs(config: Any, secrets: Any) -> tuple[int | None, str | None]:
    """Macs registered with Okta (Devices API, platform MACOS): how many users finished Okta Verify
    registration, against how many Macs have the profile. Read-only; a failure is reported, not raised."""
    if config.okta.auth == "none":
        return None, "no Okta API access (okta.auth = \"none\")"
    try:
        client = await asyncio.to_thread(OktaClient.from_config, config.okta, secrets)
        try:
            if client.auth_mode == "service_app" and "okta.devices.read" not in client.scopes:
                # As verify does: its token never carries the scope, so no call that can only be refused.
                return None, "the credentials lack okta.devices.read (grant it to the service app to see them)"
            return await client.count_devices(), None
        finally:
            await client.aclose()
    except OdatuiError as exc:
        return None, redact(exc.message)


async def rollout_status(config: Any, secrets: Any, outputs: dict[str, dict[str, Any]], *,
                         okta: bool = True) -> dict[str, Any]:
    """Devices in the smart group and install counts, read live from WS1; with `okta`, Okta's registered Macs
    side by side (Okta pages while WS1 pages)."""
    pre = outputs.get("preflight.ws1") or {}
    if pre.get("smart_group_id") is None:
        raise RuntimeError("the smart group is not known yet (preflight.ws1 has not succeeded)")
    okta_task = asyncio.create_task(okta_macs(config, secrets)) if okta else None
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
    okta_registered, okta_error = await okta_task if okta_task is not None else (None, None)
    return {"smart_group": pre.get("smart_group_name"), "devices": status.devices,
            "profile_installed": status.profile_installed, "app_installed": status.app_installed,
            "certificate_installed": cert_installed,
            "okta_registered_macs": okta_registered, "okta_error": okta_error}


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
    order = list(STEP_IDS) + [s for s in state.steps if s not in STEP_IDS]
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
