"""Which tenant a config points at, independent of how it is spelled.

`ACME` and `acme`, `https://127.0.0.1:8443` and `https://localhost:8443` reach one organization group and one
Okta org; the run state and the run lock are keyed on what the tenants say they are, so two spellings can
never run side by side (and create two apps and two profiles):

- Okta: the org's `id` from `GET /.well-known/okta-organization` ("Org unique identifier", no credentials needed;
  https://developer.okta.com/docs/api/openapi/okta-management/management/tag/OrgSettingMetadata/).
- Workspace ONE: the organization group's numeric `Id` and `Uuid`, looked up from its Group ID
  (UEM System API v2 `GET /api/system/groups/search?groupid=`, whose reference says "Exact match is performed
  for this attribute"; that the match ignores case, as the console's Group IDs do, is unverified: the client
  compares case-insensitively, so `ACME` and `acme` resolve to one `Id` either way or not at all).

Resolved once per run, before any step changes anything (two cheap reads, sent together). A part that cannot be
resolved (offline, no credentials yet) falls back to the identity last recorded for this spelling, else to the
spelling itself; steps that need that tenant then fail on their own, so nothing is created under a guessed key.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from odatui.core.log import get_logger

log = get_logger("identity")

_SAFE = re.compile(r"[^A-Za-z0-9.\-]+")
UNCONFIRMED = "unconfirmed."  # the prefix of a part known only by its spelling (odatui.core.state.rebind adopts it later)


def _safe(text: str) -> str:
    return _SAFE.sub("_", text)


@dataclass(frozen=True)
class Identity:
    okta: str  # "okta-<org id>", or "unconfirmed.okta-<host>"
    ws1: str  # "ws1-og<id>-<uuid>", or "unconfirmed.ws1-<host>-<group id>"
    confirmed: tuple[str, ...] = ()  # which parts the live tenants confirmed: "okta", "ws1"
    problems: tuple[str, ...] = ()  # why a part is not confirmed (one line each)

    @property
    def key(self) -> str:
        return _safe(f"{self.okta}__{self.ws1}")

    @property
    def lock_names(self) -> tuple[str, str]:
        """One lock per tenant: a run on org X excludes every other run on org X, whatever its WS1 side."""
        return _safe(self.okta), _safe(self.ws1)

    def as_dict(self) -> dict[str, Any]:
        return {"okta": self.okta, "ws1": self.ws1}


def spelled(config: Any) -> Identity:
    """The identity as the config spells it (lower-cased): the fallback when the tenants cannot be asked."""
    okta = f"{UNCONFIRMED}okta-{(config.okta.host or 'none').lower()}"
    api = (config.ws1.api_url or "").removeprefix("https://").lower() or "none"
    ws1 = f"{UNCONFIRMED}ws1-{api}-{(config.ws1.group_id or 'none').lower()}"
    return Identity(okta, ws1)


def client_kinds(config: Any) -> list[str]:
    """The API clients `resolve` asks, for the tenants this config names (build them before, off the loop)."""
    return [k for k, url in (("okta", config.okta.org_url), ("ws1", config.ws1.api_url)) if url]


async def resolve(ctx: Any, *, known: dict[str, Any] | None = None) -> Identity:
    """Ask both tenants who they are. `known`: the identity last recorded for this spelling (state file)."""
    config = ctx.config
    fallback = spelled(config)
    known = known or {}

    async def okta_part() -> tuple[str | None, str | None]:
        if not config.okta.org_url:
            return None, None
        try:
            meta = await ctx.okta().org_metadata()
        except Exception as exc:  # noqa: BLE001 - any failure: not confirmed, said in one line
            return None, f"Okta org {config.okta.host}: {getattr(exc, 'message', None) or type(exc).__name__}"
        org_id = meta.get("id") if isinstance(meta, dict) else None
        if not isinstance(org_id, str) or not org_id:
            return None, f"Okta org {config.okta.host}: /.well-known/okta-organization has no org id"
        return f"okta-{org_id}", None

    async def ws1_part() -> tuple[str | None, str | None]:
        if not (config.ws1.api_url and config.ws1.group_id):
            return None, None
        try:
            og = await ctx.ws1().find_org_group(config.ws1.group_id)
        except Exception as exc:  # noqa: BLE001
            return None, f"Workspace ONE group {config.ws1.group_id}: {getattr(exc, 'message', None) or type(exc).__name__}"
        if og is None:
            return None, f"Workspace ONE group {config.ws1.group_id}: not found"
        return f"ws1-og{og.id}" + (f"-{og.uuid.lower()}" if og.uuid else ""), None

    (okta, okta_problem), (ws1, ws1_problem) = await asyncio.gather(okta_part(), ws1_part())
    confirmed = tuple(name for name, value in (("okta", okta), ("ws1", ws1)) if value)
    problems = tuple(p for p in (okta_problem, ws1_problem) if p)
    for problem in problems:
        log.info("target identity not confirmed: %s", problem)
    return Identity(okta or known.get("okta") or fallback.okta, ws1 or known.get("ws1") or fallback.ws1,
                    confirmed, problems)
