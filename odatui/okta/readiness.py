"""Sentences for the admin about who in an assigned group can actually use Desktop Password Sync, and about the
org's apple-app-site-association. Pure functions over Okta API objects (the steps fetch, these explain)."""

from __future__ import annotations

from collections import Counter
from typing import Any

# User statuses (Okta Users API, "User status"): STAGED and PROVISIONED users are not activated yet; SUSPENDED and
# DEPROVISIONED users cannot sign in; the others can sign in but must first finish a recovery, unlock or a password
# change. https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/
CANNOT_SIGN_IN = ("STAGED", "PROVISIONED", "SUSPENDED", "DEPROVISIONED")
MUST_ACT_FIRST = ("RECOVERY", "LOCKED_OUT", "PASSWORD_EXPIRED")
# Okta Verify's Platform SSO extension; Okta adds it to every org's apple-app-site-association under `authsrv`
# (Okta management OpenAPI, getAppleAppSiteAssociationWellKnownURI example).
OKTA_VERIFY_EXTENSION = "B7F62B65BN.com.okta.mobile.auth-service-extension"


def _counts(counter: Counter[str], keys: tuple[str, ...]) -> str:
    return ", ".join(f"{k} {counter[k]}" for k in keys if counter[k])


def member_notes(group: str, users: list[dict[str, Any]], truncated: bool) -> list[str]:
    total = f"{len(users)}{'+' if truncated else ''}"
    statuses = Counter(str(u.get("status", "")) for u in users)
    notes = []
    blocked = sum(statuses[s] for s in CANNOT_SIGN_IN)
    if blocked:
        notes.append(f'{blocked} of {total} members of "{group}" cannot sign in to Okta '
                     f"({_counts(statuses, CANNOT_SIGN_IN)}): their Macs cannot register with Okta Verify until an "
                     "admin activates or unsuspends them")
    held = sum(statuses[s] for s in MUST_ACT_FIRST)
    if held:
        notes.append(f'{held} of {total} members of "{group}" must finish a step at their next sign-in '
                     f"({_counts(statuses, MUST_ACT_FIRST)}) before the Mac registers")
    # Desktop Password Sync keeps the Mac password in step with the Okta password, so a user without one (federated
    # or passwordless) has nothing to sync: https://help.okta.com/oie/en-us/content/topics/oda/oda-overview.htm
    # (unverified wording; the requirement is the feature's premise).
    without = [u for u in users if "password" not in (u.get("credentials") or {})]
    if without:
        provider = Counter(str(((u.get("credentials") or {}).get("provider") or {}).get("type", "?")) for u in without)
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(provider.items()))
        notes.append(f'{len(without)} of {total} members of "{group}" have no Okta password ({kinds}): Desktop '
                     "Password Sync has no password to sync for them")
    if truncated:
        notes.append(f'"{group}" has more members than odatui reads in a plan; only the first {len(users)} '
                     "were checked")
    return notes


def aasa_note(host: str, body: Any) -> str | None:
    """None when the association file lists Okta Verify's extension under authsrv; else a sentence for the admin."""
    apps = ((body or {}).get("authsrv") or {}).get("apps") if isinstance(body, dict) else None
    if isinstance(apps, list) and OKTA_VERIFY_EXTENSION in apps:
        return None
    return (f"https://{host}/.well-known/apple-app-site-association does not list Okta Verify's extension "
            f"({OKTA_VERIFY_EXTENSION}) under authsrv: Macs will fail the associated-domain check for {host}. "
            "If a proxy or CDN serves this host, let it pass /.well-known/ through to Okta")
