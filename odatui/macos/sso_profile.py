"""The one builder of the Platform SSO profile: the settings from the config (org, client ID, floor, UPN,
[rollout.psso], SCEP, the JIT RegistrationToken) and the Workspace ONE Custom Settings fragments made from them.

The wizard's export, `odatui export` and the `ws1.profile` step all call `sso_settings` and `ws1_fragments`, so
the three carry the same bytes for the same config (tests/test_guardrails.py compares them byte for byte).
"""

from __future__ import annotations

from typing import Any

from odatui.core import jit
from odatui.macos import scep
from odatui.macos import mobileconfig
from odatui.macos.payloads import PssoSettings, all_payloads, org_host_from_url


def sso_settings(config: Any, secrets: Any, client_id: str, org_host: str | None = None) -> PssoSettings:
    """Every setting of the SSO profile. `org_host`: the host okta.app found (custom domain), else the config's."""
    rollout = config.rollout
    host = org_host or org_host_from_url(config.okta.org_url)
    token = jit.registration_token(host) if rollout.psso.get("enable_create_user_at_login") else None
    return PssoSettings(org_host=host, client_id=(client_id or "").strip(), macos_min=rollout.macos_min,
                        user_principal_name=rollout.user_principal_name or None, psso=rollout.psso,
                        scep=scep.settings(config, secrets), registration_token=token)


def ws1_fragments(settings: PssoSettings) -> list[str]:
    """Each payload as a WS1 Custom Settings fragment, in install order: the `*.ws1.xml` files of the export and
    the profile's CustomSettingsList are these strings."""
    return [mobileconfig.ws1_custom_settings(p) for p in all_payloads(settings).values()]
