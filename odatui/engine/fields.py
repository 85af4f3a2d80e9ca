"""Which config fields a set of steps still lacks, from what each step declares (Step.required_fields) and the
auth fields of the API clients it uses (odatui.steps.base.client_fields)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from odatui.steps.base import Step, client_fields, clients_of


def missing_fields(config: Any, step_ids: Iterable[str], steps: Iterable[Step] | None = None) -> list[str]:
    """Dotted config fields that the given steps need and that are still empty (Config.missing), in step order.
    `steps` defaults to every step odatui has."""
    if steps is None:
        from odatui.steps import all_steps  # deferred: start-up (imports every step and its helpers)

        steps = all_steps()
    ids = set(step_ids)
    chosen = [s for s in steps if s.id in ids]
    wanted = [f for s in chosen for f in s.required_fields]
    wanted += [f for kind in clients_of(chosen) for f in client_fields(kind, config)]
    return config.missing(*dict.fromkeys(wanted))
