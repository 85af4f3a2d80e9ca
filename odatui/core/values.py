"""Values that come from a step's output when a run has read them from the tenant, else from the config: one
resolver for each, so the steps, the export and the wizard never disagree on which wins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def client_id(outputs: Mapping[str, Mapping[str, Any]], config: Any) -> str:
    """The Platform SSO app's client ID: what `okta.app` read from Okta in this run (or the last one), else the one
    the admin typed from the app's Sign On tab (`[okta] client_id`, required when odatui has no API access). Empty
    when neither is known."""
    found = (outputs.get("okta.app") or {}).get("client_id")
    return str(found or getattr(config.okta, "client_id", "") or "")
