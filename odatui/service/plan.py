"""`odatui plan` as data: the engine's rows, the profile's rollout notes while it is undecided, and the
`plan --json` objects. The faces render these."""

from __future__ import annotations

from typing import Any

from odatui.steps.rollout_warnings import rollout_notes


def pending_notes(config: Any, rows: list[Any]) -> tuple[str, ...]:
    """The profile's rollout warnings/notes when ws1.profile could not be decided yet: they still apply."""
    profile_row = next((r for r in rows if r.step_id == "ws1.profile"), None)
    if profile_row is None or profile_row.change is not None:
        return ()

    return tuple(rollout_notes(config))


def row_change(row: Any) -> tuple[str, str]:
    """(change kind, summary) of one plan row: "error", "later" (decided once earlier steps ran) or the kind."""
    if row.error:
        return "error", row.error
    if row.change is None:
        return "later", row.hint or ""
    return row.change.kind.value, row.change.summary


def plan_warnings(row: Any) -> list[str]:
    """The readiness warnings (`Change.warnings`), then the details a step marks "warning:" (e.g. the profile's
    rollout warnings, a non-OIDC PSSO app), without the prefix."""
    if row.change is None:
        return []
    marked = [d.removeprefix("warning: ") for d in row.change.details if d.startswith("warning: ")]
    return list(row.change.warnings) + marked


def plan_notes(row: Any) -> list[str]:
    return [d.removeprefix("note: ") for d in (row.change.details if row.change is not None else ())
            if d.startswith("note: ")]


def plan_json(rows: list[Any], pending: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """`odatui plan --json`: one object per step, for scripts."""
    out = []
    for row in rows:
        change, summary = row_change(row)
        item: dict[str, Any] = {"id": row.step_id, "change": change, "summary": summary,
                                "warnings": plan_warnings(row), "notes": plan_notes(row)}
        if row.hint and row.error:
            item["hint"] = row.hint
        if row.change is not None and row.change.action:
            item["action"] = row.change.action
        if row.step_id == "ws1.profile":
            item["warnings"] += [n.removeprefix("warning: ") for n in pending if n.startswith("warning: ")]
            item["notes"] += [n.removeprefix("note: ") for n in pending if n.startswith("note: ")]
        out.append(item)
    return out


def plan_exit_code(rows: list[Any]) -> int:
    """As a run that failed the same way would exit (odatui.engine.exits.run_exit): 2 when a step's input (a config
    value, a secret, the package) was refused, 1 for any other error, 0 when every step could be planned."""
    from odatui.engine.exits import EXIT_FAILED, EXIT_OK, EXIT_USAGE

    errors = [getattr(r, "exit_code", EXIT_FAILED) for r in rows if r.error]
    if not errors:
        return EXIT_OK
    return EXIT_USAGE if EXIT_USAGE in errors else EXIT_FAILED


async def plan(engine: Any) -> list[Any]:
    """The engine's plan rows; the engine's clients are closed afterwards (the wizard plans more than once)."""
    try:
        return await engine.plan()
    finally:
        close = getattr(engine, "aclose", None)
        if close is not None:
            await close()
