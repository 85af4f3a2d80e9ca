"""Plan warnings about the profile that no vendor refuses but that break Macs: lines for `ws1.profile`'s plan.

Each line starts with "warning:" so faces can show it apart from the details. Pure: config in, lines out.
"""

from __future__ import annotations

import re
from typing import Any

from odatui.core.psso_options import lockout_warning

# Other MDMs' variable syntax: Jamf $USERNAME / $EMAIL, Kandji/Fleet/Addigy $FLEET_VAR_… / %Email% style. WS1
# substitutes only its own lookup values in braces, e.g. {EmailAddress} (Okta's "Configure device configuration
# profiles for PSSO using Workspace ONE" uses it for OktaVerify.UserPrincipalName); anything else reaches the Mac
# literally.
_FOREIGN_VARIABLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*|\$\{[^}]*\}|%[^%\s]+%")


def upn_warning(user_principal_name: str) -> str | None:
    m = _FOREIGN_VARIABLE.search(user_principal_name or "")
    if not m:
        return None
    return (f"warning: rollout.user_principal_name uses {m.group(0)!r}, another MDM's variable syntax; Workspace ONE "
            "sends it to the Mac literally. Use a Workspace ONE lookup value such as {EmailAddress} "
            "(or {EnrollmentUser}).")


def jit_notes(psso: dict[str, Any]) -> list[str]:
    """What Okta's JIT page asks of the admin that odatui cannot do (Okta, "Just-In-Time Local Account Creation for
    macOS", help.okta.com/oie/en-us/content/topics/oda/jit-provisioning-oda.htm: an Early Access feature turned on
    in the Admin Console; the app-user attributes macOSAccountUsername / macOSAccountFullName)."""
    if not psso.get("enable_create_user_at_login"):
        return []
    out = ["note: just-in-time account creation: turn on the Early Access feature in the Okta Admin Console "
           "(Settings > Features) and keep Okta Verify 9.25 or later; the profile carries a random "
           "RegistrationToken (kept for this target, never shown)."]
    mapping = psso.get("token_to_user_mapping") or {}
    attrs = [a for a in mapping.values() if a in ("macOSAccountUsername", "macOSAccountFullName")]
    if attrs:
        out.append("note: token_to_user_mapping uses the Okta app-user attribute(s) " + ", ".join(attrs)
                   + ": add them to the Platform SSO app's user profile (Profile Editor) and fill them for each "
                   "user, or the Mac account gets no name.")
    return out


def profile_warnings(config: Any) -> tuple[str, ...]:
    out: list[str] = []
    rollout = config.rollout
    upn = upn_warning(rollout.user_principal_name)
    if upn:
        out.append(upn)
    lockout = lockout_warning(rollout.psso)
    if lockout:
        out.append(lockout)
    out += jit_notes(rollout.psso)
    if rollout.psso.get("registration_during_setup"):
        # aftersixcomputers.com "How to Troubleshoot Apple Platform SSO" (a WS1 practitioner): consoles 2410, 2506
        # and 2509 "will brick your macOS 26 device during Setup Assistant" with these keys on; built-in PSSO
        # profiles are broken before 2506 Patch 6 (…/how-to-configure-apple-platform-sso-with-okta-desktop-
        # password-sync). Not confirmed by Omnissa release notes: unverified beyond that source.
        out.append("warning: registration during Setup Assistant is on: Workspace ONE UEM consoles 2410, 2506 and "
                   "2509 are reported to leave macOS 26 Macs stuck in Setup Assistant with it; check your console "
                   "version (and its patch level) with Omnissa before enrolling new Macs.")
    elif rollout.macos_min == 26:
        out.append("note: macOS 26 floor without rollout.psso.registration_during_setup: the profile is the same "
                   "as for macOS 15 (Okta Verify 9.52+ required); set registration_during_setup = true for "
                   "Simplified Setup (Platform SSO registration in Setup Assistant).")
    return tuple(out)


def rollout_notes(config: Any) -> tuple[str, ...]:
    """Every config-derived note and warning for the profile: the SCEP choice when it is not odatui's, then
    `profile_warnings`. Shown in plan even before `ws1.profile` can inspect."""
    from odatui.macos import scep

    line = scep.summary(config)
    static = (scep.STATIC_RISKS,) if scep.scep_wanted(config) else ()  # rollout.scep = "static": its four risks
    return ((line,) if line.startswith("note:") else ()) + static + profile_warnings(config)
