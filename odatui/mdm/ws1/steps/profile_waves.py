"""Which wave groups the SSO profile goes to in this run: every group that has it, plus the waves whose gate holds
(odatui.mdm.ws1.steps.wave_gate), plus a wave the admin opened by hand (`--advance-wave NAME --yes`, recorded here)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from odatui.core.errors import UsageError
from odatui.steps.base import Context
from odatui.mdm.ws1.steps.wave_gate import as_dicts, count_waves, decide, prerequisites


@dataclass(frozen=True)
class ProfileWaves:
    groups: list[dict[str, Any]]  # AssignedSmartGroups for the profile
    waves: list[dict[str, Any]] | None  # per wave: counts, gate state and reason (None without gates)
    overrides: dict[str, dict[str, str]]  # wave name → {by, at, gate}: every gate opened by hand so far

    @property
    def stopped(self) -> str:
        """Why the rollout stops here ("" when every wave has the profile): the first gated wave's reason."""
        for w in self.waves or []:
            if w["gate"] == "gated":
                return f"wave {w['wave']!r} gated: {w['reason']}"
        return ""

    def lines(self) -> tuple[str, ...]:
        return tuple(f"wave {w['wave']!r}: {w['gate']}, {w['reason']}" for w in self.waves or [])


def wave_groups(ctx: Context) -> list[dict[str, Any]]:
    groups = (ctx.outputs.get("preflight.ws1") or {}).get("smart_groups")
    if groups is None:  # a run state from before waves: one group
        return [{"id": ctx.output("preflight.ws1", "smart_group_id"),
                 "name": ctx.output("preflight.ws1", "smart_group_name")}]
    return groups


def _assigned(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"SmartGroupId": g["id"], "Name": g["name"]} for g in groups]


async def profile_waves(ctx: Context, current: dict[str, Any] | None) -> ProfileWaves:
    """The profile's groups for this run. Waves without gates (`[ws1] smart_groups`) all get it at once, with no
    extra request; gated waves are counted from bulk listings and decided in order."""
    waves = ctx.config.waves()
    groups = wave_groups(ctx)
    before = dict((ctx.outputs.get("ws1.profile") or {}).get("overrides") or {})
    wanted = ctx.config.rollout.advance_wave
    if wanted and wanted not in {w.name for w in waves}:
        raise UsageError(f"--advance-wave {wanted!r} is not a wave of this rollout",
                         hint="the waves are: " + ", ".join(repr(w.name) for w in waves))
    if not any(w.gated for w in waves) or len(groups) != len(waves):
        return ProfileWaves(_assigned(groups), None, before)
    now = datetime.now(UTC)
    prereqs = prerequisites(ctx.config.rollout.gate, ctx.outputs)
    counts = await count_waves(ctx.ws1(), int(ctx.output("preflight.ws1", "og_id")), groups,
                               floor=ctx.config.rollout.macos_min, prereqs=prereqs, profile=current)
    asked = {wanted: {"by": getpass.getuser(), "at": now.strftime("%Y-%m-%dT%H:%M:%SZ")}} if wanted else {}
    states = decide(waves, counts, ctx.config.rollout.gate, prereqs, now, {**before, **asked})
    held = next((s for s in states if s.wave == wanted and s.state == "waiting"), None)
    if held is not None:
        raise UsageError(f"--advance-wave {wanted!r}: that wave {held.reason}; an override opens one gate, in order",
                         hint="advance the earlier wave first (or wait for its gate)")
    overrides = dict(before)
    for s in states:
        if s.overridden is not None and s.wave in asked:  # recorded only when the override opened a gate
            overrides[s.wave] = {**asked[s.wave], "gate": s.reason.split("(gate: ", 1)[-1].rstrip(")")}
    chosen = [g for g, s in zip(groups, states) if s.open]
    return ProfileWaves(_assigned(chosen), as_dicts(counts, states), overrides)
