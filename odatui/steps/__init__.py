"""The step framework (`base`) and the steps that are not an MDM's: the Okta side and the package preflight. The run
order, which adds the MDM plug-in's steps, is `odatui.mdm.run_order`."""

from __future__ import annotations

from odatui.steps.base import Step


def okta_steps() -> list[Step]:
    """The Okta side's steps, in run order. Imported lazily so `odatui --help` stays fast."""
    from odatui.steps import okta  # deferred: start-up (the Okta client's helpers)

    return list(okta.STEPS)


def package_steps() -> list[Step]:
    """The package preflight (the Okta Verify .pkg the MDM delivers)."""
    from odatui.steps import package  # deferred: start-up

    return list(package.STEPS)
