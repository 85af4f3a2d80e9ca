"""The Okta Device Access certificate profile, built once for both places it goes: Workspace ONE (a native SCEP
payload that references a WS1 certificate authority and template, so the challenge never leaves the WS1 console)
and the export for other MDMs (Apple's static SCEP payload with the challenge, written 0600).

Okta, "Static SCEP for macOS with Workspace ONE" (help.okta.com/oie/en-us/content/topics/oda/ca/
oda-ca-scep-macos-ws1-static.htm): a WS1 Certificate Authority (Generic SCEP, static challenge) and a Request
Template, a device profile for the Okta intermediate CA and a separate device profile for the client certificate,
deployed before the Platform SSO profile. Pure: no I/O.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from odatui.macos import mobileconfig
from odatui.macos.payloads import UUID_NAMESPACE, PssoSettings, org_identifier, payload_uuid, scep_payload

KIND_CA = "okta-intermediate-ca"
KIND_CERT_PROFILE = "device-access-certificate"

# WS1's CredentialSource for a SCEP payload issued by a certificate authority configured in the console. The 2604
# model types it as a plain string (AppleOsXScepPayloadEntity.CredentialSource) without an enum; the value is the
# console's option label: unverified.
CREDENTIAL_SOURCE = "Defined Certificate Authority"

# Removal protection: Fleet's Okta example for this very profile sets PayloadRemovalDisallowed true
# (github.com/fleetdm/fleet docs/solutions/macos/configuration-profiles/okta-device-access-scep-example.mobileconfig);
# Apple (TopLevel.yaml): on macOS it stops only manual removal, an MDM can always remove its profile. WS1's
# equivalent is the profile's General.AllowRemoval (Always | WithAuthorization | Never, 2604 GeneralPayloadV2Entity):
# "Never", so a user cannot pull the certificate out from under Platform SSO; `odatui remove` still deletes it.
REMOVAL_DISALLOWED = True
WS1_ALLOW_REMOVAL = "Never"


@dataclass(frozen=True)
class Org:
    """What the certificate profile depends on in WS1: the org host (identifiers and UUIDs, as every odatui
    profile for this org). The export passes its PssoSettings, which has the same two attributes."""

    org_host: str

    @property
    def identifier(self) -> str:
        return org_identifier(self.org_host)


@dataclass(frozen=True)
class CertificateAuthorityRef:
    """The WS1 certificate authority and request template the native SCEP payload names (picklist Keys)."""

    ca_id: int
    ca_name: str
    template_id: int
    template_name: str


def certificate_profile_name(sso_profile_name: str) -> str:
    """The certificate profile's name, derived from the SSO profile's so two rollouts in one OG stay apart."""
    return f"{sso_profile_name} - Device Access certificate"


def ca_payload(settings: Org | PssoSettings, ca_der: bytes) -> dict[str, Any]:
    """The Okta intermediate CA as Apple's certificate payload (com.apple.security.pkcs1: a DER certificate in
    PayloadContent; Apple's Configuration Profile Reference, "Certificate payloads"). Okta's step 5 deploys it in a
    device profile. Its schema YAML is not in the pinned apple/device-management snapshot: unverified there."""
    return {
        "PayloadType": "com.apple.security.pkcs1",
        "PayloadIdentifier": f"{settings.identifier}.{KIND_CA}",
        "PayloadUUID": payload_uuid(settings, KIND_CA),
        "PayloadVersion": 1,
        "PayloadDisplayName": "Okta Device Access intermediate CA",
        "PayloadCertificateFileName": "okta-device-access-ca.cer",
        "PayloadContent": ca_der,
    }


def native_scep_entry(ref: CertificateAuthorityRef) -> dict[str, Any]:
    """The 2604 mdmv2 `AppleOsXScepPayloadEntity`: which WS1 CA and template issue the certificate. No URL, no
    challenge: the admin typed those into the CA in the WS1 console."""
    return {
        "CredentialSource": CREDENTIAL_SOURCE,
        "CertificateAuthorityId": ref.ca_id,
        "CertificateTemplateId": ref.template_id,
        "Name": "Okta Device Access certificate",
        "AllowExportFromKeyChain": False,  # the private key stays on the Mac (Okta: Publish Private Key disabled)
    }


def ws1_body(settings: Org, ref: CertificateAuthorityRef, ca_der: bytes | None, *, name: str,
             og_id: int, smart_groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The WS1 certificate profile: Device context (a computer-level certificate, Okta "Set up Device Access SCEP
    certificates"), Auto, the native SCEP payload, and the intermediate CA as Custom Settings when given: WS1's
    native Credentials payload needs a CertificateID from POST /mdm/profiles/uploadcertificate, whose 200 answer has
    no documented body in 2604 (mdmv1 ProfilesV1_UploadCertificate), so odatui sends the same payload the export
    writes instead."""
    body: dict[str, Any] = {
        "General": {
            "Name": name,
            "Description": f"Okta Device Access certificate for {settings.org_host} (WS1 CA {ref.ca_name!r}, "
                           f"template {ref.template_name!r}); before the Platform SSO profile; managed by odatui",
            "AssignmentType": "Auto",
            "ProfileContext": "Device",
            "ProfileScope": "Production",
            "IsActive": True,
            "AllowRemoval": WS1_ALLOW_REMOVAL,
            "ManagedLocationGroupID": og_id,
            "AssignedSmartGroups": smart_groups,
            "ExcludedSmartGroups": [],
        },
        "ScepList": [native_scep_entry(ref)],
    }
    if ca_der is not None:
        body["CustomSettingsList"] = [{"CustomSettings": mobileconfig.ws1_custom_settings(ca_payload(settings, ca_der))}]
    return body


def export_profile(settings: PssoSettings, ca_der: bytes | None) -> dict[str, Any]:
    """The certificate profile for other MDMs: Apple's static SCEP payload (holds the challenge) and the
    intermediate CA when given; PayloadRemovalDisallowed as in Fleet's Okta example."""
    payloads = ([ca_payload(settings, ca_der)] if ca_der is not None else []) + [scep_payload(settings)]
    return {
        "PayloadType": "Configuration",
        "PayloadVersion": 1,
        "PayloadIdentifier": f"{settings.identifier}.{KIND_CERT_PROFILE}",
        "PayloadUUID": str(uuid.uuid5(UUID_NAMESPACE, f"{settings.org_host}|{KIND_CERT_PROFILE}|profile")).upper(),
        "PayloadDisplayName": "Okta Device Access certificate",
        "PayloadDescription": (f"Okta Device Access SCEP certificate for {settings.org_host}. Install it at the "
                               "device (computer) level before the Platform SSO profile."),
        "PayloadOrganization": settings.org_host,
        "PayloadScope": "System",
        "PayloadRemovalDisallowed": REMOVAL_DISALLOWED,
        "TargetDeviceType": 5,
        "PayloadContent": payloads,
    }


__all__ = ["CREDENTIAL_SOURCE", "KIND_CA", "KIND_CERT_PROFILE", "WS1_ALLOW_REMOVAL",
           "CertificateAuthorityRef", "Org", "ca_payload", "certificate_profile_name", "export_profile",
           "native_scep_entry", "ws1_body"]
