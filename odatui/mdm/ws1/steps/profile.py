"""`ws1.profile`: the Platform SSO profile, built once per attempt, compared as data with WS1's copy, saved
and read back."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from odatui.macos import scep
from odatui.core import values
from odatui.core.errors import StepError
from odatui.macos import mobileconfig
from odatui.macos.lint_base import errors as lint_errors
from odatui.macos.lint import lint
from odatui.macos.payloads import PssoSettings, all_payloads, org_host_from_url
from odatui.core.markers import marker
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, OWN_RELEASED, Change, ChangeKind, Context, Progress, Step
from odatui.mdm.ws1.steps.profile_waves import ProfileWaves, profile_waves
from odatui.steps.rollout_warnings import rollout_notes
from odatui.mdm.ws1.steps.common import duplicates_error
from odatui.macos.sso_profile import sso_settings, ws1_fragments


def _settings(ctx: Context) -> PssoSettings:
    okta = ctx.outputs.get("okta.app") or {}
    client_id = values.client_id(ctx.outputs, ctx.config)
    if not client_id:
        raise StepError("okta.app has not produced the client ID yet", hint="run okta.app first")
    org_host = okta.get("org_host") or org_host_from_url(okta.get("org_url") or ctx.config.okta.org_url)
    return sso_settings(ctx.config, ctx.secrets, client_id, org_host)  # the one builder the exports use too


@dataclass(frozen=True)
class DesiredProfile:
    """The profile this attempt wants, built once: the body WS1 takes (payloads as Custom Settings XML) and the same
    payloads as plist data, which is what WS1's copy is compared with (no XML serialised and parsed back)."""

    body: dict[str, Any]
    payloads: tuple[dict[str, Any], ...]

    @property
    def name(self) -> str:
        return self.body["General"]["Name"]


def desired_profile(ctx: Context, groups: list[dict[str, Any]] | None = None) -> DesiredProfile:
    """The AppleOsX profile body: Device context, Auto to the smart group, and every payload as Custom Settings,
    byte for byte the `*.ws1.xml` fragments the export writes. Associated Domains go as Custom Settings too: WS1's
    native payload takes one flat list of app ids and one of domains, and how it expands them is undocumented
    (reference: Okta "Configure device configuration profiles for PSSO using Workspace ONE",
    help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/configure-macos-psso-omnissa.htm; a WS1 PSSO
    practitioner recommends Custom Settings for every PSSO payload because the built-in ones were broken before
    UEM 2506 Patch 6, aftersixcomputers.com/how-to-configure-apple-platform-sso-with-okta-desktop-password-sync)."""
    settings = _settings(ctx)
    payloads = all_payloads(settings)
    problems = lint_errors(lint(list(payloads.values()), settings.org_host, settings.client_id))
    if problems:
        raise StepError("The generated profile fails its own checks: " + " ".join(p.message for p in problems),
                        hint="report this as an odatui bug with the settings used")
    body = {
        "General": {
            "Name": ctx.config.rollout.profile_name,
            # GeneralPayloadV2Entity.Description (mdmv2) carries odatui's marker: `remove` deletes only a profile
            # that still says it is odatui's, for this target (odatui.core.markers).
            "Description": f"Okta Desktop Password Sync (Platform SSO) for {settings.org_host}; managed by odatui "
                           f"{marker(ctx.target)}",
            "AssignmentType": "Auto",
            "ProfileContext": "Device",
            "ProfileScope": "Production",
            "IsActive": True,
            "AllowRemoval": "Always",
            "ManagedLocationGroupID": ctx.output("preflight.ws1", "og_id"),
            # The wave groups whose gate holds (odatui.mdm.ws1.steps.profile_waves); all of them without gates.
            "AssignedSmartGroups": groups if groups is not None else _profile_groups(ctx),
            "ExcludedSmartGroups": [],
        },
        "CustomSettingsList": [{"CustomSettings": text} for text in ws1_fragments(settings)],
    }
    return DesiredProfile(body, tuple(mobileconfig.plist_data(p) for p in payloads.values()))


def _profile_groups(ctx: Context) -> list[dict[str, Any]]:
    groups = (ctx.outputs.get("preflight.ws1") or {}).get("smart_groups")
    if groups is None:  # a run state from before waves: one group
        return [{"SmartGroupId": ctx.output("preflight.ws1", "smart_group_id"),
                 "Name": ctx.output("preflight.ws1", "smart_group_name")}]
    return [{"SmartGroupId": g["id"], "Name": g["name"]} for g in groups]


_COMPARED_GENERAL = ("Name", "Description", "AssignmentType", "ProfileContext", "IsActive", "AllowRemoval",
                     "ManagedLocationGroupID")


def profile_differences(desired: DesiredProfile, current: dict[str, Any]) -> list[str]:
    """What differs, one line each; [] when the profile in WS1 already says what we want."""
    out = []
    want_g, have_g = desired.body["General"], current.get("General") or {}
    for key in _COMPARED_GENERAL:
        if want_g.get(key) != have_g.get(key):
            out.append(f"General.{key}: {have_g.get(key)!r} → {want_g.get(key)!r}")
    want_sg = {int(s["SmartGroupId"]) for s in want_g["AssignedSmartGroups"]}
    have_sg = {int(s.get("SmartGroupId") or 0) for s in have_g.get("AssignedSmartGroups") or []}
    if want_sg != have_sg:
        out.append(f"assigned smart groups: {sorted(have_sg)} → {sorted(want_sg)}")
    have_dom = current.get("AssociatedDomains") or {}
    want_dom = desired.body.get("AssociatedDomains") or {}
    if want_dom:
        for key in ("ApplicationIdentifier", "AssociatedDomains"):
            if sorted(have_dom.get(key) or []) != sorted(want_dom[key]):
                out.append(f"AssociatedDomains.{key} differs")
    elif have_dom.get("ApplicationIdentifier") or have_dom.get("AssociatedDomains"):
        out.append("native Associated Domains payload: replaced by the Custom Settings one")
    try:
        have_cs = [p for e in current.get("CustomSettingsList") or []
                   for p in mobileconfig.parse_ws1_custom_settings(e.get("CustomSettings") or "")]
    except Exception:
        have_cs = []
        out.append("Custom Settings in Workspace ONE are not readable plist")
    want_cs = desired.payloads
    key = lambda p: (str(p.get("PayloadType")), str(p.get("PayloadIdentifier")))  # noqa: E731
    have_by, want_by = {key(p): p for p in have_cs}, {key(p): p for p in want_cs}
    for k in sorted(set(have_by) | set(want_by)):
        if k not in have_by:
            out.append(f"Custom Settings: {k[0]} ({k[1]}) missing")
        elif k not in want_by and k[0] == "com.apple.security.scep":
            # Migration to rollout.scep = "ws1_ca": ws1.certificate (run first) deploys the certificate now.
            out.append(f"Custom Settings: the embedded Device Access SCEP payload ({k[1]}) is removed: the "
                       "certificate profile deploys the certificate now")
        elif k not in want_by:
            out.append(f"Custom Settings: {k[0]} ({k[1]}) not ours, will be removed")
        elif have_by[k] != want_by[k]:
            out.append(f"Custom Settings: {k[0]} ({k[1]}) differs")
    return out


class Ws1Profile(Step):
    id = "ws1.profile"
    title = "Platform SSO profile in Workspace ONE"
    # After ws1.assign: Okta Verify must be on the Mac before the profile that points at its extension (Okta,
    # "Configure Desktop Password Sync for macOS 14": "Follow these steps in sequence", Okta Verify first).
    # After ws1.certificate (when rollout.scep = "ws1_ca"): Okta's order is the Device Access certificate, then the
    # SSO profile ("Configure Platform Single Sign-on for macOS 14": the steps "must be followed in the order").
    needs = ("okta.app", "preflight.ws1", "ws1.assign", "ws1.certificate")
    required_fields = ("ws1.api_url", "ws1.smart_group", "rollout.profile_name")
    clients = ("ws1",)

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        verb = {ChangeKind.UPDATE: "updated", ChangeKind.REPLACE: "replaced"}.get(change.kind, "created")
        line = f"{verb} profile {outputs.get('profile_id')} and read it back: it matches"
        if outputs.get(OWN_RELEASED):
            line += "; removed the old " + ", ".join(_describe(e) for e in outputs[OWN_RELEASED])
        if outputs.get("stopped"):  # exit 0: the run went as far as the gates allow, and says where it stopped
            line += f"; {outputs['stopped']}"
        if any(d.startswith("note: Device Access SCEP") for d in change.details):
            line += " (no SCEP payload: rollout.scep = \"elsewhere\", another profile must deploy it)"
        return line

    async def _find(self, ctx: Context) -> Any:
        name = ctx.config.rollout.profile_name
        og_id = ctx.output("preflight.ws1", "og_id")
        found = [p for p in await ctx.ws1().search_profiles(og_id, name) if p.name == name]
        if len(found) > 1:
            raise duplicates_error(f"macOS profiles named {name!r}", [p.id for p in found], og_id,
                                   "Resources > Profiles & Baselines > Profiles",
                                   also="or set rollout.profile_name to another name")
        return found[0] if found else None

    async def _replaced(self, ctx: Context, keep: Any) -> list[dict[str, Any]]:
        """Profiles odatui created in earlier runs (the ledger says so) other than `keep` that still exist: after a
        rename of rollout.profile_name they would stay assigned next to the new one, and Macs would get two
        Platform SSO profiles. Only the ledger counts, never a name: someone else's profile is never taken."""
        keep_id = str(keep.id) if keep is not None else None
        old = [e for e in ctx.created_by_odatui(self.id, "ws1.profile") if str(e.get("id")) != keep_id]
        exists = await asyncio.gather(*(ctx.ws1().profile_exists(int(e["id"])) for e in old))
        return [e for e, there in zip(old, exists, strict=True) if there]

    async def inspect(self, ctx: Context) -> Change:
        notes = rollout_notes(ctx.config)
        payloads = ("Custom Settings: Associated Domains", "Custom Settings: Extensible SSO with Platform SSO",
                    "Custom Settings: Okta Verify preferences (2 domains)")
        if scep.scep_wanted(ctx.config) or scep.ws1_ca(ctx.config):
            payloads = (scep.summary(ctx.config),) + payloads
        existing = await self._find(ctx)
        current = await ctx.ws1().get_profile(existing.id) if existing is not None else None
        waves = await profile_waves(ctx, current)
        desired = desired_profile(ctx, waves.groups)
        name = desired.name
        gates = waves.lines()
        extra = _wave_outputs(waves)
        old = await self._replaced(ctx, existing)
        gone = ", ".join(_describe(e) for e in old)
        if existing is None:
            if old:
                return Change(ChangeKind.REPLACE, f"replace the {gone} with {name!r}: create the new profile, then "
                              "remove the old one odatui created" + _to(waves), details=payloads + gates + notes,
                              found=(None, None, desired, waves, old), creates=({"kind": "ws1.profile", "name": name},))
            return Change(ChangeKind.CREATE, f"create the macOS profile {name!r} (Device, Auto)" + _to(waves),
                          details=payloads + gates + notes, found=(None, None, desired, waves, ()),
                          creates=({"kind": "ws1.profile", "name": name},))
        assert current is not None
        diffs = profile_differences(desired, current)
        if old:  # an interrupted replace: the new one is there, the old one still to go
            return Change(ChangeKind.REPLACE, f"replace: remove the {gone} odatui created; {name!r} (id "
                          f"{existing.id}) is {'updated first' if diffs else 'up to date'}",
                          details=tuple(diffs) + gates + notes, found=(existing, current, desired, waves, old))
        if not diffs:
            return Change(ChangeKind.NONE, f"profile {name!r} (id {existing.id}) is up to date" + _stop(waves),
                          details=gates + notes,
                          outputs={"profile_id": existing.id, "profile_uuid": existing.uuid, **extra,
                                   OWN_ADOPTED: [_profile_entry(existing.id, existing.uuid, name)]})
        return Change(ChangeKind.UPDATE, f"update the profile {name!r} (id {existing.id})" + _to(waves),
                      details=tuple(diffs) + gates + notes, found=(existing, current, desired, waves, ()))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        existing = await self._find(ctx)
        current = await ctx.ws1().get_profile(existing.id) if existing is not None else None
        waves = await profile_waves(ctx, current)
        old = await self._replaced(ctx, existing)
        saved = await self._save(ctx, progress, existing, current, desired_profile(ctx, waves.groups), waves)
        return await self._replace(ctx, progress, old, saved)

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        existing, current, desired, waves, old = change.found  # what inspect found and decided in this attempt
        return await self._replace(ctx, progress, old,
                                   await self._save(ctx, progress, existing, current, desired, waves))

    async def _replace(self, ctx: Context, progress: Progress, old: Any, outputs: dict[str, Any]) -> dict[str, Any]:
        """After the new profile is saved and read back: remove the old ones odatui created (create before
        destroy, so the Macs are never without a profile), through `odatui remove`'s own path."""
        if not old:
            return outputs
        if ctx.undo is None:
            raise StepError("the old profile cannot be removed from here", hint="run `odatui remove` for it")
        released = []
        for entry in old:
            progress(None, f"Removing the {_describe(entry)} that odatui created (replaced by "
                           f"{ctx.config.rollout.profile_name!r})")
            how = await ctx.undo(ctx, self.id, entry)
            progress.log(f"{_describe(entry)}: {how}")
            released.append(entry)
        return {**outputs, OWN_RELEASED: released}

    async def _save(self, ctx: Context, progress: Progress, existing: Any, current: dict[str, Any] | None,
                    desired: DesiredProfile, waves: ProfileWaves) -> dict[str, Any]:
        client = ctx.ws1()
        name = desired.name
        if existing is None:
            progress(None, f"Creating the profile {name!r}")
            profile_id = await client.create_macos_profile(desired.body)
            ctx.made_by_odatui(self.id, {"kind": "ws1.profile", "id": str(profile_id), "uuid": "", "name": name})
            await self._find(ctx)  # a second one made at the same time by another odatui is named now
        else:
            profile_id = existing.id
            assert current is not None
            if not profile_differences(desired, current):
                progress(1.0, f"Profile {name!r} is up to date")
                return {"profile_id": profile_id, "profile_uuid": existing.uuid, **_wave_outputs(waves),
                        OWN_ADOPTED: [_profile_entry(profile_id, existing.uuid, name)]}
            progress(None, f"Updating the profile {name!r}")
            general = {**desired.body["General"], "ProfileId": profile_id, "CreateNewVersion": True}
            body = {**desired.body, "General": general}
            await client.update_macos_profile(body)
        # Read back: macOS profile updates can answer 200 without saving (euc-oss/terraform-sdk-uem
        # docs/troubleshooting.md, "Known API bug"; unverified on docs.omnissa.com).
        saved = await client.get_profile(profile_id)
        diffs = profile_differences(desired, saved)
        if diffs:
            raise StepError(f"Workspace ONE answered OK but profile {profile_id} does not hold the new settings "
                            f"({'; '.join(diffs[:3])}).",
                            hint="a known UEM bug with macOS profile updates; delete the profile in the console "
                                 "(Resources > Profiles & Baselines) and run `odatui apply --only ws1.profile` to "
                                 "create it afresh")
        progress(1.0, f"Profile {name!r} saved and verified (id {profile_id})")
        if waves.stopped:
            progress.log(waves.stopped)
        uuid = (saved.get("General") or {}).get("ProfileUuid", "")
        return {"profile_id": profile_id, "profile_uuid": uuid, **_wave_outputs(waves),
                OWN_CREATED if existing is None else OWN_ADOPTED: [_profile_entry(profile_id, uuid, name)]}


def _wave_outputs(waves: ProfileWaves) -> dict[str, Any]:
    """What the run state keeps: the groups the profile went to, each wave's gate, every override so far."""
    return {"assigned_smart_group_ids": [int(g["SmartGroupId"]) for g in waves.groups], "waves": waves.waves,
            "overrides": waves.overrides, "stopped": waves.stopped}


def _to(waves: ProfileWaves) -> str:
    if waves.waves is None:
        return ""
    names = [w["wave"] for w in waves.waves if w["gate"] == "open"]
    return (" for wave" + ("s " if len(names) > 1 else " ") + ", ".join(repr(n) for n in names) if names
            else " assigned to no wave yet") + _stop(waves)


def _stop(waves: ProfileWaves) -> str:
    return f"; {waves.stopped}" if waves.stopped else ""


def _describe(entry: Mapping[str, Any]) -> str:
    return f"profile {entry.get('name')!r} (id {entry.get('id')})"


def _profile_entry(profile_id: int, uuid: str, name: str) -> dict[str, Any]:
    return {"kind": "ws1.profile", "id": str(profile_id), "uuid": uuid, "name": name}
