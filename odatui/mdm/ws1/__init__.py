"""Workspace ONE UEM, the first MDM plug-in: `api` (its REST client), `steps` (the ws1.* steps and verify),
`emulator` (the sandbox's Workspace ONE), and `Ws1`, the object the rest of odatui knows it by (odatui.mdm.Mdm)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from odatui.steps.base import ClientKind, register_client

if TYPE_CHECKING:
    from odatui.mdm.wizard import WizardPage
    from odatui.steps.base import Step


def _client_fields(config: Any) -> tuple[str, ...]:
    return ("ws1.username",) if config.ws1.auth == "basic" else ("ws1.oauth_client_id",)


class Ws1:
    """Workspace ONE UEM as an `odatui.mdm.Mdm`."""

    id = "ws1"
    label = "Workspace ONE UEM"
    client = ClientKind("odatui.mdm.ws1.api.client", "Ws1Client", _client_fields)

    def steps(self) -> list[Step]:
        from odatui.mdm.ws1.steps import STEPS, verify  # deferred: start-up (the steps import the client's models)

        return [*STEPS, *verify.STEPS]

    def wizard_page(self) -> WizardPage:
        from odatui.mdm.ws1.wizard import PAGE  # deferred: start-up

        return PAGE

    def done_lines(self, done: Callable[[str], Any], out: Callable[[str], Any], config: Any = None) -> list[str]:
        from odatui.mdm.ws1.done import done_lines  # deferred: start-up

        return done_lines(done, out, config)

    # ---------------------------------------------------------------- readers (odatui.mdm.ws1.devices, .waves)

    def rollout_ids(self, config: Any) -> dict[str, Any]:
        from odatui.mdm.ws1.devices import rollout_ids  # deferred: start-up

        return rollout_ids(config)

    def ids_from_outputs(self, outputs: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
        from odatui.mdm.ws1.devices import ids_from_outputs  # deferred: start-up

        return ids_from_outputs(outputs)

    async def list_devices(self, config: Any, secrets: Any, ids: dict[str, Any], on_rows: Callable[..., Any],
                           **options: Any) -> Any:
        from odatui.mdm.ws1.devices import list_devices  # deferred: start-up

        return await list_devices(config, secrets, ids, on_rows, **options)

    async def push_profile(self, config: Any, secrets: Any, profile_id: int,
                           device_ids: list[int]) -> tuple[int, list[str]]:
        from odatui.mdm.ws1.devices import push_profile  # deferred: start-up

        return await push_profile(config, secrets, profile_id, device_ids)

    async def repush(self, config: Any, secrets: Any, ids: dict[str, Any], device_ids: list[int] | None,
                     on_problem: Callable[[str], Any], confirm: Callable[[int], bool],
                     **options: Any) -> tuple[list[int], int | None, list[str]]:
        from odatui.mdm.ws1.devices import repush  # deferred: start-up

        return await repush(config, secrets, ids, device_ids, on_problem, confirm, **options)

    async def wave_status(self, config: Any, secrets: Any) -> list[dict[str, Any]]:
        from odatui.mdm.ws1.waves import wave_status  # deferred: start-up

        return await wave_status(config, secrets)

    # ---------------------------------------------------------------- removal (odatui.mdm.ws1.remover)

    async def removal_plan(self, config: Any, secrets: Any, state: Any, *, include_adopted: bool = False,
                           named: frozenset[str] = frozenset()) -> Any:
        from odatui.mdm.ws1.remover import removal_plan  # deferred: start-up

        return await removal_plan(config, secrets, state, include_adopted=include_adopted, named=named)

    async def remove_planned(self, config: Any, secrets: Any, store: Any, state: Any, plan: Any, out: TextIO) -> int:
        from odatui.mdm.ws1.remover import remove_planned  # deferred: start-up

        return await remove_planned(config, secrets, store, state, plan, out)

    async def undo(self, ctx: Any, step_id: str, entry: Any) -> str:
        from odatui.mdm.ws1.remover import undo_entry  # deferred: start-up

        return await undo_entry(ctx, step_id, entry)

    async def recover(self, config: Any, secrets: Any, state: Any, target: str | None) -> Any:
        from odatui.mdm.ws1.recover import recover  # deferred: start-up

        return await recover(config, secrets, state, target)


# The steps declare `clients = ("ws1",)`; every one of them lives in this package, so importing any of them has
# registered the kind.
register_client(Ws1.id, Ws1.client)
