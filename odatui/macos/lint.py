"""Okta-specific checks Apple's schema cannot express: each field mistake that silently breaks Password Sync.

`lint()` takes a whole profile or a list of payloads (e.g. read back from WS1 Custom Settings) and returns
findings, each a sentence that says what is wrong and how to fix it. No findings with severity "error" means
the profile has the shape Okta documents: help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/
configure-macos-psso-omnissa.htm and …/identity-engine/devices/managed-app-configs-macos.htm.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from odatui.macos.lint_base import Finding, Findings, Hosts, host_of_url
from odatui.macos.lint_prefs import lint_preferences
from odatui.macos.payloads import APP_IDS, EXTENSION_ID, TEAM_ID

SSO_PATHS = ("/device-access/api/v1/nonce", "/oauth2/v1/token")


def _payloads(profile_or_payloads: dict[str, Any] | list[dict[str, Any]]) -> tuple[dict[str, Any] | None, list]:
    if isinstance(profile_or_payloads, dict):
        if profile_or_payloads.get("PayloadType") == "Configuration":
            return profile_or_payloads, list(profile_or_payloads.get("PayloadContent") or [])
        return None, [profile_or_payloads]
    return None, list(profile_or_payloads)


def lint(
    profile_or_payloads: dict[str, Any] | list[dict[str, Any]],
    expected_host: str | None = None,
    expected_client_id: str | None = None,
) -> list[Finding]:
    profile, payloads = _payloads(profile_or_payloads)
    out = Findings()
    hosts: Hosts = []
    if profile is not None:
        _lint_scope(profile, out)
    psso2 = _lint_sso(payloads, out, hosts)
    _lint_associated_domains(payloads, out, hosts)
    lint_preferences(payloads, expected_client_id, psso2, out, hosts)
    _lint_hosts(hosts, expected_host, out)
    return list(out)


def _lint_scope(profile: dict[str, Any], out: Findings) -> None:
    scope = profile.get("PayloadScope")
    if scope == "User":
        out.err(
            "scope-user",
            'The profile has PayloadScope "User"; Okta requires the SSO payload at the computer level. '
            'Set PayloadScope to "System" and deploy it as a device (computer-level) profile.',
        )
    elif scope is None:
        out.warn(
            "scope-missing",
            'The profile has no PayloadScope. Set it to "System" so it installs at the computer level.',
        )
    elif scope != "System":
        out.err("scope-invalid", f'PayloadScope is {scope!r}, which macOS does not know. Set it to "System".')


def _lint_sso(payloads: list[dict[str, Any]], out: Findings, hosts: Hosts) -> bool | None:
    """The Okta Verify SSO extension payload. Returns True for the PSSO 2.0 shape, False for 1.0, None if unknown."""
    sso_all = [p for p in payloads if p.get("PayloadType") == "com.apple.extensiblesso"]
    sso = [p for p in sso_all if p.get("ExtensionIdentifier") == EXTENSION_ID]
    psso2: bool | None = None
    if not sso:
        other = ", ".join(repr(p.get("ExtensionIdentifier")) for p in sso_all)
        out.err(
            "sso-missing",
            "No Extensible SSO payload for Okta Verify"
            + (f" (found ExtensionIdentifier {other})" if other else "")
            + f'. Add a com.apple.extensiblesso payload with ExtensionIdentifier "{EXTENSION_ID}".',
        )
    for p in sso:
        _lint_sso_identity(p, out)
        _lint_sso_urls(p, out, hosts)
        shape = _lint_auth_method(p, out)
        if shape is not None:  # a payload with no method leaves the shape the previous one set
            psso2 = shape
    return psso2


def _lint_sso_identity(p: dict[str, Any], out: Findings) -> None:
    team = p.get("TeamIdentifier")
    if team != TEAM_ID:
        out.err(
            "team-id",
            f"The SSO payload's TeamIdentifier is {team!r}; Okta Verify is signed by team {TEAM_ID}. "
            f'Set TeamIdentifier to "{TEAM_ID}".',
        )
    if p.get("Type") != "Redirect":
        out.err(
            "sso-type",
            f"The SSO payload's Type is {p.get('Type')!r}; Desktop Password Sync uses a Redirect extension "
            '(Credential is the separate FastPass extension). Set Type to "Redirect".',
        )


def _lint_sso_urls(p: dict[str, Any], out: Findings, hosts: Hosts) -> None:
    urls = p.get("URLs") if isinstance(p.get("URLs"), list) else []
    paths = {urlsplit(u).path for u in urls if isinstance(u, str)}
    for needed in SSO_PATHS:
        if needed not in paths:
            out.err(
                "sso-url-missing",
                f"The SSO payload's URLs lack https://ORG{needed}. Add it with the same org host as OrgUrl.",
            )
    for u in urls:
        if isinstance(u, str) and not u.startswith("https://"):
            out.err("sso-url-scheme", f"SSO URL {u!r} is not https. Use https://ORG_HOST/… URLs instead.")
        if host_of_url(u):
            hosts.append((f"SSO URL {u}", host_of_url(u)))


def _lint_auth_method(p: dict[str, Any], out: Findings) -> bool | None:
    platform = p.get("PlatformSSO")
    if isinstance(platform, dict):
        if platform.get("UseSharedDeviceKeys") is not True:
            out.err(
                "shared-device-keys",
                "PlatformSSO.UseSharedDeviceKeys is "
                + ("missing" if "UseSharedDeviceKeys" not in platform else repr(platform["UseSharedDeviceKeys"]))
                + "; Platform SSO 2.0 (macOS 14+) requires it. Set PlatformSSO.UseSharedDeviceKeys to true.",
            )
        if platform.get("AuthenticationMethod") != "Password":
            out.err(
                "auth-method",
                f"PlatformSSO.AuthenticationMethod is {platform.get('AuthenticationMethod')!r}; Desktop Password "
                'Sync syncs the password. Set it to "Password".',
            )
        return True
    if p.get("AuthenticationMethod") is not None:
        if p.get("AuthenticationMethod") != "Password":
            out.err(
                "auth-method",
                f"AuthenticationMethod is {p.get('AuthenticationMethod')!r}; Desktop Password Sync syncs the "
                'password. Set it to "Password".',
            )
        return False
    out.err(
        "auth-method",
        "The SSO payload sets no authentication method. For macOS 14+ add a PlatformSSO dictionary with "
        'AuthenticationMethod "Password" and UseSharedDeviceKeys true; for macOS 13 add a top-level '
        'AuthenticationMethod "Password".',
    )
    return None


def _lint_associated_domains(payloads: list[dict[str, Any]], out: Findings, hosts: Hosts) -> None:
    domain_entries: dict[str, list[str]] = {}
    for p in payloads:
        if p.get("PayloadType") == "com.apple.associated-domains":
            for item in p.get("Configuration") or []:
                if isinstance(item, dict):
                    domains = [d for d in item.get("AssociatedDomains") or [] if isinstance(d, str)]
                    domain_entries.setdefault(str(item.get("ApplicationIdentifier")), []).extend(domains)
    for app_id in APP_IDS:
        bare = app_id.split(".", 1)[1]
        authsrv = [d for d in domain_entries.get(app_id, []) if d.startswith("authsrv:")]
        if not authsrv:
            if bare in domain_entries:
                out.err(
                    "associated-domain-team-prefix",
                    f'The associated domain entry uses the bare app identifier "{bare}"; it must carry the team '
                    f'prefix. Change it to "{app_id}".',
                )
            else:
                out.err(
                    "associated-domain-missing",
                    f"No authsrv: associated domain for {app_id}; Okta Verify registration fails without it. "
                    f'Add ApplicationIdentifier "{app_id}" with AssociatedDomains ["authsrv:ORG_HOST"].',
                )
        for d in authsrv:
            host = d.removeprefix("authsrv:").split("?", 1)[0].lower()
            hosts.append((f"associated domain {d} ({app_id})", host))


def _lint_hosts(hosts: Hosts, expected_host: str | None, out: Findings) -> None:
    """One org host everywhere, and never the Admin Console's."""
    for where, host in hosts:
        if "-admin." in host:
            out.err(
                "org-host-admin",
                f"{where} uses the Admin Console host {host}. Use the org host without -admin, "
                f"e.g. {host.replace('-admin.', '.')}.",
            )
    if expected_host:
        expected = expected_host.lower()
        for where, host in hosts:
            if host != expected:
                out.err(
                    "org-host-mismatch",
                    f"{where} uses host {host}, but the Okta org is {expected}. Use {expected} everywhere "
                    "(OktaVerify.OrgUrl, the SSO URLs and authsrv:).",
                )
    elif len({h for _, h in hosts}) > 1:
        listing = "; ".join(f"{where}: {host}" for where, host in hosts)
        out.err(
            "org-host-mismatch",
            f"The org host differs between OrgUrl, the SSO URLs and authsrv: ({listing}). Use one host everywhere "
            "(the custom domain if the org has one).",
        )


__all__ = ["lint"]
