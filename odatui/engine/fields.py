"""Which config fields a set of steps still lacks, from what each step declares (Step.required_fields) and the
auth fields of the API clients it uses (odatui.steps.base.client_fields)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from odatui.steps.base import Step, client_fields, clients_of


def missing_fields(config: Any, step_ids: Iterable[str], steps: Iterable[Step]) -> list[str]:
    """Dotted config fields that the given steps (chosen by id from `steps`, the run's) need and that are still
    empty (Config.missing), in step order."""
    ids = set(step_ids)
    chosen = [s for s in steps if s.id in ids]
    wanted = [f for s in chosen for f in s.required_fields]
    wanted += [f for kind in clients_of(chosen) for f in client_fields(kind, config)]
    return config.missing(*dict.fromkeys(wanted))
