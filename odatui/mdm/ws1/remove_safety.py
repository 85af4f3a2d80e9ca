"""What `remove` must not take, each as one check beside the others: an object the check protects stays, and the
plan says why. Okta Verify is shared: other admins deploy it for FastPass and Desktop MFA, so its versions carry
their rules too.

Facts: WS1 "Only the current version … would be retired and be removed from devices" and deleting an active
internal app "behaves as a retired application" (UEM 2604 mamv1 `POST /apps/internal/{id}/retire`; VMware docs,
Application Management, Delete Apps): a version that carries another admin's rule takes Okta Verify off their Macs
when it goes. Okta, "Configure and deploy Desktop MFA policies for macOS": the Desktop MFA profile
(`com.okta.deviceaccess.servicedaemon`) needs Okta Verify on the Mac; uninstalling it breaks Desktop MFA and
FastPass.

Each check is `async (ctx, item, cache, named) -> str | None`: None lets the item go, a sentence keeps it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TextIO

from odatui.core.errors import OdatuiError

DESKTOP_MFA_DOMAIN = "com.okta.deviceaccess.servicedaemon"
PROFILE_SCAN_MAX = 200  # profiles of the organization group read for Desktop MFA (one page of the search)


async def app_rules(ctx: Any, app_uuid: str, cache: dict[str, Any]) -> dict[str, Any] | None:
    """The app's assignment rules (cached per plan), None when the app is gone."""
    from odatui.mdm.ws1.api.client import Ws1ApiError

    key = f"rules:{app_uuid}"
    if key not in cache:
        try:
            cache[key] = await ctx.ws1().get_assignment_rules(app_uuid)
        except Ws1ApiError as exc:
            if exc.error_code == 7000 or exc.status == 404:  # the app is gone, and its rules with it
                cache[key] = None
            else:
                raise
    return cache[key]


def foreign_rule_names(rules: dict[str, Any] | None) -> list[str]:
    """Names of the rules on an app version that odatui did not write."""
    from odatui.mdm.ws1.steps.assign import is_our_rule

    return [str((r.get("distribution") or {}).get("name") or "(unnamed)")
            for r in (rules or {}).get("assignments") or [] if not is_our_rule(r)]


async def foreign_rules(ctx: Any, item: Any, cache: dict[str, Any], named: set[str]) -> str | None:
    """An Okta Verify version that carries another admin's rules is never deleted (their Macs would lose it)."""
    if item.kind != "ws1.app":
        return None
    uuid = item.entry.get("uuid") or (await ctx.ws1().get_internal_app(int(item.entry["id"]))).get("uuid")
    theirs = foreign_rule_names(await app_rules(ctx, str(uuid), cache))
    if not theirs:
        return None
    return (f"carries {len(theirs)} assignment rule(s) that are not odatui's ({', '.join(repr(n) for n in theirs)}): "
            "deleting it would take Okta Verify off those Macs (FastPass, Desktop MFA); odatui's own rules on it go")


async def adopted_in_use(ctx: Any, item: Any, cache: dict[str, Any], named: set[str]) -> str | None:
    """With --include-adopted: a smart group that existed before odatui and still has members stays unless the
    admin names it (`--include-adopted NAME`)."""
    if item.origin != "adopted" or item.kind != "ws1.smart_group":
        return None
    name = str(item.entry.get("name"))
    if name in named:
        return None
    group = await ctx.ws1().get_smart_group(int(item.entry["id"]))
    if group is None or not group.devices:
        return None
    return (f"existed before odatui and has {group.devices} Mac(s): name it to remove it "
            f"(`odatui remove --include-adopted {name!r}`)")


SafetyCheck = Callable[[Any, Any, dict[str, Any], set[str]], Awaitable[str | None]]
# Each check on its own; a new one (e.g. an object marker) goes in this tuple.
SAFETY_CHECKS: tuple[SafetyCheck, ...] = (foreign_rules, adopted_in_use)


async def why_keep(ctx: Any, item: Any, cache: dict[str, Any], named: set[str]) -> str | None:
    """The first reason a safety check gives to leave the item, or None."""
    for check in SAFETY_CHECKS:
        reason = await check(ctx, item, cache, named)
        if reason:
            return reason
    return None


async def restorable(ctx: Any, planned: list[Any], adopted: list[Any]) -> list[Any]:
    """Adopted Okta Verify versions that are retired now (odatui retired them when it moved the assignment to its
    own version): when that version goes, they are made active again so the Macs keep an Okta Verify. Whether the
    admin retired one by hand since cannot be told apart (unverified; the plan names each)."""
    deleting = [i for i in planned if i.kind == "ws1.app" and i.origin == "created" and i.present and not i.keep]
    if not deleting:
        return []
    out = []
    for item in adopted:
        if item.kind == "ws1.app" and item.origin == "adopted":
            from odatui.mdm.ws1.api.client import Ws1ApiError

            try:
                app = await ctx.ws1().get_internal_app(int(item.entry["id"]))
            except Ws1ApiError as exc:
                if exc.error_code == 7000 or exc.status == 404:  # deleted by hand: nothing to restore
                    continue
                raise
            if str(app.get("Status") or "").lower() == "retired":
                out.append(item)
    return out


async def okta_verify_users(ctx: Any, og_id: Any) -> list[str]:
    """Other Okta Verify users in the organization group: macOS profiles that deploy Desktop MFA. Reads only."""
    if og_id is None:
        return []
    client = ctx.ws1()
    found = []
    for summary in (await client.search_profiles(int(og_id), ""))[:PROFILE_SCAN_MAX]:
        body = await client.get_profile(summary.id)
        text = " ".join(str(e.get("CustomSettings") or "") for e in body.get("CustomSettingsList") or [])
        if DESKTOP_MFA_DOMAIN in text:
            found.append(f"profile {summary.name!r} (id {summary.id}) deploys Desktop MFA ({DESKTOP_MFA_DOMAIN})")
    return found


async def restore_adopted(ctx: Any, restores: list[Any], out: TextIO) -> int:
    """Make the adopted versions odatui retired active again, before its own versions go: the Macs are never left
    without an assigned Okta Verify (WS1: "If a lower version is assigned, it will be deployed")."""
    failed = 0
    for item in restores:
        try:
            await ctx.ws1().unretire_internal_app(int(item.entry["id"]))
        except OdatuiError as exc:
            failed += 1
            out.write(f"  FAILED  making {item.describe()} active again: {exc.message}\n")
            continue
        out.write(f"  restored {item.describe()}: active again (it was active before odatui's version)\n")
    return failed


async def breakage(ctx: Any, state: Any, items: list[Any], restores: list[Any]) -> list[str]:
    """What removing Okta Verify would break, when the plan leaves no version of it active."""
    apps = [i for i in items if i.kind == "ws1.app" and i.present]
    if not apps or restores or any(i.keep for i in apps):
        return []
    og_id = (state.steps.get("preflight.ws1").outputs if state.steps.get("preflight.ws1") else {}).get("og_id")
    users = await okta_verify_users(ctx, og_id)
    lines = ["Removing Okta Verify takes it off these Macs (WS1 removes a deleted version from devices): FastPass "
             "and Desktop MFA stop working on them."]
    lines += [f"  warning: {u}: those Macs lose Desktop MFA" for u in users]
    return lines
