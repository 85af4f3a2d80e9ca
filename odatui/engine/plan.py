"""`plan`: inspect every step against the live tenants and say what a run would change. Writes nothing anywhere."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from odatui.engine.graph import Graph
from odatui.core.errors import NeedsAction, OdatuiError, SecretsUnavailable
from odatui.core.log import get_logger, redact
from odatui.steps.base import Change, ChangeKind, Context, Step, clients_of

log = get_logger("engine")


@dataclass(frozen=True)
class PlanRow:
    step_id: str
    title: str
    needs: tuple[str, ...]
    change: Change | None  # None when it cannot be known yet (see hint) or inspect failed (see error)
    error: str | None = None
    hint: str | None = None
    # The exit code the error means (odatui.engine.exits), as a run failing the same way would end: a secret or
    # config value refused is 2 in `plan` as in `apply` (one exit code for one cause).
    exit_code: int = 1


async def plan(graph: Graph, config: Any, secrets: Any, created: dict[str, list[dict[str, Any]]], *,
               client_factory: Callable[[str, Context], Any] | None = None,
               target: str | None = None) -> list[PlanRow]:
    """Inspect every step (dependencies first, independent ones concurrently). `target`: the identity key the
    markers of a run would name (odatui.core.markers)."""
    # Live only: a stored output is what the tenant held once, not what it holds now (each step's answer
    # comes from its own inspect, dependencies first; what cannot be known yet says so).
    ctx = Context(config, secrets, {}, client_factory=client_factory)
    ctx.created = created
    ctx.target = target
    rows: dict[str, PlanRow] = {}
    done: dict[str, asyncio.Event] = {sid: asyncio.Event() for sid in graph.order}
    secrets_error: list[SecretsUnavailable] = []
    na: set[str] = set()  # steps not needed for this configuration

    async def one(sid: str) -> None:
        step = graph.steps[sid]
        try:
            for need in step.needs:
                await done[need].wait()
            rows[sid] = await _row(step, ctx, config, na)
        except SecretsUnavailable as exc:
            secrets_error.append(exc)
            rows[sid] = PlanRow(sid, step.title, step.needs, None, error=exc.message, hint=exc.hint)
        finally:
            done[sid].set()

    try:
        # Secrets and TLS contexts off the loop, as in a run.
        await ctx.prepare_clients(*clients_of(graph.steps.values()))
        if ctx.target is None and config.okta.org_url and config.ws1.api_url:
            # No identity known for this spelling yet: ask the tenants (two cheap reads), so what the plan compares
            # (the marker in a profile's description) is what a run would write.
            from odatui.core.identity import resolve

            identity = await resolve(ctx)
            ctx.target = identity.key if len(identity.confirmed) == 2 else None
        await asyncio.gather(*(one(sid) for sid in graph.order))
    finally:
        await ctx.aclose()
    if secrets_error:
        raise secrets_error[0]
    return [rows[sid] for sid in graph.order]


async def _row(step: Step, ctx: Context, config: Any, na: set[str]) -> PlanRow:
    sid = step.id
    if not step.applies(config):
        na.add(sid)
        return PlanRow(sid, step.title, step.needs, Change(ChangeKind.NONE, "not needed for this configuration"))
    # Needs whose outputs this plan cannot know yet: the step's own answer waits for them.
    unknown = [n for n in step.needs if n not in ctx.outputs and n not in na]
    try:
        change = await step.inspect(ctx)
    except SecretsUnavailable:
        raise
    except NeedsAction as exc:
        change = Change(ChangeKind.NEEDS_ACTION, exc.message, action=str(exc))
    except OdatuiError as exc:
        if unknown:
            return PlanRow(sid, step.title, step.needs, None,
                           hint=f"decided once {', '.join(unknown)} {'have' if len(unknown) > 1 else 'has'} run")
        return PlanRow(sid, step.title, step.needs, None, error=redact(exc.message), hint=exc.hint,
                       exit_code=exc.exit_code)
    except Exception as exc:  # a bug in a step must not hide the rest of the plan
        log.exception("inspect of %s failed", sid)
        return PlanRow(sid, step.title, step.needs, None, error=unexpected(exc), hint="details are in the log")
    if change.kind is ChangeKind.NONE:
        ctx.outputs[sid] = dict(change.outputs)
    return PlanRow(sid, step.title, step.needs, change)


def unexpected(exc: BaseException) -> str:
    """One readable line for an exception nobody foresaw (the traceback goes to the log)."""
    text = redact(str(exc)).strip().splitlines()
    return f"unexpected error: {type(exc).__name__}" + (f": {text[0]}" if text else "")
