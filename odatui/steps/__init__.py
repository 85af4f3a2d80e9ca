"""The configuration steps, in the order a rollout takes them (README, "What it does"). Each module holds the
steps of one side."""

from __future__ import annotations

from odatui.steps.base import Step

STEP_IDS = (
    "preflight.okta", "preflight.ws1", "preflight.package",
    "okta.app", "okta.assign", "ws1.upload", "ws1.assign", "ws1.certificate", "ws1.profile", "verify",
)


def all_steps() -> list[Step]:
    """One instance of every step. Imported lazily so `odatui --help` stays fast."""
    from odatui.steps import okta, package
    from odatui.mdm.ws1.steps import verify
    from odatui.mdm.ws1 import steps as ws1  # deferred: start-up (each side's clients and helpers)

    found: dict[str, Step] = {}
    for module in (okta, ws1, package, verify):
        for step in module.STEPS:
            found[step.id] = step
    return [found[i] for i in STEP_IDS if i in found]
