"""The step contract. A step looks at the live tenant (`inspect`) and then changes it (`apply`).

Steps pass data only through their outputs, which the engine persists in the run state: `okta.app` outputs the
client ID that `ws1.profile` reads from `ctx.outputs["okta.app"]`. Steps talk to the tenant through the clients
that the context builds (never httpx directly) and report progress through the `progress` callback.
"""

from __future__ import annotations

import asyncio
import enum
import importlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from odatui.core.errors import StepError

if TYPE_CHECKING:
    from odatui.core.config import Config
    from odatui.okta.client import OktaClient
    from odatui.core.secrets import SecretStore


# Output keys through which a step reports ownership; the engine moves them out of the outputs into the run
# state's ledger (odatui.core.state.StepRecord.own): lists of {"kind", "id", "name", …}.
OWN_CREATED, OWN_ADOPTED, OWN_RELEASED = "_created", "_adopted", "_released"


class ChangeKind(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    # Create the new object, then remove the old one odatui created (the ledger says so): a rename, as Terraform
    # plans a change it cannot make in place ("replace", create_before_destroy).
    REPLACE = "replace"
    NONE = "none"
    NEEDS_ACTION = "needs-action"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    summary: str  # one line for the plan table and the step pane
    details: tuple[str, ...] = ()
    # When kind is NONE: the outputs of what already exists, so the engine can skip `apply` and still feed
    # downstream steps (resume after a crash adopts instead of duplicating).
    outputs: Mapping[str, Any] = field(default_factory=dict)
    # When kind is NEEDS_ACTION: exactly what the admin must do.
    action: str = ""
    # Readiness findings that do not stop the run (users without a password, Macs below the floor…): shown in
    # the plan, the Review and Done screens and `plan --json`.
    warnings: tuple[str, ...] = ()
    # What inspect read to decide (ids looked up, the current rules…), for `apply_change` in the same attempt to
    # act on instead of reading it again. Never persisted or shown; not part of equality.
    found: Any = field(default=None, compare=False, repr=False)
    # When kind is CREATE or UPDATE: what apply will create, as {"kind", "name"} (odatui.core.state.StepRecord.intends).
    creates: tuple[Mapping[str, Any], ...] = ()


class Progress:
    """Callback handed to `apply`. Cheap to call often: the engine coalesces what it forwards."""

    def __init__(self, emit: Callable[..., None] | None = None) -> None:
        self._emit = emit

    def __call__(self, fraction: float | None, message: str = "", **extra: Any) -> None:
        if self._emit is not None:
            self._emit(fraction, message, **extra)

    def log(self, message: str, level: str = "info") -> None:
        if self._emit is not None:
            self._emit(None, message, _log=level)


@dataclass(frozen=True)
class ClientKind:
    """An API client a step may declare in `Step.clients`: where it lives (imported on first use: httpx and the
    clients take a few hundred ms to import), the class that builds itself from its config table
    (`from_config(table, secrets)`), and the config fields it cannot authenticate without, for the auth the config
    chose."""

    module: str
    name: str
    fields: Callable[[Config], tuple[str, ...]] = lambda config: ()


def _okta_fields(config: Config) -> tuple[str, ...]:
    return {"none": ("okta.client_id",), "service_app": ("okta.service_app_client_id",)}.get(config.okta.auth, ())


# The client kinds, by name (the config table each builds from). Okta's is odatui's own; an MDM plug-in adds its
# kind when its package is imported (odatui.mdm.ws1 adds "ws1"), which every step that declares it has done, so
# this layer never names an MDM (the way `codecs.register` adds a codec).
CLIENTS: dict[str, ClientKind] = {"okta": ClientKind("odatui.okta.client", "OktaClient", _okta_fields)}


def register_client(kind: str, spec: ClientKind) -> None:
    """Add an MDM plug-in's client kind (idempotent: a plug-in package is imported once, but tests reload)."""
    CLIENTS[kind] = spec


def client_fields(kind: str, config: Config) -> tuple[str, ...]:
    """The config fields a client of this kind cannot authenticate without, for the auth the config chose."""
    spec = CLIENTS.get(kind)
    return spec.fields(config) if spec is not None else ()


def default_client_factory(kind: str, ctx: Context) -> Any:
    """The real API client of this kind, built from its config table (`[okta]`, `[ws1]`…) and the secrets."""
    spec = CLIENTS[kind]
    return getattr(importlib.import_module(spec.module), spec.name).from_config(getattr(ctx.config, kind),
                                                                               ctx.secrets)


def clients_of(steps: Iterable[Step]) -> list[str]:
    """The client kinds these steps use (Step.clients), in CLIENTS order."""
    wanted = {kind for step in steps for kind in step.clients}
    return [kind for kind in CLIENTS if kind in wanted]


class Context:
    """What a step may use: the config, secrets, earlier outputs and lazily built API clients."""

    def __init__(
        self,
        config: Config,
        secrets: SecretStore,
        outputs: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        client_factory: Callable[[str, Context], Any] | None = None,
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.outputs: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (outputs or {}).items()}
        self._clients: dict[str, Any] = {}
        self._client_factory = client_factory
        # step id → what odatui created in earlier runs (the run state's ledger), so a step can tell its own
        # objects (e.g. the assignment rule it added for a smart group) from the admin's.
        self.created: dict[str, list[dict[str, Any]]] = {}
        # The canonical identity key of the target (odatui.core.identity), set once the engine has bound the run: the
        # marker odatui writes on what it creates names it (odatui.core.markers).
        self.target: str | None = None
        # step id → what a step created during this call, recorded the moment it exists (made_by_odatui): the
        # engine adds it to the ledger when the step ends, failed or not, so a failed step leaves no orphan.
        self.made: dict[str, list[dict[str, Any]]] = {}
        # Removes one object the ledger says odatui created (step id, ledger entry) → "removed" or "gone", through
        # the same path as `odatui remove` (its checks included); set by the service, None where nothing may go.
        self.undo: Callable[[Context, str, Mapping[str, Any]], Awaitable[str]] | None = None

    def output(self, step_id: str, key: str) -> Any:
        try:
            return self.outputs[step_id][key]
        except KeyError:
            raise StepError(f"{step_id} has not produced {key!r} yet", hint=f"run {step_id} first") from None

    def made_by_odatui(self, step_id: str, entry: dict[str, Any]) -> None:
        """Record that `step_id` just created `entry` ({"kind", "id", "name", …}) in the tenant."""
        self.made.setdefault(step_id, []).append(dict(entry))

    def created_by_odatui(self, step_id: str, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.created.get(step_id, []) if e.get("kind") == kind]

    def _client(self, kind: str) -> Any:
        if kind not in self._clients:
            self._clients[kind] = (self._client_factory or default_client_factory)(kind, self)
        return self._clients[kind]

    async def preload_clients(self, *kinds: str) -> None:
        """Import the real clients' modules in a worker thread (a few hundred ms for httpx and the clients), before
        any step starts, so the first step of each branch does not hold up the others (and a TUI stays live).
        Nothing to do with a custom client factory (the sandbox's, a test's)."""
        if self._client_factory is None and kinds:
            await asyncio.to_thread(lambda: [importlib.import_module(CLIENTS[k].module) for k in kinds])

    async def prepare_clients(self, *kinds: str) -> None:
        """Build these API clients in worker threads, side by side: a client's TLS context and secrets take tens
        of ms of CPU that would otherwise stall the event loop inside the first step that asks for it. Errors are
        left for that step to meet and report."""

        def build(kind: str) -> None:
            try:
                self._client(kind)
            except Exception:  # noqa: BLE001 - reported by the step that needs the client
                pass

        await asyncio.gather(*(asyncio.to_thread(build, k) for k in kinds if k not in self._clients))

    def okta(self) -> OktaClient:
        return self._client("okta")

    def client(self, kind: str) -> Any:
        """The API client of this kind (a `CLIENTS` kind), built on first use."""
        return self._client(kind)

    def ws1(self) -> Any:
        # Kept for the Workspace ONE call sites while room E reshapes Ws1Client; the plug-in's own helper is
        # odatui.mdm.ws1.steps.common.ws1_client.
        return self._client("ws1")

    async def aclose(self) -> None:
        for client in self._clients.values():
            close = getattr(client, "aclose", None)
            if close is not None:
                await close()
        self._clients.clear()


@asynccontextmanager
async def clients(config: Any, secrets: Any, outputs: Mapping[str, Mapping[str, Any]] | None = None,
                  *kinds: str) -> AsyncIterator[Context]:
    """A Context with these clients prepared (keychain reads and TLS set-up off the event loop) and always closed:
    for the read-only and one-off calls of the faces (status, devices, repush, test connection) and the MDM
    plug-ins' readers, which use the clients as the steps do."""
    ctx = Context(config, secrets, outputs or {})
    try:
        await ctx.prepare_clients(*kinds)
        yield ctx
    finally:
        await ctx.aclose()


class Step(ABC):
    id: ClassVar[str]
    title: ClassVar[str]
    needs: ClassVar[tuple[str, ...]] = ()
    # Config fields (dotted) this step cannot do without; the auth fields of its clients are added to them
    # (client_fields), so a run names every empty field before anything starts.
    required_fields: ClassVar[tuple[str, ...]] = ()
    # The API clients (CLIENTS kinds) the step uses, so they are built off the loop before it starts.
    clients: ClassVar[tuple[str, ...]] = ()

    def applies(self, config: Config) -> bool:
        """False when this step has nothing to do for this config (the engine marks it skipped)."""
        return True

    @abstractmethod
    async def inspect(self, ctx: Context) -> Change:
        """Look at the live tenant and say what `apply` would do. Must not change anything."""

    @abstractmethod
    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        """Make the change; return the outputs (ids created or adopted). Raise StepError / NeedsAction.
        Standalone: it looks at the tenant itself first, so it is safe to call without a fresh `inspect`."""

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        """One line in the past tense for what `apply` did (run summary, status, Done screen); the plan's line
        by default."""
        return change.summary

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        """What the engine calls right after `inspect` returned `change` (CREATE or UPDATE) in the same attempt.

        The default is `apply`, which looks again. A step may override it to act on `change.found` and skip the
        repeated reads (each one a round trip to the tenant). The engine inspects afresh before every attempt,
        so `change` is never older than this attempt; a retry never acts on what an earlier attempt saw."""
        return await self.apply(ctx, progress)
