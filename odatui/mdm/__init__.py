"""MDM plug-ins, one sub-package each: Workspace ONE UEM (`ws1`) is the first. A plug-in holds its steps, its API
client and its emulator together, and the rest of odatui reaches it through the `Mdm` Protocol below, as
Harlequin's adapters reach a database (tconbeer/harlequin, src/harlequin/adapter.py): the engine runs the steps
`run_order` lists, and the service asks `for_config(config)` for the plug-in. A Jamf Pro plug-in would be
`mdm/jamf/{api,steps,emulator}` plus one line in `for_config`.

The registry stays lazy: nothing here imports a plug-in at the top, so the wizard's first paint does not pay for
the steps and the API client (`odatui --help` neither)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TextIO

if TYPE_CHECKING:
    from odatui.mdm.wizard import WizardPage
    from odatui.steps.base import ClientKind, Step


class Mdm(Protocol):
    """What odatui needs from an MDM."""

    # The plug-in's name: its config table (`[ws1]`), the prefix of its step ids and its client kind.
    id: str
    # How the admin knows it ("Workspace ONE UEM").
    label: str
    # Its API client (Step.clients kind `id`): where it lives and the config fields it cannot sign in without.
    client: ClientKind

    def steps(self) -> list[Step]:
        """Its steps in run order: its preflight first, its verify step last."""
        ...

    def wizard_page(self) -> WizardPage:
        """Its page of the wizard: the fields an admin fills in, in order."""
        ...

    def done_lines(self, done: Callable[[str], Any], out: Callable[[str], Any], config: Any = None) -> list[str]:
        """The Done screen's lines for what exists in the MDM now: `done(step_id)` the step's view when it succeeded
        or was unchanged (else None), `out(step_id)` its outputs."""
        ...

    # What the faces read after a rollout: the rollout's ids (from the last run's outputs), the Macs with their
    # state and reasons, a second push of the profile, and the waves with their gates.
    def rollout_ids(self, config: Any) -> dict[str, Any]:
        """The ids of this target's last run; no run yet is a usage error (exit 2) with the fix."""
        ...

    def ids_from_outputs(self, outputs: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        """The rollout's ids from a run's outputs, None before the preflight found them."""
        ...

    async def list_devices(self, config: Any, secrets: Any, ids: dict[str, Any], on_rows: Callable[..., Any],
                           **options: Any) -> Any:
        """Every Mac of the rollout with its state and reasons, a page at a time to `on_rows`; the summary."""
        ...

    async def push_profile(self, config: Any, secrets: Any, profile_id: int,
                           device_ids: list[int]) -> tuple[int, list[str]]:
        """Install the profile again on these Macs; (done, "device: why" per failure)."""
        ...

    async def repush(self, config: Any, secrets: Any, ids: dict[str, Any], device_ids: list[int] | None,
                     on_problem: Callable[[str], Any], confirm: Callable[[int], bool],
                     **options: Any) -> tuple[list[int], int | None, list[str]]:
        """`odatui repush`; (targets, pushed or None when not confirmed, failures)."""
        ...

    async def wave_status(self, config: Any, secrets: Any) -> list[dict[str, Any]]:
        """One object per wave: its Macs' progress and whether its gate holds."""
        ...

    # `odatui remove`: what odatui created for a target (the run state's ledger), checked live and removed.
    async def removal_plan(self, config: Any, secrets: Any, state: Any, *, include_adopted: bool = False,
                           named: frozenset[str] = frozenset()) -> Any:
        """What `remove` would do (`.text`, `.items`, `.to_delete`, `.checked`); reads the tenant, changes nothing."""
        ...

    async def remove_planned(self, config: Any, secrets: Any, store: Any, state: Any, plan: Any, out: TextIO) -> int:
        """Carry out a plan (the caller holds the store's lock); the number of items that could not be removed."""
        ...

    async def undo(self, ctx: Any, step_id: str, entry: Any) -> str:
        """Remove one ledger entry as `remove` would (Context.undo): "removed", or "gone"."""
        ...

    async def recover(self, config: Any, secrets: Any, state: Any, target: str | None) -> Any:
        """`remove --recover`: rebuild the state's ledger from the markers odatui left in the tenant."""
        ...


def for_config(config: Any = None) -> Mdm:
    """The MDM plug-in the config names. Workspace ONE UEM is the only one so far, so every config (and no config:
    the step ids of `--only` are checked before the config loads) gets it."""
    from odatui.mdm.ws1 import Ws1  # deferred: start-up (the plug-in imports its client kind and steps on use)

    return Ws1()


def run_order(config: Any = None) -> list[Step]:
    """One instance of every step, in the order a rollout takes them (README, "What it does"): each side's
    preflight first (Okta, the MDM, the package), then Okta's steps, then the MDM's. The engine orders by `needs`;
    this order breaks ties (the plan table, the step list)."""
    from odatui.steps import okta_steps, package_steps  # deferred: start-up (each side's clients and helpers)

    sides = [okta_steps(), for_config(config).steps(), package_steps()]
    every = [step for side in sides for step in side]
    return [s for s in every if s.id.startswith("preflight.")] + [s for s in every if not s.id.startswith("preflight.")]


def step_ids(config: Any = None) -> tuple[str, ...]:
    """The ids of `run_order(config)`, for naming an unknown `--only` / `--from` id."""
    return tuple(step.id for step in run_order(config))
