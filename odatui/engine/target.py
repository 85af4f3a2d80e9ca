"""Binding a run to its target before any change: which tenants the config reaches (odatui.core.identity), their
locks, and the run state kept under their canonical name."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from odatui.core.errors import OdatuiError
from odatui.core.identity import Identity, client_kinds, resolve
from odatui.core.locks import TenantLocks
from odatui.core.state import StateStore
from odatui.steps.base import Context


@dataclass
class Bound:
    store: StateStore  # the canonical target's store (locked when locked_here)
    identity: Identity
    locks: TenantLocks | None  # the tenant locks taken here, if any
    locked_here: bool  # the state folder's lock was taken here (release it after the run)


async def bind(ctx: Context, store: StateStore, *, have_locks: bool) -> Bound:
    """Learn which tenants this config reaches, take their locks and switch to their run state."""
    await ctx.prepare_clients(*client_kinds(ctx.config))
    try:
        known = store.load().identity
    except OdatuiError:
        known = None
    identity = await resolve(ctx, known=known)
    # Only confirmed parts lock across folders: an unconfirmed one is a spelling, and the state folder's lock
    # below covers it.
    names = tuple(n for part, n in zip(("okta", "ws1"), identity.lock_names, strict=True)
                  if part in identity.confirmed)
    locks = None
    if names and not have_locks:
        locks = TenantLocks(names)
        await asyncio.to_thread(locks.acquire)
    if store.held:
        return Bound(store, identity, locks, False)
    # The spelling's lock too, so whoever holds it (an older odatui, a caller) still keeps this run out.
    spelled = store
    try:
        spelled.acquire()
        try:
            store = spelled.rebind(identity.key)
            if store is not spelled:
                store.acquire()
        except BaseException:
            spelled.release()
            raise
    except BaseException:
        if locks is not None:
            locks.release()
        raise
    if store is not spelled:
        spelled.release()
    return Bound(store, identity, locks, True)
