"""Readiness warnings: what commonly breaks Desktop Password Sync outside the configuration odatui writes.

None of these stop the run (the admin may fix them later, or they concern a few users or Macs); each is one
line for the plan, the Review and Done screens and `plan --json`. A check that cannot run says so as a warning
too, instead of failing the preflight. The Macs' side (below the floor, no user-approved MDM, Intel) is read with
the waves in odatui.mdm.ws1.steps.wave_facts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from odatui.core.errors import OdatuiError
from odatui.macos.payloads import APP_IDS

SAMPLE = 3  # logins / device names named per warning
MAX_USERS = 10_000  # per run: "Everyone" in a large org would make the preflight page for minutes


def _sample(names: list[str], total: int) -> str:
    shown = ", ".join(names[:SAMPLE])
    return shown + (f" and {total - SAMPLE} more" if total > SAMPLE else "")


async def okta_warnings(client: Any, cfg: Any, *, custom_domain: str | None, verify: dict[str, Any] | None) -> list[str]:
    warnings: list[str] = []
    if custom_domain and cfg.host != custom_domain:
        # Okta's DPS profile pages: with a custom domain, use it in the profiles (help.okta.com/oie/en-us/
        # content/topics/oda/macos-pw-sync/configure-macos-password-sync-policies.htm).
        warnings.append(f"the org has the custom domain {custom_domain} but odatui is configured for {cfg.host}: users "
                        f"sign in at {custom_domain}, so Platform SSO registration may not match; set "
                        f"okta.org_url = https://{custom_domain} unless you mean to use the {cfg.host} host")
    # Okta serves authsrv for Okta Verify on every org host (Associated Domain Customizations:
    # https://developer.okta.com/docs/api/openapi/okta-management/management/tag/AssociatedDomainCustomizations);
    # macOS checks both app ids against it before Platform SSO registration.
    try:
        aasa = await client.apple_app_site_association()
        apps = ((aasa or {}).get("authsrv") or {}).get("apps") or []
        missing = [a for a in APP_IDS if a not in apps]
        if missing:
            warnings.append(f"https://{cfg.host}/.well-known/apple-app-site-association does not list "
                            f"{', '.join(missing)} under authsrv: Platform SSO registration will fail on this host. "
                            "If a proxy or CDN serves this host, let it pass /.well-known/ through to Okta")
    except OdatuiError as exc:
        warnings.append(f"could not read https://{cfg.host}/.well-known/apple-app-site-association: {exc.message}")
    # settings.userVerification REQUIRED: "during setup, users must enable biometrics on all platforms they are
    # using" (https://support.okta.com/help/s/article/How-to-Choose-Whether-Biometrics-Fingerprint-or-Face-Scanning-
    # is-Preferred-or-Required-when-Users-Sign-In-with-Okta-Verify; the setting is on
    # https://help.okta.com/oie/en-us/content/topics/identity-engine/authenticators/configure-okta-verify-options.htm)
    settings = (verify or {}).get("settings") or {}
    if settings.get("userVerification") == "REQUIRED":
        warnings.append("the Okta Verify authenticator requires user verification (biometrics): Macs without Touch "
                        "ID cannot finish registration; set it to Preferred or plan for Touch ID")
    if cfg.auth != "none":
        warnings += await _user_warnings(client, cfg.groups)
    return warnings


# User statuses (Okta Users API, "User status"): STAGED and PROVISIONED users are not activated yet; SUSPENDED and
# DEPROVISIONED users cannot sign in; the others can sign in but must first finish a recovery, unlock or a password
# change. https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/
MUST_ACT_FIRST = ("RECOVERY", "LOCKED_OUT", "PASSWORD_EXPIRED")


def _kinds(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(counter.items()))


async def _user_warnings(client: Any, groups: list[str]) -> list[str]:
    """Users of the assigned groups who are not ACTIVE or have no Okta password (`credentials.password` absent,
    e.g. federated users): Desktop Password Sync syncs the Okta password, so they cannot use it."""
    seen: set[str] = set()
    blocked: list[str] = []  # cannot sign in until an admin acts
    held: list[str] = []  # must finish a step at the next sign-in
    no_password: list[str] = []
    statuses: Counter[str] = Counter()
    providers: Counter[str] = Counter()
    capped = False
    for name in groups:
        try:
            group = await client.group_by_name(name)
            if group is None:
                continue  # okta.assign reports a missing group
            async for page in client.group_users(group["id"]):
                if len(seen) >= MAX_USERS:
                    capped = True
                    break
                for user in page:
                    uid = user.get("id")
                    if uid in seen:
                        continue
                    seen.add(uid)
                    login = str((user.get("profile") or {}).get("login") or uid)
                    status = str(user.get("status", "?"))
                    if status != "ACTIVE":
                        statuses[status] += 1
                        sample = held if status in MUST_ACT_FIRST else blocked
                        if len(sample) < SAMPLE:
                            sample.append(f"{login} ({status.lower()})")
                    credentials = user.get("credentials") or {}
                    if "password" not in credentials:
                        providers[str((credentials.get("provider") or {}).get("type", "?"))] += 1
                        if len(no_password) < SAMPLE:
                            no_password.append(login)
        except OdatuiError as exc:
            return [f"could not check the users of group {name!r}: {exc.message}"]
    out = []
    if capped:
        out.append(f"the groups have more than {MAX_USERS:,} users: only the first {len(seen):,} were checked for an "
                   "Okta password and ACTIVE status")
    total_no_password = sum(providers.values())
    if total_no_password:
        # Desktop Password Sync keeps the Mac password in step with the Okta password, so a user without one
        # (federated or passwordless) has nothing to sync: https://help.okta.com/oie/en-us/content/topics/oda/
        # oda-overview.htm (unverified wording; the requirement is the feature's premise).
        out.append(f"{total_no_password} user(s) of the assigned groups have no Okta password ({_kinds(providers)}; "
                   f"Desktop Password Sync needs one): {_sample(no_password, total_no_password)}")
    total_blocked = sum(statuses[s] for s in statuses if s not in MUST_ACT_FIRST)
    if total_blocked:
        counts = _kinds(Counter({s: n for s, n in statuses.items() if s not in MUST_ACT_FIRST}))
        out.append(f"{total_blocked} user(s) of the assigned groups are not ACTIVE and cannot sign in to Okta "
                   f"({counts}): their Macs cannot register with Okta Verify until an admin activates or unsuspends "
                   f"them: {_sample(blocked, total_blocked)}")
    total_held = sum(statuses[s] for s in MUST_ACT_FIRST)
    if total_held:
        counts = _kinds(Counter({s: statuses[s] for s in MUST_ACT_FIRST if statuses[s]}))
        out.append(f"{total_held} user(s) of the assigned groups are not ACTIVE: they must finish a step at their "
                   f"next sign-in ({counts}) before the Mac registers: {_sample(held, total_held)}")
    return out
