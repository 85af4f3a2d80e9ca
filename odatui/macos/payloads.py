"""The Platform SSO payloads Okta Desktop Password Sync needs, as plain dicts ready for plistlib.

Pure functions from one frozen `PssoSettings`; no I/O. Values follow Okta's "Configure device configuration
profiles for PSSO using Workspace ONE" (help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/
configure-macos-psso-omnissa.htm),
"Okta Verify configurations for macOS devices" (…/identity-engine/devices/managed-app-configs-macos.htm) and
Apple's device-management schema (github.com/apple/device-management, mdm/profiles/com.apple.extensiblesso.yaml):

* `com.apple.extensiblesso`  Okta Verify's SSO extension, Type Redirect, nonce + token URLs. macOS 13 (PSSO 1.0)
  uses the top-level AuthenticationMethod; macOS 14+ (PSSO 2.0) the PlatformSSO dict with UseSharedDeviceKeys.
* `com.apple.associated-domains`  authsrv:HOST for both team-prefixed Okta Verify app ids (the second one is
  needed from macOS 15 on; harmless before, so always emitted).
* `com.apple.security.scep`  Okta's Device Access certificate (PSSO 2.0, floors 14+), when the admin gives the
  static SCEP URL and secret key (see `scep_payload`).
* two `com.apple.ManagedClient.preferences` payloads  Okta Verify settings for `com.okta.mobile` (org URL only)
  and `com.okta.mobile.auth-service-extension` (org URL, client ID, protocol version, optional username): Okta
  says to scope the client ID and username to the extension domain only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from odatui.core.domain import CLIENT_ID_RE, MACOS_FLOORS, check_scep_challenge, check_scep_url
from odatui.core.errors import UsageError
from odatui.core.psso_options import apple_keys, normalise

TEAM_ID = "B7F62B65BN"
EXTENSION_ID = "com.okta.mobile.auth-service-extension"
APP_DOMAIN = "com.okta.mobile"
EXTENSION_DOMAIN = EXTENSION_ID
APP_IDS = (f"{TEAM_ID}.{EXTENSION_ID}", f"{TEAM_ID}.{APP_DOMAIN}")
# host, or host:port (the sandbox listens on 127.0.0.1:PORT); labels are letters, digits and hyphens
_HOST_RE = re.compile(r"^(?=.{1,253}(:|$))[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:[0-9]{1,5})?$")

# Fixed namespace so PayloadUUIDs are a function of (org host, payload kind): re-exports compare equal, and
# the macOS 13 and 14 variants for one org replace each other on a Mac (their SSO URLs are identical, which
# Apple forbids across two installed Extensible SSO payloads anyway).
UUID_NAMESPACE = uuid.UUID("6f0d7c1e-2f43-5b8a-9a57-0da7a0d1e5a1")

# Payload kinds: stable names used for UUIDs, identifiers and export file names.
KIND_SSO = "sso-extension"
KIND_DOMAINS = "associated-domains"
KIND_APP_PREFS = f"prefs-{APP_DOMAIN}"
KIND_EXT_PREFS = f"prefs-{EXTENSION_DOMAIN}"
KIND_SCEP = "device-access-scep"
KINDS = (KIND_SSO, KIND_DOMAINS, KIND_APP_PREFS, KIND_EXT_PREFS, KIND_SCEP)

# The Device Access certificate's subject. Okta's value is "CN=managementAttestation <the Mac's hardware UUID>"
# (Fleet's Okta example profile okta-device-access-scep-example.mobileconfig: %HardwareUUID%; Okta's "Static SCEP
# for macOS with Workspace ONE", help.okta.com/oie/en-us/content/topics/oda/ca/oda-ca-scep-macos-ws1-static.htm,
# whose template step was not readable in full). In Workspace ONE the Mac's hardware UUID is its UDID, the lookup
# value {DeviceUid}: unverified (no docs.omnissa.com lookup-value list was found to confirm the name; Apple's MDM
# protocol reports a Mac's UDID as its hardware UUID).
SCEP_SUBJECT_CN = "managementAttestation {DeviceUid}"
SCEP_KEY_SIZE = 2048  # Fleet's Okta example (Keysize 2048); Apple's rangelist 1024/2048/4096
SCEP_KEY_USAGE = 1  # signing only: Okta "Certificates that are deployed for digital signature, but not for other
# purposes (for example, encryption)" (oda-ca-scep-macos-jamf-static.htm, Before you begin); Apple: 1 = signing


@dataclass(frozen=True)
class ScepSettings:
    """Okta Device Access static SCEP: the URL and the secret key (the challenge) from the Admin Console."""

    url: str
    challenge: str = field(repr=False)  # a secret: never in repr, logs or state

    def __post_init__(self) -> None:
        check_scep_url(self.url)
        check_scep_challenge(self.challenge)


@dataclass(frozen=True)
class PssoSettings:
    """Everything the payloads depend on. Build it with `PssoSettings.from_org_url` when you hold a URL."""

    org_host: str  # "acme.okta.com", a custom domain, or "127.0.0.1:8443" (the port is kept everywhere)
    client_id: str  # the "Platform Single Sign-On for macOS" app's client ID
    macos_min: int  # 13 → Platform SSO 1.0 shapes; 14, 15, 26 → 2.0
    user_principal_name: str | None = None  # MDM lookup value such as "{EmailAddress}" (WS1)
    account_display_name: str = "Okta"
    enable_registration_during_setup: bool = False  # macOS 26 Simplified Setup
    # [rollout.psso] as given (snake_case), checked against the floor; see odatui.macos.psso_options
    psso: Mapping[str, Any] = field(default_factory=dict)
    scep: ScepSettings | None = None  # static Device Access SCEP; None: no SCEP payload (13, or "elsewhere")
    # JIT local accounts (enable_create_user_at_login): Okta's RegistrationToken "must be populated" with a random
    # value (odatui.core.jit keeps one per org); never in repr.
    registration_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "psso", normalise(self.psso, self.macos_min))
        if self.psso.get("registration_during_setup"):
            object.__setattr__(self, "enable_registration_during_setup", True)
        if not isinstance(self.org_host, str) or not _HOST_RE.match(self.org_host):
            raise UsageError(
                f"Okta org host {self.org_host!r} is not a host name.",
                hint='Give the org host without scheme or path, e.g. "acme.okta.com" (or the custom domain).',
            )
        if "-admin." in self.org_host:
            raise UsageError(
                f"Okta org host {self.org_host!r} is the Admin Console host.",
                hint=f'Use the org host without "-admin", e.g. {self.org_host.replace("-admin.", ".")!r}.',
            )
        if not isinstance(self.client_id, str) or not CLIENT_ID_RE.match(self.client_id):
            raise UsageError(
                f"Client ID {self.client_id!r} does not look like an Okta client ID (0oa + 17 letters or digits).",
                hint='Copy it from the "Platform Single Sign-On for macOS" app\'s Sign On tab in the Okta Admin Console.',
            )
        if self.macos_min not in MACOS_FLOORS:
            raise UsageError(
                f"macOS floor {self.macos_min!r} is not supported.",
                hint="Set rollout.macos_min to 13, 14, 15 or 26.",
            )
        if self.enable_registration_during_setup and self.macos_min < 26:
            raise UsageError(
                "Registration during Setup Assistant needs macOS 26 or later.",
                hint="Set rollout.macos_min = 26, or turn registration during setup off.",
            )
        if self.psso.get("enable_create_user_at_login") and not self.registration_token:
            # Okta, "Just-In-Time Local Account Creation for macOS" (…/oda/jit-provisioning-oda.htm): "the field
            # must be populated"; a profile without it would not create accounts.
            raise UsageError("Just-in-time account creation needs a RegistrationToken.",
                             hint="build the profile through odatui.macos.sso_profile, which supplies this org's token")
        if self.user_principal_name is not None and not self.user_principal_name.strip():
            raise UsageError(
                "The user principal name is empty.",
                hint='Leave it out, or give an MDM lookup value such as "{EmailAddress}".',
            )

    @classmethod
    def from_org_url(cls, org_url: str, client_id: str, macos_min: int, **kw: Any) -> PssoSettings:
        return cls(org_host=org_host_from_url(org_url), client_id=client_id.strip(), macos_min=macos_min, **kw)

    @property
    def org_url(self) -> str:
        return f"https://{self.org_host}"

    @property
    def protocol_version(self) -> str:
        # A string, not a number: Okta Verify reads "2.0"; a <real> is ignored (Okta Verify configurations
        # for macOS, help.okta.com/oie/en-us/content/topics/identity-engine/devices/managed-app-configs-macos.htm).
        return "1.0" if self.macos_min == 13 else "2.0"

    @property
    def identifier(self) -> str:
        """Top-level PayloadIdentifier; payload identifiers append the kind."""
        return org_identifier(self.org_host)


def org_identifier(org_host: str) -> str:
    """The PayloadIdentifier prefix of every profile odatui builds for one org (the certificate profile too)."""
    return "odatui.psso." + org_host.replace(":", "-")


def org_host_from_url(org_url: str) -> str:
    """"https://Acme.okta.com/" → "acme.okta.com"; a bare host passes through. Port kept, path refused."""
    text = (org_url or "").strip()
    if "://" in text:
        scheme, _, text = text.partition("://")
        if scheme.lower() != "https":
            raise UsageError(f"Okta org URL {org_url!r} is not https.", hint='Use e.g. "https://acme.okta.com".')
    host, _, path = text.partition("/")
    if path.strip("/"):
        raise UsageError(
            f"Okta org URL {org_url!r} has a path.",
            hint='Give only the org, e.g. "https://acme.okta.com" (no /oauth2/… or /app/…).',
        )
    host = host.lower()
    return host.removesuffix(":443")  # the default port is implied by https


def payload_uuid(settings: Any, kind: str) -> str:
    """A function of (org host, kind): `settings` is anything with `org_host` (PssoSettings, certificate.Org)."""
    return str(uuid.uuid5(UUID_NAMESPACE, f"{settings.org_host}|{kind}")).upper()


def _common(settings: PssoSettings, kind: str, payload_type: str, display_name: str) -> dict[str, Any]:
    return {
        "PayloadType": payload_type,
        "PayloadIdentifier": f"{settings.identifier}.{kind}",
        "PayloadUUID": payload_uuid(settings, kind),
        "PayloadVersion": 1,
        "PayloadDisplayName": display_name,
    }


def sso_urls(settings: PssoSettings) -> list[str]:
    urls = [f"{settings.org_url}/device-access/api/v1/nonce", f"{settings.org_url}/oauth2/v1/token"]
    if settings.enable_registration_during_setup:
        # Fleet's macOS 26 guide: Simplified Setup needs the device-sign endpoint too (fleetdm.com/guides/
        # deploying-okta-platform-sso-with-fleet; inferred, not on help.okta.com).
        urls.append(f"{settings.org_url}/v1/auth/device-sign")
    return urls


def sso_extension(settings: PssoSettings) -> dict[str, Any]:
    payload = _common(settings, KIND_SSO, "com.apple.extensiblesso", "Okta Platform SSO")
    payload.update(
        {
            "ExtensionIdentifier": EXTENSION_ID,
            "TeamIdentifier": TEAM_ID,
            "Type": "Redirect",
            "URLs": sso_urls(settings),
        }
    )
    if settings.registration_token and settings.psso.get("enable_create_user_at_login"):
        # Apple: a top-level key of the Extensible SSO payload (com.apple.extensiblesso.yaml, RegistrationToken);
        # Okta's JIT page: a random value, required for JIT.
        payload["RegistrationToken"] = settings.registration_token
    if settings.macos_min == 13:
        payload["AuthenticationMethod"] = "Password"  # PSSO 1.0 form; deprecated in macOS 14
    else:
        psso: dict[str, Any] = {
            "AuthenticationMethod": "Password",  # Desktop Password Sync syncs the password: never Secure Enclave
            "UseSharedDeviceKeys": True,  # required by PSSO 2.0; device channel only
            "AccountDisplayName": settings.account_display_name,
        }
        if settings.enable_registration_during_setup:
            psso["EnableRegistrationDuringSetup"] = True
        psso.update(apple_keys(settings.psso))  # the admin's [rollout.psso], floor-checked in __post_init__
        payload["PlatformSSO"] = psso
    return payload


def associated_domains(settings: PssoSettings) -> dict[str, Any]:
    payload = _common(settings, KIND_DOMAINS, "com.apple.associated-domains", "Okta Verify associated domains")
    payload["Configuration"] = [
        {"ApplicationIdentifier": app_id, "AssociatedDomains": [f"authsrv:{settings.org_host}"]} for app_id in APP_IDS
    ]
    return payload


def _managed_preferences(settings: PssoSettings, kind: str, domain: str, values: dict[str, Any]) -> dict[str, Any]:
    payload = _common(settings, kind, "com.apple.ManagedClient.preferences", f"Okta Verify settings ({domain})")
    payload["PayloadContent"] = {domain: {"Forced": [{"mcx_preference_settings": values}]}}
    return payload


def okta_verify_app_prefs(settings: PssoSettings) -> dict[str, Any]:
    return _managed_preferences(settings, KIND_APP_PREFS, APP_DOMAIN, {"OktaVerify.OrgUrl": settings.org_url})


def okta_verify_extension_prefs(settings: PssoSettings) -> dict[str, Any]:
    values: dict[str, Any] = {
        "OktaVerify.OrgUrl": settings.org_url,
        "OktaVerify.PasswordSyncClientID": settings.client_id,
        "PlatformSSO.ProtocolVersion": settings.protocol_version,
    }
    if settings.user_principal_name:
        values["OktaVerify.UserPrincipalName"] = settings.user_principal_name
    return _managed_preferences(settings, KIND_EXT_PREFS, EXTENSION_DOMAIN, values)


def scep_payload(settings: PssoSettings) -> dict[str, Any]:
    """Okta Device Access certificate (static SCEP), System keychain via the device channel. Values: Okta's
    "Device Access SCEP certificates" (help.okta.com/oie/en-us/content/topics/oda/oda-as-scep.htm: required for
    PSSO 2.0, computer level) and Fleet's Okta example profile; key names: Apple's com.apple.security.scep.yaml."""
    assert settings.scep is not None
    payload = _common(settings, KIND_SCEP, "com.apple.security.scep", "Okta Device Access certificate")
    payload["PayloadContent"] = {
        "URL": settings.scep.url,
        "Challenge": settings.scep.challenge,
        "Subject": [[["CN", SCEP_SUBJECT_CN]]],
        "Keysize": SCEP_KEY_SIZE,
        "Key Type": "RSA",  # Apple: always RSA
        "Key Usage": SCEP_KEY_USAGE,
        "KeyIsExtractable": False,  # the private key never leaves the Mac's keychain
        "AllowAllAppsAccess": True,  # Okta Verify and its extension must read the key (Fleet's example
        # okta-device-access-scep-example.mobileconfig)
    }
    return payload


def all_payloads(settings: PssoSettings) -> dict[str, dict[str, Any]]:
    """Every payload, keyed by kind, in install order (the certificate first, the extension's domains before the
    extension)."""
    out: dict[str, dict[str, Any]] = {}
    if settings.scep is not None and settings.macos_min >= 14:
        out[KIND_SCEP] = scep_payload(settings)
    return out | {
        KIND_DOMAINS: associated_domains(settings),
        KIND_SSO: sso_extension(settings),
        KIND_APP_PREFS: okta_verify_app_prefs(settings),
        KIND_EXT_PREFS: okta_verify_extension_prefs(settings),
    }
