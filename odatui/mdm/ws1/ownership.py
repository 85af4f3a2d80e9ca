"""Is the object a ledger entry names really odatui's? The one check `remove` (and every path that deletes what
odatui made: replace on rename, a failed step's leftovers) runs right before each delete.

The run state can be damaged or edited: an entry may name another admin's profile or Okta assignment with our
name beside it. So each object is read back from the tenant and deleted only when
- its name is the ledger's name (WS1 compares smart group names without case, so that comparison does too), and
- where the vendor keeps a note (odatui.core.markers: a profile's Description, an assignment rule's description), the
  note carries this target's marker. An object odatui found already there (`adopted`) carries no marker of ours and
  is checked by name only; `--include-adopted` is the admin's explicit choice to remove it.
Kinds without a note field (WS1 smart groups and apps, Okta group assignments) are checked by name, version and
app; the marker module cites why.
"""

from __future__ import annotations

from typing import Any

from odatui.core.markers import carries, targets_in


def _same(a: object, b: object) -> bool:
    return str(a or "").strip().casefold() == str(b or "").strip().casefold()


def _marker_problem(text: object, target: str | None, origin: str, what: str) -> str | None:
    if origin != "created":
        return None
    if carries(text, target):
        return None
    others = [t for t in targets_in(text) if t != target]
    if others:
        return f"its {what} says it is odatui's for another target ({others[0]}), not this one"
    return (f"its {what} does not carry odatui's marker for this target, so it is not known to be odatui's "
            "(if it is, `odatui apply` marks it again; else delete it in the console)")


async def not_ours(ctx: Any, item: Any, target: str | None, rules: Any = None) -> str | None:
    """Why the object `item` (a mdm.ws1.remover.Removal) must be left alone, or None when it may be deleted.
    `rules`: the app's assignment rules when the caller has read them already (a ws1.rule item)."""
    from odatui.mdm.ws1.steps.assign import is_our_rule
    from odatui.mdm.ws1.steps.common import APP_NAME

    e, kind, origin = item.entry, item.kind, item.origin
    if kind == "ws1.profile":
        general = (await ctx.ws1().get_profile(int(e["id"]))).get("General") or {}
        if not _same(general.get("Name"), e.get("name")):
            return f"the profile with id {e.get('id')} is named {general.get('Name')!r}, not {e.get('name')!r}"
        return _marker_problem(general.get("Description"), target, origin, "description")
    if kind == "ws1.rule":
        if rules is None:
            rules = await ctx.ws1().get_assignment_rules(e["app_uuid"])
        sg = str(e["sg_uuid"]).lower()
        if origin != "created":
            return None
        ours = [r for r in (rules or {}).get("assignments") or [] if is_our_rule(r, sg)]
        if not ours:
            return f"no rule named by odatui delivers app {e.get('app_uuid')} to smart group {e.get('group')!r}"
        text = (ours[0].get("distribution") or {}).get("description")
        others = [t for t in targets_in(text) if t != target]
        if others:  # odatui's rule, but for another target: never ours to delete from here
            return f"its description says it is odatui's for another target ({others[0]}), not this one"
        return None  # our name prefix and no other target's marker (rules written before markers have none)
    if kind == "ws1.app":
        app = await ctx.ws1().get_internal_app(int(e["id"]))
        name = str(app.get("ApplicationName") or "")
        if not _same(name, APP_NAME):
            return f"the app with id {e.get('id')} is {name!r}, not {APP_NAME}"
        version = e.get("version")
        have = {str(app.get("ActualFileVersion") or ""), str(app.get("BuildVersion") or "")}
        if version and str(version) not in have:
            return f"the app with id {e.get('id')} is version {sorted(have - {''}) or '?'}, not {version}"
        notes = str((app.get("MacOsSoftwareDeploymentSummary") or {}).get("Pkginfo") or "")
        others = [t for t in targets_in(notes) if t != target]
        if origin == "created" and others:
            return f"its pkginfo says it was uploaded by odatui for another target ({others[0]}), not this one"
        return None  # name and version match; the pkginfo marker is checked where WS1 returns it (unverified)
    if kind == "ws1.smart_group":
        group = await ctx.ws1().get_smart_group(int(e["id"]))
        if group is not None and not _same(group.name, e.get("name")):
            return f"the smart group with id {e.get('id')} is named {group.name!r}, not {e.get('name')!r}"
        return None
    if kind == "ws1.blob":
        return None  # no read API but the download itself, and no note: the ledger's record is all there is
    if kind == "okta.group":
        app = await ctx.okta().app(e["app_id"])
        label = ctx.config.okta.app_label
        if not _same(app.get("label"), label):
            return f"Okta app {e.get('app_id')} is {app.get('label')!r}, not odatui's app {label!r}"
        group = await ctx.okta().group_by_name(str(e.get("name") or ""))
        if group is None or group.get("id") != e.get("group_id"):
            return f"Okta group {e.get('group_id')} is not the group named {e.get('name')!r}"
        return None
    return f"odatui does not know objects of kind {kind!r}"
