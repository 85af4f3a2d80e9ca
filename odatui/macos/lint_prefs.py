"""The Okta Verify managed-preferences rules of the lint: the org URL for both preference domains, and the
extension's client ID and protocol version (Okta, "Okta Verify configurations for macOS devices",
help.okta.com/oie/en-us/content/topics/identity-engine/devices/managed-app-configs-macos.htm)."""

from __future__ import annotations

from typing import Any

from odatui.core.domain import CLIENT_ID_RE
from odatui.macos.lint_base import Findings, Hosts, host_of_url
from odatui.macos.payloads import APP_DOMAIN, EXTENSION_DOMAIN


def preference_values(payloads: list[dict[str, Any]], domain: str) -> list[dict[str, Any]]:
    """Okta Verify settings for a domain: the MCX form (Forced/Set-Once) or the direct form (PayloadType = domain)."""
    found = []
    for p in payloads:
        if p.get("PayloadType") == "com.apple.ManagedClient.preferences":
            content = (p.get("PayloadContent") or {}).get(domain)
            if isinstance(content, dict):
                for group in ("Forced", "Set-Once"):
                    for item in content.get(group) or []:
                        if isinstance(item, dict) and isinstance(item.get("mcx_preference_settings"), dict):
                            found.append(item["mcx_preference_settings"])
        elif p.get("PayloadType") == domain:
            found.append(p)
    return found


def lint_preferences(payloads: list[dict[str, Any]], expected_client_id: str | None, psso2: bool | None,
                      out: Findings, hosts: Hosts) -> None:
    """Okta Verify's managed preferences for both domains: the org URL, and the extension's client ID/version."""
    for domain in (APP_DOMAIN, EXTENSION_DOMAIN):
        values_list = preference_values(payloads, domain)
        if not values_list:
            out.err(
                "prefs-missing",
                f"No Okta Verify settings for the preference domain {domain}. Add a Custom Settings "
                f"(com.apple.ManagedClient.preferences) payload for {domain} with OktaVerify.OrgUrl.",
            )
        for values in values_list:
            org_url = values.get("OktaVerify.OrgUrl")
            if not isinstance(org_url, str) or not org_url:
                out.err("org-url-missing",
                        f"{domain}: OktaVerify.OrgUrl is missing. Set it to https://ORG_HOST (your org URL).")
            else:
                if not org_url.startswith("https://"):
                    out.err("org-url-scheme",
                            f"{domain}: OktaVerify.OrgUrl {org_url!r} is not https. Set it to https://ORG_HOST.")
                if host_of_url(org_url):
                    hosts.append((f"OktaVerify.OrgUrl in {domain}", host_of_url(org_url)))
            if domain == EXTENSION_DOMAIN:
                _lint_extension_values(values, expected_client_id, psso2, out.err)


def _lint_extension_values(values: dict[str, Any], expected_client_id: str | None, psso2: bool | None, err) -> None:
    where = EXTENSION_DOMAIN
    client_id = values.get("OktaVerify.PasswordSyncClientID")
    if client_id is None:
        err(
            "client-id-missing",
            f"{where}: OktaVerify.PasswordSyncClientID is missing. Set it to the client ID of the "
            '"Platform Single Sign-On for macOS" app.',
        )
    elif not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
        err(
            "client-id-malformed",
            f"{where}: OktaVerify.PasswordSyncClientID {client_id!r} is not an Okta client ID (0oa + 17 letters or "
            "digits). Copy it from the app's Sign On tab.",
        )
    elif expected_client_id and client_id != expected_client_id:
        err(
            "client-id-mismatch",
            f"{where}: OktaVerify.PasswordSyncClientID is {client_id}, but the Platform SSO app in Okta has "
            f"{expected_client_id}. Set it to {expected_client_id}.",
        )

    version = values.get("PlatformSSO.ProtocolVersion")
    wanted = {True: "2.0", False: "1.0"}.get(psso2)
    if version is None:
        err(
            "protocol-version-missing",
            f'{where}: PlatformSSO.ProtocolVersion is missing. Set it to the string "{wanted or "2.0"}".',
        )
    elif not isinstance(version, str):
        shown = wanted or (f"{float(version):.1f}" if isinstance(version, (int, float)) else "2.0")
        err(
            "protocol-version-type",
            f"{where}: PlatformSSO.ProtocolVersion is a {type(version).__name__} ({version!r}); Okta Verify reads a "
            f'string. Set it to the string "{shown}" (<string>{shown}</string>, not <real>).',
        )
    elif version not in ("1.0", "2.0"):
        err(
            "protocol-version-value",
            f'{where}: PlatformSSO.ProtocolVersion is {version!r}. Set it to "2.0" (macOS 14+) or "1.0" (macOS 13).',
        )
    elif wanted and version != wanted:
        shape = "a PlatformSSO dictionary (macOS 14+)" if psso2 else "the macOS 13 top-level AuthenticationMethod"
        err(
            "protocol-version-shape",
            f'{where}: PlatformSSO.ProtocolVersion is "{version}", but the SSO payload uses {shape}. '
            f'Set it to "{wanted}".',
        )
