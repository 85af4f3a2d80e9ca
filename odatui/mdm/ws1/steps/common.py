"""What the Workspace ONE steps share: the names odatui gives what it creates, and the duplicate check."""

from __future__ import annotations

from typing import Any

from odatui.core.errors import StepError


APP_NAME = "Okta Verify"  # the pkginfo `name`, which WS1 shows as the app name
RULE_NAME_PREFIX = "Okta Verify (odatui)"


def duplicates_error(what: str, ids: list[int], og_id: Any, where: str, also: str = "") -> StepError:
    """Two of what odatui creates once: picking one would leave Macs half on the other, so stop and name both."""
    ids = sorted(ids)
    keep, extra = ids[0], ", ".join(str(i) for i in ids[1:])
    return StepError(
        f"{len(ids)} {what} exist in organization group {og_id} (ids {', '.join(str(i) for i in ids)}); odatui "
        "manages one. Two runs on this tenant at once (another machine or state folder) can leave two.",
        hint=f"in the console ({where}) delete {extra} and keep {keep}"
             + (f", {also}" if also else "") + "; then run `odatui apply` again")


def group_covered(rules: dict[str, Any], sg_uuid: str) -> bool:
    """Whether a smart group's Macs get the app automatically: the first rule, in priority order, that names the
    group decides (WS1 applies the highest-priority assignment a device falls into: "Application Assignment
    Priority", Omnissa docs, Workspace ONE UEM Mobile Application Management; unverified beyond that page), and an
    exclusion always wins. The one rule ws1.assign and verify both use: an On-Demand rule ahead of an Auto rule
    for the same group means the group is NOT covered."""
    wanted = sg_uuid.lower()
    if wanted in {str(g).lower() for g in rules.get("excluded_smart_groups") or []}:
        return False
    ordered = sorted(enumerate(rules.get("assignments") or []),
                     key=lambda pair: (_priority(pair[1]), pair[0]))
    for _, rule in ordered:
        dist = rule.get("distribution") or {}
        if wanted in {str(g).lower() for g in dist.get("smart_groups") or []}:
            return dist.get("app_delivery_method") == "AUTO"
    return False


def _priority(rule: dict[str, Any]) -> int:
    try:
        return int(rule.get("priority"))
    except (TypeError, ValueError):
        return 1 << 30  # no priority: after every rule that has one, in the order listed
