"""What the Workspace ONE steps share: the names odatui gives what it creates, and the duplicate check."""

from __future__ import annotations

from typing import Any

from odatui.errors import StepError


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
