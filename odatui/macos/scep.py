"""Okta Device Access SCEP (static) as odatui takes it: the URL from `[okta] scep_url`, the secret key from the
keychain entry / env var `okta.scep_challenge`, and `[rollout] scep` saying whether odatui adds the payload.

Okta requires the certificate for Platform SSO 2.0 (macOS 14+) and has no public API for its configuration
("Device Access SCEP certificates", help.okta.com/oie/en-us/content/topics/oda/oda-as-scep.htm: "required to use
Desktop Password Sync on devices running macOS Sonoma (14.0) and later"; "If your org isn't using Platform SSO
2.0, SCEP certificates aren't required", …/configure-psso-oda.htm), so the admin creates it in the Admin Console.
"""

from __future__ import annotations

from typing import Any

from odatui.core.errors import UsageError

# The exact clicks, shown by the wizard and in every hint (Okta: "Static SCEP for macOS with Workspace ONE",
# help.okta.com/oie/en-us/content/topics/oda/ca/oda-ca-scep-macos-ws1-static.htm, "Generate a SCEP URL and secret key").
ADMIN_CONSOLE_CLICKS = ("Okta Admin Console → Security → Device Integrations → Device Access tab → Add SCEP "
                        "configuration → SCEP URL challenge type: Static SCEP URL → Generate → copy the SCEP URL "
                        "and the Secret key (shown only this once) → Save")


def ws1_ca(config: Any) -> bool:
    """True when the certificate comes from a WS1 certificate authority in its own profile (ws1.certificate)."""
    return config.rollout.macos_min >= 14 and config.rollout.scep == "ws1_ca"


# Why "static" is not the default for Workspace ONE (Okta, "Static SCEP for macOS with Workspace ONE"; fleet-safety.md).
STATIC_RISKS = ("warning: rollout.scep = \"static\" puts the SCEP payload, with Okta's secret key, into the Platform "
                "SSO profile: a SCEP failure (a reset secret, /pki blocked by a proxy) rolls back the whole profile, "
                "Platform SSO included; Workspace ONE has no certificate to renew, so every Mac's certificate "
                "expires unrenewed (Okta's CA does not renew); every WS1 admin and API reader can read the secret; "
                "Okta's intermediate CA is not deployed. rollout.scep = \"ws1_ca\" (the default) avoids all four.")


def scep_wanted(config: Any) -> bool:
    """True when odatui itself must add the Device Access SCEP payload."""
    return config.rollout.macos_min >= 14 and config.rollout.scep == "static"


def missing(config: Any, secrets: Any) -> list[str]:
    """`okta.scep_url` / `okta.scep_challenge` when they are needed and not given (the secret is looked up)."""
    if not scep_wanted(config):
        return []
    out = [] if config.okta.scep_url else ["okta.scep_url"]
    if secrets is None or not secrets.get("okta.scep_challenge", config.okta.host):
        probe = secrets.probe() if secrets is not None and secrets.use_keychain else None
        if probe is not None and not probe.ok:
            # Not in the environment and the keychain cannot be asked: "unavailable" (exit 4), not "missing".
            from odatui.core.errors import SecretsUnavailable

            raise SecretsUnavailable(
                f"the Okta Device Access SCEP secret key is not in ODATUI_OKTA__SCEP_CHALLENGE and the OS keychain "
                f"is unavailable ({probe.state.value})",
                hint="set ODATUI_OKTA__SCEP_CHALLENGE for an unattended run, or run `odatui secrets set "
                     f"okta.scep_challenge` where the keychain works\n{probe.fix}")
        out.append("okta.scep_challenge")
    return out


def require(config: Any, secrets: Any) -> None:
    """Refuse (exit 2) before anything is sent when the static SCEP values are missing or malformed."""
    gaps = missing(config, secrets)
    if gaps:
        raise UsageError(
            f"Platform SSO 2.0 (macOS {config.rollout.macos_min}+) needs Okta's Device Access SCEP certificate; "
            f"missing {', '.join(gaps)}",
            hint=f"{ADMIN_CONSOLE_CLICKS}; then set [okta] scep_url (or ODATUI_OKTA__SCEP_URL) and run "
                 "`odatui secrets set okta.scep_challenge` (or set ODATUI_OKTA__SCEP_CHALLENGE). If another profile "
                 'already deploys that certificate, set [rollout] scep = "elsewhere".')
    settings(config, secrets)  # control characters in the secret → one line, exit 2


def settings(config: Any, secrets: Any) -> Any:
    """`ScepSettings` for the profile, or None when odatui adds no SCEP payload."""
    from odatui.macos.payloads import ScepSettings

    if not scep_wanted(config):
        return None
    challenge = secrets.get("okta.scep_challenge", config.okta.host) if secrets is not None else None
    if not config.okta.scep_url or not challenge:
        require(config, secrets)
    return ScepSettings(config.okta.scep_url, challenge)


def export_settings(config: Any, secrets: Any) -> Any:
    """The SCEP settings the export writes: "static" as `settings`; "ws1_ca" the separate certificate profile for
    other MDMs when the SCEP URL and secret key are at hand (odatui's WS1 path never needs them), else None."""
    if config.rollout.macos_min < 14 or config.rollout.scep == "elsewhere":
        return None
    if config.rollout.scep == "static":
        return settings(config, secrets)
    from odatui.macos.payloads import ScepSettings

    challenge = secrets.get("okta.scep_challenge", config.okta.host) if secrets is not None else None
    if not config.okta.scep_url or not challenge:
        return None
    return ScepSettings(config.okta.scep_url, challenge)


def summary(config: Any) -> str:
    """One line for plan and Done: what odatui does about the certificate."""
    if config.rollout.macos_min < 14:
        return "Device Access SCEP: not needed (Platform SSO 1.0, macOS 13)"
    if config.rollout.scep == "elsewhere":
        return ("note: Device Access SCEP is not added by odatui (rollout.scep = \"elsewhere\"): another profile "
                "must deploy Okta's Device Access certificate to these Macs, or registration fails")
    if config.rollout.scep == "ws1_ca":
        return ("Device Access SCEP: not in this profile; the certificate profile (ws1.certificate) deploys it "
                "through the WS1 certificate authority first")
    return "Custom Settings: Okta Device Access SCEP certificate (static)"
