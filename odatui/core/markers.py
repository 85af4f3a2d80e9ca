"""The marker odatui leaves on what it creates, so the tenant itself says what is odatui's and for which target.

The run state's ledger says what odatui created; a damaged, deleted or edited state must not make `remove` delete
someone else's objects, nor lose ours. So every object that has a free-text field carries
`[odatui-target:<target key>]` (the canonical identity of odatui.core.identity: Okta org id and WS1 organization group),
and `remove` reads an object back and deletes it only when the marker (and the ledger's name) matches; `remove
--recover` finds ours by it.

Where a marker can live (vendor contracts in shared/vendor):
- WS1 device profile: `GeneralPayloadV2Entity.Description` (mdmv2, "Gets or sets description.").
- WS1 app assignment rule: `AppAssignmentDistributionV2Model.description` (mamv2, "Description of the assignment
  group.").
- WS1 smart group: none. `SmartGroupEditV1Model` (mdmv1 POST/PUT /smartgroups) has no description or notes field;
  the name is all there is.
- WS1 internal app: none at creation. `MacOsCreateApplicationRequestV1Model` has no note; `ApplicationEntity.Comments`
  exists only on the full-entity update InternalAppsV1_UpdateInternalAppAsync, whose treatment of omitted fields is
  unverified, so odatui does not write it. Name and version are checked instead.
- Okta group assignment: none. `ApplicationGroupAssignment` holds id, priority, profile (the app user profile, not
  a note) and links. The group's name and the app are checked instead.
"""

from __future__ import annotations

import re

PREFIX = "odatui-target:"
_FOUND = re.compile(r"\[odatui-target:([A-Za-z0-9._\-]+)\]")


def marker(target: str | None) -> str:
    """`[odatui-target:KEY]`; without a known target (a context built outside a run) the bare `[odatui]`, which no
    target's check accepts."""
    return f"[{PREFIX}{target}]" if target else "[odatui]"


def carries(text: object, target: str | None) -> bool:
    """True when `text` holds this target's marker (and the target is known)."""
    return bool(target) and isinstance(text, str) and marker(target) in text


def targets_in(text: object) -> list[str]:
    """Every target key a text's markers name (to tell "ours, for another target" from "not odatui's")."""
    return _FOUND.findall(text) if isinstance(text, str) else []
