"""The `[rollout.psso]` table: Platform SSO keys an admin may set, snake_case of Apple's names, each gated by the
macOS floor that introduced it.

Names, types, allowed values and the macOS version of each key come from Apple's device-management schema
(apple/device-management mdm/profiles/com.apple.extensiblesso.yaml, `PlatformSSO` subkeys): the PlatformSSO
dictionary is macOS 14.0; FileVaultPolicy, LoginPolicy, UnlockPolicy, OfflineGracePeriod,
AuthenticationGracePeriod and NonPlatformSSOAccounts are macOS 15.0. EnableRegistrationDuringSetup (macOS 26
Simplified Setup) is newer than the pinned schema; Okta's "PSSO for macOS: Version compatibility and features"
(help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/about-psso-version-history.htm: "macOS 26 Tahoe … the
zero-touch deployment flow through Apple Setup Assistant") and Fleet's / Jamf's Okta guides (fleetdm.com/guides/
deploying-okta-platform-sso-with-fleet, trusted.jamf.com/docs/psso-jamfpro-okta) date it to macOS 26.
Pure: no I/O. Bad values raise UsageError (exit 2) naming `rollout.psso.<key>` and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from odatui.core.errors import UsageError

# Apple's rangelists (com.apple.extensiblesso.yaml, PlatformSSO.FileVaultPolicy / LoginPolicy / UnlockPolicy).
_POLICIES = ("AttemptAuthentication", "RequireAuthentication", "AllowOfflineGracePeriod",
             "AllowAuthenticationGracePeriod")
_UNLOCK_POLICIES = _POLICIES + ("AllowTouchIDOrWatchForUnlock",)
_AUTH_MODES = ("Standard", "Admin", "Groups")  # NewUserAuthorizationMode / UserAuthorizationMode rangelist


@dataclass(frozen=True)
class Key:
    apple: str  # Apple's key in the PlatformSSO dictionary
    floor: int  # the first macOS floor (13, 14, 15, 26) that knows it
    kind: str  # "policies", "int", "bool", "mode", "names", "text", "mapping"
    allowed: tuple[str, ...] = ()


KEYS: dict[str, Key] = {
    "file_vault_policy": Key("FileVaultPolicy", 15, "policies", _POLICIES),
    "login_policy": Key("LoginPolicy", 15, "policies", _POLICIES),
    "unlock_policy": Key("UnlockPolicy", 15, "policies", _UNLOCK_POLICIES),
    "offline_grace_period": Key("OfflineGracePeriod", 15, "int"),
    "authentication_grace_period": Key("AuthenticationGracePeriod", 15, "int"),
    "non_platform_sso_accounts": Key("NonPlatformSSOAccounts", 15, "names"),
    "enable_create_user_at_login": Key("EnableCreateUserAtLogin", 14, "bool"),
    "new_user_authorization_mode": Key("NewUserAuthorizationMode", 14, "mode", _AUTH_MODES),
    "user_authorization_mode": Key("UserAuthorizationMode", 14, "mode", _AUTH_MODES),
    "token_to_user_mapping": Key("TokenToUserMapping", 14, "mapping"),
    "account_display_name": Key("AccountDisplayName", 14, "text"),
    "registration_during_setup": Key("EnableRegistrationDuringSetup", 26, "bool"),
}
# odatui's own switches in [rollout.psso]: never written into the profile.
ACCEPT_LOCKOUT = "accept_lockout_risk"
OWN_KEYS = {ACCEPT_LOCKOUT: Key("", 13, "bool")}
# Apple (com.apple.extensiblesso.yaml, PlatformSSO.OfflineGracePeriod / AuthenticationGracePeriod): "Required when
# 'AllowOfflineGracePeriod' is set" / "… when 'AllowAuthenticationGracePeriod' is set". The policy names the grace,
# the companion key gives its length: a policy without it is one Apple's schema calls incomplete.
COMPANIONS = {"AllowOfflineGracePeriod": "offline_grace_period",
              "AllowAuthenticationGracePeriod": "authentication_grace_period"}
_POLICY_KEYS = ("login_policy", "unlock_policy", "file_vault_policy")
# TokenToUserMapping subkeys (Apple: AccountName, FullName), snake_case in the config.
_MAPPING_KEYS = {"account_name": "AccountName", "full_name": "FullName"}


def _fail(key: str, problem: str, fix: str) -> UsageError:
    return UsageError(f"rollout.psso.{key}: {problem}", hint=fix)


INT_MAX = 2**63 - 1  # plistlib (and the profile format) holds signed 64-bit integers


def _check_value(key: str, spec: Key, value: Any) -> Any:
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise _fail(key, f"must be true or false (got {value!r})", f"write {key} = true or {key} = false")
        return value
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _fail(key, f"must be a whole number of seconds, 0 or more (got {value!r})",
                        f"write e.g. {key} = 86400")
        if value > INT_MAX:  # a plist <integer> is a signed 64-bit number; a larger one cannot be written at all
            raise _fail(key, f"is larger than {INT_MAX}, the largest number a profile can hold",
                        f"write e.g. {key} = 86400 (seconds)")
        return value
    if spec.kind == "text":
        if not isinstance(value, str) or not value.strip() or any(ord(c) < 32 for c in value):
            raise _fail(key, f"must be a non-empty line of text (got {value!r})", f'write e.g. {key} = "Okta"')
        return value.strip()
    if spec.kind == "mode":
        if value not in spec.allowed:
            raise _fail(key, f"{value!r} is not a value Apple lists", "use one of " + ", ".join(spec.allowed))
        return value
    if spec.kind in ("policies", "names"):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise _fail(key, f"must be a list of names (got {value!r})", f'write e.g. {key} = ["…"]')
        if spec.kind == "policies":
            bad = [v for v in value if v not in spec.allowed]
            if bad:
                raise _fail(key, f"{bad[0]!r} is not a policy Apple lists for {spec.apple}",
                            "use any of " + ", ".join(spec.allowed))
        return list(dict.fromkeys(v.strip() for v in value))
    # mapping: TokenToUserMapping {AccountName, FullName} → Okta app-user attribute names
    if not isinstance(value, Mapping) or not value:
        raise _fail(key, f"must be a table with account_name and/or full_name (got {value!r})",
                    f'write {key} = {{ account_name = "macOSAccountUsername", full_name = "macOSAccountFullName" }}')
    out = {}
    for sub, attr in value.items():
        apple = _MAPPING_KEYS.get(sub) or (sub if sub in _MAPPING_KEYS.values() else None)
        if apple is None:
            raise _fail(key, f"unknown key {sub!r}", "its keys are account_name and full_name")
        if not isinstance(attr, str) or not attr.strip():
            raise _fail(key, f"{sub} must name an Okta attribute (got {attr!r})",
                        'e.g. "macOSAccountUsername" (Okta app-user attribute)')
        out[apple] = attr.strip()
    return out


def check_floor(options: Mapping[str, Any], floor: int) -> None:
    """Refuse a key the macOS floor does not have (a Mac below its version would ignore or reject it)."""
    for key in options:
        spec = KEYS.get(key)
        if spec is not None and floor < spec.floor:
            extra = " (the PlatformSSO dictionary itself starts with macOS 14)" if floor == 13 else ""
            raise _fail(key, f"needs macOS {spec.floor} or later, but rollout.macos_min is {floor}{extra}",
                        f"set rollout.macos_min = {spec.floor} (a separate profile for those Macs), or remove {key}")


def normalise(options: Mapping[str, Any] | None, floor: int | None = None) -> dict[str, Any]:
    """The table as given (snake_case keys) checked and cleaned; with `floor`, also gated by it."""
    out: dict[str, Any] = {}
    for key, value in (options or {}).items():
        spec = KEYS.get(key) or OWN_KEYS.get(key)
        if spec is None:
            guess = difflib.get_close_matches(key, KEYS, n=1)
            raise _fail(key, "is not a Platform SSO key odatui knows",
                        f"did you mean {guess[0]}?" if guess else "the keys are " + ", ".join(KEYS))
        out[key] = _check_value(key, spec, value)
    if floor is not None:
        check_floor(out, floor)
    check_companions(out)
    check_lockout(out)
    return out


def check_companions(options: Mapping[str, Any]) -> None:
    """A policy that allows a grace period needs the grace period's length (Apple: "Required when …")."""
    for key in _POLICY_KEYS:
        for policy in options.get(key) or ():
            companion = COMPANIONS.get(policy)
            if companion and companion not in options:
                raise _fail(key, f"{policy} needs {companion} (Apple: \"Required when '{policy}' is set\")",
                            f"add {companion} = 86400 (seconds) to [rollout.psso], or drop {policy}")


def lockout_policies(options: Mapping[str, Any]) -> list[str]:
    """The policies that lock users out when Okta cannot be reached: RequireAuthentication with no offline grace
    period in that policy and no NonPlatformSSOAccounts (Okta, "PSSO for macOS: version compatibility",
    help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/about-psso-version-history.htm: RequireAuthentication
    "can lock users and unregistered local accounts out when Okta is unreachable")."""
    if options.get("non_platform_sso_accounts"):
        return []
    return [key for key in _POLICY_KEYS if "RequireAuthentication" in (options.get(key) or ())
            and "AllowOfflineGracePeriod" not in (options.get(key) or ())]


def check_lockout(options: Mapping[str, Any]) -> None:
    """Refuse a lock-out policy unless the admin accepted the risk in writing (accept_lockout_risk = true)."""
    risky = lockout_policies(options)
    if risky and not options.get(ACCEPT_LOCKOUT):
        raise _fail(risky[0], "RequireAuthentication without a grace period or non_platform_sso_accounts locks "
                              "users (and local admins not registered) out of their Macs whenever Okta is unreachable",
                    f'add "AllowOfflineGracePeriod" to {risky[0]} with offline_grace_period = 86400, or list a local '
                    'admin in non_platform_sso_accounts = ["localadmin"]; or set accept_lockout_risk = true '
                    "to accept it")


def lockout_warning(options: Mapping[str, Any]) -> str | None:
    """The plan's warning when the admin accepted a lock-out policy."""
    risky = lockout_policies(options)
    if not risky:
        return None
    return (f"warning: rollout.psso.{risky[0]} requires Okta at the login window with no grace period and no "
            "non_platform_sso_accounts (accept_lockout_risk = true): when Okta is unreachable, users and unregistered "
            "local admins cannot sign in to these Macs.")


def apple_keys(options: Mapping[str, Any]) -> dict[str, Any]:
    """Checked snake_case options → the PlatformSSO dictionary entries (Apple's names)."""
    return {KEYS[k].apple: v for k, v in options.items() if k in KEYS}
