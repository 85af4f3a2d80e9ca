"""`ws1.certificate`: Okta's Device Access certificate the way Okta documents it for Workspace ONE (Okta, "Static SCEP
for macOS with Workspace ONE", help.okta.com/oie/en-us/content/topics/oda/ca/oda-ca-scep-macos-ws1-static.htm):
a WS1 certificate authority (Generic SCEP, static challenge) and request template the admin makes in the console,
found here by name through the 2604 picklists, and a separate Device profile whose native SCEP payload references
them, deployed before the Platform SSO profile. odatui never sends the challenge: the admin types it into the CA.

Why its own profile: a SCEP failure rolls back the whole profile that carries it (fleet-safety.md, field report),
so a reset secret or a blocked /pki would take Platform SSO down with it; and WS1 renews only certificates it
issues through a CA with a template (Okta's CA does not renew).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from odatui.macos import scep
from odatui.core.domain import certificate_expiry, load_ca_certificate
from odatui.core.errors import NeedsAction, StepError
from odatui.macos import certificate
from odatui.macos.payloads import org_host_from_url
from odatui.core.markers import marker
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, Change, ChangeKind, Context, Progress, Step
from odatui.mdm.ws1.steps.common import duplicates_error

CONSOLE = "Groups & Settings › All Settings › Enterprise Integration › Certificate Authorities"


def console_clicks(config: Any, missing: str) -> str:
    """The exact clicks for the CA and its template (Okta's WS1 page, and its Windows twin for WS1's side: "Configure
    Okta as a CA with static SCEP challenge for Windows using Workspace ONE"), ending in what odatui waits for."""
    ws1 = config.ws1
    return (
        f"{missing} Make them as Okta documents (Static SCEP for macOS with Workspace ONE): "
        f"1) {scep.ADMIN_CONSOLE_CLICKS}; download the x509 certificate there and set [okta] scep_ca_certificate to "
        "its path. "
        f"2) Workspace ONE console › {CONSOLE} › Add: Authority Type \"Generic SCEP\", Name "
        f"\"{ws1.certificate_authority}\", SCEP URL = Okta's SCEP URL, Challenge Type \"Static\", Static Challenge = "
        "Okta's secret key (typed here only; odatui never sends it), Save. "
        f"3) Request Templates tab › Add: Name \"{ws1.certificate_template}\", Certificate Authority "
        f"\"{ws1.certificate_authority}\", Subject Name \"CN=managementAttestation {{DeviceUid}}\", Private Key "
        "Length 2048, Private Key Type Signing, Automatic Certificate Renewal ON, Publish Private Key OFF, Save. "
        "odatui checks again and carries on once both exist."
    )


@dataclass(frozen=True)
class Found:
    """What inspect read: the CA/template ids and the certificate profile as it is in WS1 (None: not yet)."""

    ref: certificate.CertificateAuthorityRef
    existing: Any
    current: dict[str, Any] | None
    desired: dict[str, Any]


def _org(ctx: Context) -> certificate.Org:
    return certificate.Org(org_host_from_url(ctx.config.okta.org_url))


def _groups(ctx: Context) -> list[dict[str, Any]]:
    """Every wave's smart group at once: the certificate reaches each wave before its (gated) SSO profile, which is
    Okta's order; a certificate on a Mac without Platform SSO yet is harmless."""
    groups = (ctx.outputs.get("preflight.ws1") or {}).get("smart_groups")
    if groups is None:
        return [{"SmartGroupId": ctx.output("preflight.ws1", "smart_group_id"),
                 "Name": ctx.output("preflight.ws1", "smart_group_name")}]
    return [{"SmartGroupId": g["id"], "Name": g["name"]} for g in groups]


def desired_body(ctx: Context, ref: certificate.CertificateAuthorityRef) -> dict[str, Any]:
    ca_path = ctx.config.okta.scep_ca_certificate
    ca_der = load_ca_certificate(ca_path) if ca_path else None  # checked again: it may have expired since
    body = certificate.ws1_body(_org(ctx), ref, ca_der,
                                name=certificate.certificate_profile_name(ctx.config.rollout.profile_name),
                                og_id=ctx.output("preflight.ws1", "og_id"), smart_groups=_groups(ctx))
    # GeneralPayloadV2Entity.Description (mdmv2) carries odatui's marker: `remove` deletes only a profile that
    # still says it is odatui's, for this target (odatui.core.markers).
    body["General"]["Description"] += f" {marker(ctx.target)}"
    return body


_COMPARED = ("Name", "Description", "AssignmentType", "ProfileContext", "IsActive", "AllowRemoval",
             "ManagedLocationGroupID")
_SCEP_KEYS = ("CredentialSource", "CertificateAuthorityId", "CertificateTemplateId", "AllowExportFromKeyChain")


def differences(desired: dict[str, Any], current: dict[str, Any]) -> list[str]:
    out = []
    want_g, have_g = desired["General"], current.get("General") or {}
    out += [f"General.{k}: {have_g.get(k)!r} → {want_g.get(k)!r}" for k in _COMPARED if want_g.get(k) != have_g.get(k)]
    want_sg = {int(s["SmartGroupId"]) for s in want_g["AssignedSmartGroups"]}
    have_sg = {int(s.get("SmartGroupId") or 0) for s in have_g.get("AssignedSmartGroups") or []}
    if want_sg != have_sg:
        out.append(f"assigned smart groups: {sorted(have_sg)} → {sorted(want_sg)}")
    want_scep = [{k: e.get(k) for k in _SCEP_KEYS} for e in desired.get("ScepList") or []]
    have_scep = [{k: e.get(k) for k in _SCEP_KEYS} for e in current.get("ScepList") or []]
    if want_scep != have_scep:
        out.append("native SCEP payload: certificate authority / template differ")
    want_cs = [e.get("CustomSettings") for e in desired.get("CustomSettingsList") or []]
    have_cs = [e.get("CustomSettings") for e in current.get("CustomSettingsList") or []]
    if want_cs != have_cs:
        out.append("Okta intermediate CA payload differs")
    return out


class Ws1Certificate(Step):
    id = "ws1.certificate"
    title = "Device Access certificate profile in Workspace ONE"
    needs = ("preflight.ws1",)
    required_fields = ("ws1.api_url", "ws1.smart_group", "okta.org_url", "ws1.certificate_authority",
                       "ws1.certificate_template")
    clients = ("ws1",)

    def applies(self, config: Any) -> bool:
        return scep.ws1_ca(config)

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        if change.kind is ChangeKind.NONE:
            return change.summary
        verb = "updated" if change.kind is ChangeKind.UPDATE else "created"
        return (f"{verb} certificate profile {outputs.get('certificate_profile_id')} (CA "
                f"{outputs.get('certificate_authority_id')}, template {outputs.get('certificate_template_id')}) "
                "and read it back: it matches")

    async def _ref(self, ctx: Context) -> certificate.CertificateAuthorityRef | str:
        """The CA and template by exact name, or the needs-action text naming what is missing."""
        ws1, client = ctx.config.ws1, ctx.ws1()
        og_id = ctx.output("preflight.ws1", "og_id")
        cas = [c for c in await client.certificate_authorities(og_id) if c.name == ws1.certificate_authority]
        if not cas:
            return console_clicks(ctx.config, f"Workspace ONE has no certificate authority named "
                                              f"{ws1.certificate_authority!r} in organization group {og_id} "
                                              "(ws1.certificate_authority).")
        if len(cas) > 1:
            raise StepError(f"{len(cas)} certificate authorities are named {ws1.certificate_authority!r} (ids "
                            f"{', '.join(str(c.id) for c in cas)}).",
                            hint=f"rename all but one in the console ({CONSOLE}), or set ws1.certificate_authority "
                                 "to the one to use")
        ca = cas[0]
        templates = [t for t in await client.certificate_templates(og_id, ca.id) if t.name == ws1.certificate_template]
        if not templates:
            return console_clicks(ctx.config, f"Certificate authority {ca.name!r} (id {ca.id}) has no request template "
                                              f"named {ws1.certificate_template!r} (ws1.certificate_template).")
        if len(templates) > 1:
            raise StepError(f"{len(templates)} templates of {ca.name!r} are named {ws1.certificate_template!r}.",
                            hint=f"rename all but one in the console ({CONSOLE} › Request Templates), or set "
                                 "ws1.certificate_template to the one to use")
        return certificate.CertificateAuthorityRef(ca.id, ca.name, templates[0].id, templates[0].name)

    async def _find(self, ctx: Context) -> Any:
        name = certificate.certificate_profile_name(ctx.config.rollout.profile_name)
        og_id = ctx.output("preflight.ws1", "og_id")
        found = [p for p in await ctx.ws1().search_profiles(og_id, name) if p.name == name]
        if len(found) > 1:
            raise duplicates_error(f"macOS profiles named {name!r}", [p.id for p in found], og_id,
                                   "Resources > Profiles & Baselines > Profiles")
        return found[0] if found else None

    async def inspect(self, ctx: Context) -> Change:
        ref = await self._ref(ctx)
        if isinstance(ref, str):
            return Change(ChangeKind.NEEDS_ACTION, "the WS1 certificate authority and template for Okta's Device "
                          "Access certificate do not exist yet", action=ref)
        desired = desired_body(ctx, ref)
        name = desired["General"]["Name"]
        details = (f"native SCEP payload: certificate authority {ref.ca_name!r} (id {ref.ca_id}), template "
                   f"{ref.template_name!r} (id {ref.template_id}); no challenge in the profile",
                   "Okta intermediate CA: " + ("included (okta.scep_ca_certificate)" if desired.get("CustomSettingsList")
                                               else "not given (set okta.scep_ca_certificate to deploy it too)"),
                   "note: Workspace ONE's API does not show whether the template has Automatic Certificate Renewal "
                   "on (2604 PickListItem: Key and Description only): check it in the console, or every Mac's "
                   "certificate expires unrenewed")
        details += _ca_expiry_warning(ctx)
        existing = await self._find(ctx)
        if existing is None:
            return Change(ChangeKind.CREATE, f"create the certificate profile {name!r} (Device, Auto), before the "
                          "Platform SSO profile", details=details, found=Found(ref, None, None, desired),
                          creates=({"kind": "ws1.profile", "name": name},))
        current = await ctx.ws1().get_profile(existing.id)
        diffs = differences(desired, current)
        if not diffs:
            return Change(ChangeKind.NONE, f"certificate profile {name!r} (id {existing.id}) is up to date",
                          details=details, outputs=_outputs(existing.id, existing.uuid, name, ref, OWN_ADOPTED))
        return Change(ChangeKind.UPDATE, f"update the certificate profile {name!r} (id {existing.id})",
                      details=tuple(diffs) + details, found=Found(ref, existing, current, desired))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        return await self.apply_change(ctx, progress, await self.inspect(ctx))

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.kind is ChangeKind.NEEDS_ACTION:
            raise NeedsAction(change.action)
        if change.kind is ChangeKind.NONE or change.found is None:
            return dict(change.outputs)
        found: Found = change.found
        client, name = ctx.ws1(), found.desired["General"]["Name"]
        if found.existing is None:
            progress(None, f"Creating the certificate profile {name!r}")
            profile_id = await client.create_macos_profile(found.desired)
            ctx.made_by_odatui(self.id, {"kind": "ws1.profile", "id": str(profile_id), "uuid": "", "name": name})
            await self._find(ctx)  # a second one made at the same time by another odatui is named now
        else:
            profile_id = found.existing.id
            progress(None, f"Updating the certificate profile {name!r}")
            general = {**found.desired["General"], "ProfileId": profile_id, "CreateNewVersion": True}
            await client.update_macos_profile({**found.desired, "General": general})
        saved = await client.get_profile(profile_id)  # read back: macOS profile updates can answer 200 unsaved
        diffs = differences(found.desired, saved)
        if diffs:
            raise StepError(f"Workspace ONE answered OK but certificate profile {profile_id} does not hold the new "
                            f"settings ({'; '.join(diffs[:3])}).",
                            hint="delete the profile in the console (Resources > Profiles & Baselines) and run "
                                 "`odatui apply --only ws1.certificate` to create it afresh")
        uuid = (saved.get("General") or {}).get("ProfileUuid", "")
        progress(1.0, f"Certificate profile {name!r} saved and verified (id {profile_id})")
        return _outputs(profile_id, uuid, name, found.ref, OWN_CREATED if found.existing is None else OWN_ADOPTED)


CA_WARN_DAYS = 30


def _ca_expiry_warning(ctx: Context) -> tuple[str, ...]:
    """A plan warning when Okta's intermediate CA runs out within CA_WARN_DAYS: Macs stop trusting the chain."""
    path = ctx.config.okta.scep_ca_certificate
    if not path:
        return ()
    days = (certificate_expiry(load_ca_certificate(path)) - time.time()) / 86400
    if days >= CA_WARN_DAYS:
        return ()
    return (f"warning: Okta's intermediate CA certificate ({path}) expires in {int(days)} days: download the "
            "current one from Okta's SCEP configuration and set okta.scep_ca_certificate to it",)


def _outputs(profile_id: int, uuid: str, name: str, ref: certificate.CertificateAuthorityRef,
             own: str) -> dict[str, Any]:
    """The certificate profile's id and uuid (the waves gate and `status --devices` read its install share), and
    the CA/template ids and names (`status --devices --device ID` matches the Mac's certificates by them)."""
    return {"certificate_profile_id": profile_id, "certificate_profile_uuid": uuid,
            "certificate_authority_id": ref.ca_id, "certificate_authority": ref.ca_name,
            "certificate_template_id": ref.template_id, "certificate_template": ref.template_name,
            own: [{"kind": "ws1.profile", "id": str(profile_id), "uuid": uuid, "name": name}]}


__all__ = ["Ws1Certificate", "console_clicks", "desired_body", "differences"]
