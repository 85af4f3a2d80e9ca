"""Readiness warnings: what commonly breaks Desktop Password Sync outside the configuration odatui writes.

None of these stop the run (the admin may fix them later, or they concern a few users or Macs); each is one
line for the plan, the Review and Done screens and `plan --json`. A check that cannot run says so as a warning
too, instead of failing the preflight.
"""

from __future__ import annotations

from typing import Any

from odatui.errors import OdatuiError

SAMPLE = 3  # logins / device names named per warning
MAX_USERS = 10_000  # per run: "Everyone" in a large org would make the preflight page for minutes


def _sample(names: list[str], total: int) -> str:
    shown = ", ".join(names[:SAMPLE])
    return shown + (f" and {total - SAMPLE} more" if total > SAMPLE else "")


async def okta_warnings(client: Any, cfg: Any, *, custom_domain: str | None, verify: dict[str, Any] | None) -> list[str]:
    from odatui.macos.payloads import APP_IDS

    warnings: list[str] = []
    if custom_domain and cfg.host != custom_domain:
        warnings.append(f"the org has the custom domain {custom_domain} but odatui is configured for {cfg.host}: users "
                        f"who sign in at {custom_domain} need okta.org_url = https://{custom_domain}")
    # Okta serves authsrv for Okta Verify on every org host (Associated Domain Customizations:
    # https://developer.okta.com/docs/api/openapi/okta-management/management/tag/AssociatedDomainCustomizations);
    # macOS checks both app ids against it before Platform SSO registration.
    try:
        aasa = await client.apple_app_site_association()
        apps = ((aasa or {}).get("authsrv") or {}).get("apps") or []
        missing = [a for a in APP_IDS if a not in apps]
        if missing:
            warnings.append(f"https://{cfg.host}/.well-known/apple-app-site-association does not list "
                            f"{', '.join(missing)} under authsrv: Platform SSO registration will fail on this host")
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


async def _user_warnings(client: Any, groups: list[str]) -> list[str]:
    """Users of the assigned groups who are not ACTIVE or have no Okta password (`credentials.password` absent,
    e.g. federated users): Desktop Password Sync syncs the Okta password, so they cannot use it."""
    seen: set[str] = set()
    inactive: list[str] = []
    no_password: list[str] = []
    total_inactive = total_no_password = 0
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
                    if user.get("status") != "ACTIVE":
                        total_inactive += 1
                        if len(inactive) < SAMPLE:
                            inactive.append(f"{login} ({str(user.get('status', '?')).lower()})")
                    if "password" not in (user.get("credentials") or {}):
                        total_no_password += 1
                        if len(no_password) < SAMPLE:
                            no_password.append(login)
        except OdatuiError as exc:
            return [f"could not check the users of group {name!r}: {exc.message}"]
    out = []
    if capped:
        out.append(f"the groups have more than {MAX_USERS:,} users: only the first {len(seen):,} were checked for an "
                   "Okta password and ACTIVE status")
    if total_no_password:
        out.append(f"{total_no_password} user(s) of the assigned groups have no Okta password (Desktop Password "
                   f"Sync needs one): {_sample(no_password, total_no_password)}")
    if total_inactive:
        out.append(f"{total_inactive} user(s) of the assigned groups are not ACTIVE: "
                   f"{_sample(inactive, total_inactive)}")
    return out


async def ws1_warnings(client: Any, og_id: int, smart_group_ids: list[int], macos_min: int) -> list[str]:
    """Macs of the smart group(s) below the macOS floor or without user-approved MDM (the profile's Platform SSO
    and SCEP payloads need user-approved or automated enrollment)."""
    from odatui.ws1.devices import DeviceLister

    lister = DeviceLister(client, smart_group_ids, og_id=og_id, macos_min=macos_min, per_device=False)
    below: list[str] = []
    unapproved: list[str] = []
    counts = {"below": 0, "unapproved": 0}

    def take(rows: list[Any], problems: list[str]) -> None:
        for row in rows:
            label = row.name or str(row.id)
            if any("below the floor" in r for r in row.reasons):
                counts["below"] += 1
                if len(below) < SAMPLE:
                    below.append(f"{label} ({row.macos})")
            if row.user_approved_mdm is False:
                counts["unapproved"] += 1
                if len(unapproved) < SAMPLE:
                    unapproved.append(label)

    try:
        summary = await lister.run(take)
    except OdatuiError as exc:
        return [f"could not list the smart group's Macs: {exc.message}"]
    out = []
    if counts["below"]:
        out.append(f"{counts['below']} of {summary.devices} Macs in the smart group run macOS below the floor "
                   f"{macos_min} (the profile will not apply there): {_sample(below, counts['below'])}")
    if counts["unapproved"]:
        out.append(f"{counts['unapproved']} of {summary.devices} Macs are not enrolled with user-approved MDM: "
                   f"{_sample(unapproved, counts['unapproved'])}")
    return out
