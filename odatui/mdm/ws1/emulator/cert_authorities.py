"""The WS1 emulator's certificate authorities: what an admin makes in the console for Okta's Device Access
certificate (Okta, "Static SCEP for macOS with Workspace ONE", help.okta.com/oie/en-us/content/topics/oda/ca/
oda-ca-scep-macos-ws1-static.htm: a Generic SCEP CA with Okta's static challenge, a Request Template with Automatic
Certificate Renewal), served through the 2604 picklists, checked in a profile's native SCEP payload, and what the
Macs get from it: a certificate per Mac, renewed before expiry when the template says so, and a failed
certificate profile when the challenge typed into the CA is not Okta's.

`CertificateAuthorities` holds the state and the consequences (composition: the profile and device parts ask it);
`ws1_certificates.Ws1Certificates` adds the routes. The challenge lives only here: never in the state snapshot.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from odatui.mdm.ws1.emulator.common import NS, Ws1Error

# The keys of the 2604 mdmv2 AppleOsXScepPayloadEntity (tests/test_certificates.py checks them against the Swagger):
# a native SCEP payload names a CA and a template; it has no URL or Challenge key, so one sent is refused.
SCEP_ENTITY_KEYS = frozenset({"CredentialSource", "CertificateAuthorityId", "CertificateTemplateId", "Name",
                              "AllowExportFromKeyChain", "IdentityPreference"})
# The console's credential source for a CA-issued certificate; the model has no enum (unverified value).
DEFINED_CA = "Defined Certificate Authority"
# Okta's Device Access certificates: validity unverified (Okta does not state it); one year here. WS1's template
# "Auto Renewal Period (days)" before expiry: 30 here (unverified default).
CERT_LIFETIME_S = 365 * 86400
DEFAULT_RENEWAL_DAYS = 30


@dataclass
class Template:
    id: int
    name: str
    auto_renewal: bool = True
    renewal_days: int = DEFAULT_RENEWAL_DAYS


@dataclass
class Authority:
    id: int
    name: str
    og_id: int
    challenge: str = field(repr=False)  # a secret: never in the snapshot
    templates: dict[int, Template] = field(default_factory=dict)

    def public(self, okta_challenge: str) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "og_id": self.og_id,
                "challenge_matches_okta": self.challenge == okta_challenge,
                "templates": [{"id": t.id, "name": t.name, "auto_renewal": t.auto_renewal,
                               "renewal_days": t.renewal_days} for t in self.templates.values()]}


class CertificateAuthorities:
    def __init__(self, okta_challenge: str) -> None:
        """`okta_challenge`: the static SCEP secret Okta's SCEP server accepts."""
        self.okta_challenge = okta_challenge
        self.by_id: dict[int, Authority] = {}
        self._next = {"ca": 7, "template": 20}

    def _id(self, kind: str) -> int:
        self._next[kind] += 1
        return self._next[kind]

    def add(self, name: str, templates: list[Any], challenge: str, og_id: int) -> Authority:
        """As the admin does in the console; the same name again edits that CA (its challenge, more templates)."""
        ca = next((c for c in self.by_id.values() if c.name == name and c.og_id == og_id), None)
        if ca is None:
            ca = Authority(self._id("ca"), name, og_id, challenge)
            self.by_id[ca.id] = ca
        ca.challenge = challenge
        for spec in templates:
            spec = {"name": spec} if isinstance(spec, str) else dict(spec)
            tname = str(spec["name"]).strip()
            if not tname:
                raise ValueError("template name")
            template = next((t for t in ca.templates.values() if t.name == tname), None)
            if template is None:
                template = Template(self._id("template"), tname)
                ca.templates[template.id] = template
            template.auto_renewal = bool(spec.get("auto_renewal", True))
            template.renewal_days = int(spec.get("renewal_days", DEFAULT_RENEWAL_DAYS))
        return ca

    def visible(self, og_chain: list[int]) -> list[Authority]:
        """A CA made at an OG is usable at it and below (WS1 settings inherit down the OG tree)."""
        return [c for c in self.by_id.values() if c.og_id in og_chain]

    def validate(self, entries: Any, og_chain: list[int]) -> None:
        """The native SCEP payloads of a profile against the 2604 model and the CAs that exist."""
        if not isinstance(entries, list):
            raise Ws1Error(400, 400, "ScepList must be a list of AppleOsXScepPayloadEntity.")
        for entry in entries:
            if not isinstance(entry, dict):
                raise Ws1Error(400, 400, "ScepList entries must be objects.")
            unknown = sorted(set(entry) - SCEP_ENTITY_KEYS)
            if unknown:
                raise Ws1Error(400, 400, f"The request is invalid. Unknown SCEP payload fields: {', '.join(unknown)}.")
            if entry.get("CredentialSource") != DEFINED_CA:
                raise Ws1Error(400, 400, f"CredentialSource {entry.get('CredentialSource')!r} is not valid for a "
                               "SCEP payload.")
            ca_id, template_id = entry.get("CertificateAuthorityId"), entry.get("CertificateTemplateId")
            if type(ca_id) is not int or type(template_id) is not int:  # noqa: E721 - a bool is not an id
                raise Ws1Error(400, 400, "CertificateAuthorityId and CertificateTemplateId must be integers.")
            ca = self.by_id.get(ca_id)
            if ca is None or ca.og_id not in og_chain:
                raise Ws1Error(400, 400, f"Certificate Authority {ca_id} not found or user does not have access.")
            if template_id not in ca.templates:
                raise Ws1Error(400, 400, f"Certificate Template {template_id} does not belong to Certificate "
                               f"Authority {ca_id}.")

    def issuers(self, profile: dict[str, Any]) -> list[tuple[Authority, Template]]:
        out = []
        for entry in profile["body"].get("ScepList") or []:
            ca = self.by_id.get(entry.get("CertificateAuthorityId"))
            template = ca.templates.get(entry.get("CertificateTemplateId")) if ca else None
            if ca is not None and template is not None:
                out.append((ca, template))
        return out

    def refused(self, profile: dict[str, Any]) -> str | None:
        """Why the Macs cannot install this profile's certificate, or None. Okta's SCEP server refuses a wrong
        static challenge; a SCEP failure rolls the whole profile back on the Mac (a `profiled` log quoted in a
        public Q&A: fleet-safety.md), so the profile that carries it fails, and only that one."""
        for ca, _ in self.issuers(profile):
            if ca.challenge != self.okta_challenge:
                return f"SCEP enrollment failed: Okta's SCEP server rejected the challenge of certificate authority {ca.name!r}"
        return profile.get("static_scep_refused")

    @staticmethod
    def certificate(ca: Authority, template: Template, device: Any, installed_at: float, now: float,
                    wall_now: float) -> dict[str, Any]:
        """The Mac's certificate from this CA at fleet time `now`: issued at install, renewed by WS1 `renewal_days`
        before expiry while the template has Automatic Certificate Renewal (Okta's CA does not renew by itself:
        fleet-safety.md), expired otherwise."""
        issued = installed_at
        if template.auto_renewal:
            cycle = CERT_LIFETIME_S - template.renewal_days * 86400
            if cycle > 0 and now > issued:
                issued += ((now - issued) // cycle) * cycle
        expires = issued + CERT_LIFETIME_S
        status = "Active" if now < expires else "Expired"
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall_now + (expires - now)))
        return {"Name": template.name, "IssuedBy": ca.name, "ExpiresOn": when, "Status": status,
                "IsIdentity": "true", "Error": "", "CertificateContext": "Device",
                "DeviceId": {"Id": {"Value": device.id}}, "Id": {"Value": device.id * 10 + 1},
                "Uuid": str(uuid.uuid5(NS, f"ca-cert-{ca.id}-{device.id}-{int(issued)}"))}

    @staticmethod
    def failed_certificate(ca: Authority, template: Template, device: Any, reason: str) -> dict[str, Any]:
        return {"Name": template.name, "IssuedBy": ca.name, "ExpiresOn": None, "Status": "Failed",
                "IsIdentity": "true", "Error": reason, "CertificateContext": "Device",
                "DeviceId": {"Id": {"Value": device.id}}, "Id": {"Value": device.id * 10 + 2},
                "Uuid": str(uuid.uuid5(NS, f"ca-cert-failed-{ca.id}-{device.id}"))}
