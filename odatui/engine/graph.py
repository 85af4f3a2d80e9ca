"""The steps as a graph along their `needs`: a stable order, what a step needs and unblocks, what a run selects,
and which config fields the chosen steps still lack."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from odatui.core.errors import UsageError
from odatui.steps.base import Step, client_fields, clients_of


def topo_order(steps: Iterable[Step]) -> list[str]:
    """Step ids so that every step comes after what it needs (stable: the given order breaks ties)."""
    by_id = {s.id: s for s in steps}
    for step in by_id.values():
        for need in step.needs:
            if need not in by_id:
                raise UsageError(f"step {step.id} needs {need}, which is not part of this run's steps")
    order: list[str] = []
    visiting: set[str] = set()

    def visit(sid: str) -> None:
        if sid in order:
            return
        if sid in visiting:
            raise UsageError(f"the steps' needs form a cycle through {sid}")
        visiting.add(sid)
        for need in by_id[sid].needs:
            visit(need)
        visiting.discard(sid)
        order.append(sid)

    for sid in by_id:
        visit(sid)
    return order


def missing_fields(config: Any, step_ids: Iterable[str], steps: Iterable[Step]) -> list[str]:
    """Dotted config fields that the given steps (ids out of `steps`) need and that are still empty
    (Config.missing), in step order: what each step declares (Step.required_fields) and the auth fields of the API
    clients it uses (odatui.steps.base.client_fields)."""
    ids = set(step_ids)
    chosen = [s for s in steps if s.id in ids]
    wanted = [f for s in chosen for f in s.required_fields]
    wanted += [f for kind in clients_of(chosen) for f in client_fields(kind, config)]
    return config.missing(*dict.fromkeys(wanted))


class Graph:
    """The run's steps by id, in dependency order, with the edges both ways."""

    def __init__(self, steps: Iterable[Step]) -> None:
        steps = list(steps)
        self.steps: dict[str, Step] = {s.id: s for s in steps}
        self.order = topo_order(steps)
        self.children: dict[str, list[str]] = {sid: [] for sid in self.order}
        for sid in self.order:
            for need in self.steps[sid].needs:
                self.children[need].append(sid)

    def _closure(self, start: Iterable[str], edges: dict[str, list[str]] | None) -> list[str]:
        out: list[str] = []
        todo = list(start)
        while todo:
            sid = todo.pop()
            if sid not in out:
                out.append(sid)
                todo.extend(edges[sid] if edges is not None else self.steps[sid].needs)
        return [s for s in self.order if s in out]

    def ancestors(self, sid: str) -> list[str]:
        """Every step `sid` needs, directly or not, in order."""
        return self._closure(self.steps[sid].needs, None)

    def descendants(self, sid: str) -> list[str]:
        """Every step that needs `sid`, directly or not, in order."""
        return self._closure(self.children[sid], self.children)

    def check(self, sid: str) -> None:
        if sid not in self.steps:
            raise UsageError(f"unknown step id {sid!r}", hint="step ids: " + ", ".join(self.order))

    def select(self, only: list[str] | None = None, from_step: str | None = None) -> list[str]:
        """The steps a run will apply, in order. Unknown ids are a usage error (exit 2)."""
        for sid in [*(only or []), *([from_step] if from_step else [])]:
            self.check(sid)
        if only and from_step:
            raise UsageError("use either --only or --from, not both")
        if only:
            return [s for s in self.order if s in set(only)]
        if from_step:
            chosen = {from_step, *self.descendants(from_step)}
            return [s for s in self.order if s in chosen]
        return list(self.order)
