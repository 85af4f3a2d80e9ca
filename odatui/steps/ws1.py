"""The Workspace ONE steps: preflight.ws1, ws1.upload, ws1.assign, ws1.profile.

Each `inspect` reads the tenant and says what `apply` would do, writing nothing; each `apply` looks again
first, so a re-run after a crash adopts what exists (the app of the same name and version, our assignment
rule, the profile of the same name) instead of duplicating it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from odatui.errors import NeedsAction, PackageError, StepError
from odatui.macos import mobileconfig
from odatui.macos.lint import errors as lint_errors
from odatui.macos.lint import lint
from odatui.macos.payloads import (
    KIND_APP_PREFS,
    KIND_DOMAINS,
    KIND_EXT_PREFS,
    KIND_SSO,
    PssoSettings,
    all_payloads,
    org_host_from_url,
)
from odatui.steps.base import Change, ChangeKind, Context, Progress, Step
from odatui.steps.readiness import ws1_warnings

APP_NAME = "Okta Verify"  # the pkginfo `name`, which WS1 shows as the app name
RULE_NAME_PREFIX = "Okta Verify (odatui)"


# --------------------------------------------------------------------------------------------- preflight.ws1


class PreflightWs1(Step):
    id = "preflight.ws1"
    title = "Workspace ONE tenant"
    needs = ()

    async def _check(self, ctx: Context) -> dict[str, Any]:
        cfg = ctx.config.ws1
        missing = ctx.config.missing("ws1.api_url", "ws1.group_id", "ws1.smart_group")
        if missing:
            raise StepError(f"Workspace ONE settings missing: {', '.join(missing)}",
                            hint="fill them in the wizard or in the [ws1] table of the config")
        client = ctx.ws1()
        og = await client.find_org_group(cfg.group_id)  # also the auth check: the first call
        if og is None:
            raise StepError(f"No organization group with Group ID {cfg.group_id!r} at {cfg.api_url}.",
                            hint="the Group ID is shown under Groups & Settings > Groups > Organization Groups > "
                                 "Details (it is not the group's name); the API admin must have access to it")
        candidates = await client.search_smart_groups(cfg.smart_group)
        exact = [g for g in candidates if g.name == cfg.smart_group]
        if not exact:
            near = ", ".join(repr(g.name) for g in candidates[:8])
            raise NeedsAction(
                f"No smart group is named exactly {cfg.smart_group!r}" + (f" (similar: {near})." if near else "."),
                hint=(f"in the console, Groups & Settings > Groups > Assignment Groups > Add Smart Group: create "
                      f"{cfg.smart_group!r} with the Macs to roll out to (or fix ws1.smart_group), then run odatui "
                      "again"))
        if len(exact) > 1:
            listed = "; ".join(f"id {g.id} managed by {g.managed_by or '?'}" for g in exact)
            raise StepError(f"{len(exact)} smart groups are named {cfg.smart_group!r}: {listed}.",
                            hint="rename all but one in the console so odatui assigns to the right Macs")
        sg = exact[0]
        warnings = await ws1_warnings(client, og.id, [sg.id], ctx.config.rollout.macos_min)
        return {"og_id": og.id, "og_uuid": og.uuid, "og_name": og.name, "smart_group_id": sg.id,
                "smart_group_uuid": sg.uuid, "smart_group_name": sg.name, "smart_group_devices": sg.devices,
                "warnings": warnings}

    async def inspect(self, ctx: Context) -> Change:
        out = await self._check(ctx)
        return Change(ChangeKind.NONE,
                      f"organization group {out['og_name']} (id {out['og_id']}), smart group "
                      f"{out['smart_group_name']!r} (id {out['smart_group_id']}, {out['smart_group_devices']} devices)",
                      outputs=out, warnings=tuple(out["warnings"]))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        progress(None, "Checking the Workspace ONE API, organization group and smart group")
        out = await self._check(ctx)
        for line in out["warnings"]:
            progress.log(line, level="warning")
        return out


# --------------------------------------------------------------------------------------------- ws1.upload


class Ws1Upload(Step):
    id = "ws1.upload"
    title = "Upload Okta Verify to Workspace ONE"
    needs = ("preflight.ws1", "preflight.package")

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        return f"Okta Verify {outputs.get('version')} is app {outputs.get('app_id')} (uuid {outputs.get('app_uuid')})"

    async def _existing(self, ctx: Context) -> Any:
        og_id = ctx.output("preflight.ws1", "og_id")
        version = ctx.output("preflight.package", "version")
        return await ctx.ws1().find_app(og_id, APP_NAME, version)

    async def inspect(self, ctx: Context) -> Change:
        version = ctx.output("preflight.package", "version")
        app = await self._existing(ctx)
        if app is not None:
            return Change(ChangeKind.NONE, f"{APP_NAME} {version} is already in Workspace ONE (app id {app.id})",
                          outputs={"app_id": app.id, "app_uuid": app.uuid, "version": version})
        size = ctx.output("preflight.package", "size_bytes")
        return Change(ChangeKind.CREATE, f"upload {APP_NAME} {version} ({size / 1e6:,.1f} MB) and create the macOS app",
                      details=("blob: the .pkg (streamed)", "blob: munki pkginfo generated from the package",
                               "macOS app (full software management) from both blobs"),
                      found={"app": None})

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        version = ctx.output("preflight.package", "version")
        existing = await self._existing(ctx)
        if existing is not None:
            progress(1.0, f"{APP_NAME} {version} already exists (app id {existing.id}); adopting it")
            return {"app_id": existing.id, "app_uuid": existing.uuid, "version": version}
        return await self._create(ctx, progress)

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        # inspect looked for the app in this attempt and found none; a retry inspects (and so looks) again
        # before anything is re-sent.
        return await self._create(ctx, progress)

    async def _create(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        from odatui.macos.pkg import read_package
        from odatui.macos.pkginfo import pkginfo_plist

        client = ctx.ws1()
        og_id = ctx.output("preflight.ws1", "og_id")
        version = ctx.output("preflight.package", "version")
        path = ctx.output("preflight.package", "path")
        facts = await asyncio.to_thread(read_package, path)
        if facts.sha256 != ctx.output("preflight.package", "sha256"):
            raise PackageError(f"{path} changed since it was checked.", hint="run preflight.package again")
        pkginfo = pkginfo_plist(facts, name=APP_NAME, minimum_os=ctx.config.rollout.macos_min)
        file_name = Path(path).name if path.lower().endswith(".pkg") else Path(path).name + ".pkg"

        def on_bytes(sent: int, total: int, rate: float) -> None:
            progress(sent / total if total else None,
                     f"Uploading {file_name}: {sent / 1e6:,.1f} of {total / 1e6:,.1f} MB at {rate / 1e6:,.1f} MB/s",
                     bytes_sent=sent, bytes_total=total, rate=rate)

        progress(0.0, f"Uploading {file_name}")
        binary = await client.upload_blob(path, file_name=file_name, og_id=og_id, module_type="Application",
                                          progress=on_bytes)
        meta = await client.upload_blob(pkginfo, file_name=f"{Path(file_name).stem}-{version}.plist", og_id=og_id)
        progress(None, "Creating the macOS app")
        app_id = await client.create_macos_app(og_id, app_blob_id=binary.id, pkginfo_blob_id=meta.id,
                                               version=version, name=APP_NAME)
        app = await client.get_internal_app(app_id)
        progress(1.0, f"{APP_NAME} {version} created (app id {app_id})")
        return {"app_id": app_id, "app_uuid": app["uuid"], "version": version}


# --------------------------------------------------------------------------------------------- ws1.assign


def _our_rule(sg_uuid: str, sg_name: str) -> dict[str, Any]:
    # Full replace: every field we care about is spelled out, since omitted ones reset (ON_DEMAND!).
    return {
        "priority": 0,
        "distribution": {
            "name": f"{RULE_NAME_PREFIX} {sg_name}"[:100],
            "description": "Okta Desktop Password Sync rollout (managed by odatui)",
            "smart_groups": [sg_uuid],
            "app_delivery_method": "AUTO",
            "display_in_app_catalog": True,
            "keep_app_updated_automatically": True,
            "auto_update_devices_with_previous_versions": True,
        },
        "restriction": {"remove_on_unenroll": False, "desired_state_management": True},
    }


def _covered(rules: dict[str, Any], sg_uuid: str) -> bool:
    for rule in rules.get("assignments") or []:
        dist = rule.get("distribution") or {}
        if sg_uuid.lower() in [str(g).lower() for g in dist.get("smart_groups") or []] \
                and dist.get("app_delivery_method") == "AUTO":
            return sg_uuid.lower() not in [str(g).lower() for g in rules.get("excluded_smart_groups") or []]
    return False


def merged_rules(current: dict[str, Any], sg_uuid: str, sg_name: str) -> dict[str, Any]:
    """Our AUTO rule first (priority 0); the admin's rules for other groups kept, renumbered 1..n."""
    others = []
    for rule in current.get("assignments") or []:
        dist = dict(rule.get("distribution") or {})
        groups = [g for g in dist.get("smart_groups") or [] if str(g).lower() != sg_uuid.lower()]
        if not groups:
            continue  # a rule only for our group is replaced by ours
        dist["smart_groups"] = groups
        others.append({k: v for k, v in rule.items() if k not in ("id", "uuid")} | {"distribution": dist})
    rules = [_our_rule(sg_uuid, sg_name)] + others
    for n, rule in enumerate(rules):
        rule["priority"] = n
    excluded = [g for g in current.get("excluded_smart_groups") or [] if str(g).lower() != sg_uuid.lower()]
    out: dict[str, Any] = {"assignments": rules, "excluded_smart_groups": excluded}
    if current.get("application_msi_deployment_params"):
        out["application_msi_deployment_params"] = current["application_msi_deployment_params"]
    return out


class Ws1Assign(Step):
    id = "ws1.assign"
    title = "Assign Okta Verify (Auto) to the smart group"
    needs = ("ws1.upload",)

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        return f"assigned (Auto) and published to {outputs.get('smart_group_name') or outputs.get('smart_group_uuid')!r}"

    async def inspect(self, ctx: Context) -> Change:
        app_uuid = ctx.output("ws1.upload", "app_uuid")
        sg_uuid = ctx.output("preflight.ws1", "smart_group_uuid")
        sg_name = ctx.output("preflight.ws1", "smart_group_name")
        current = await ctx.ws1().get_assignment_rules(app_uuid)
        outputs = {"app_uuid": app_uuid, "smart_group_uuid": sg_uuid, "smart_group_name": sg_name}
        if _covered(current, sg_uuid):
            return Change(ChangeKind.NONE, f"Okta Verify is already assigned (Auto) to {sg_name!r}", outputs=outputs)
        others = len([r for r in current.get("assignments") or []])
        return Change(ChangeKind.CREATE if not others else ChangeKind.UPDATE,
                      f"assign Okta Verify to {sg_name!r} with Auto delivery and publish",
                      details=(f"{others} existing assignment rule(s) kept",) if others else (), found=current)

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        current = await ctx.ws1().get_assignment_rules(ctx.output("ws1.upload", "app_uuid"))
        return await self._save(ctx, progress, current)

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        return await self._save(ctx, progress, change.found)  # the rules inspect read in this attempt

    async def _save(self, ctx: Context, progress: Progress, current: dict[str, Any]) -> dict[str, Any]:
        client = ctx.ws1()
        app_uuid = ctx.output("ws1.upload", "app_uuid")
        sg_uuid = ctx.output("preflight.ws1", "smart_group_uuid")
        sg_name = ctx.output("preflight.ws1", "smart_group_name")
        if not _covered(current, sg_uuid):
            progress(None, f"Saving the assignment to {sg_name!r} and publishing")
            await client.put_assignment_rules(app_uuid, merged_rules(current, sg_uuid, sg_name))
            if not _covered(await client.get_assignment_rules(app_uuid), sg_uuid):
                raise StepError("Workspace ONE accepted the assignment rules but does not show them.",
                                hint="open the app's Assignments in the console and Save & Publish; then re-run",
                                retryable=True)
        progress(1.0, f"Okta Verify is assigned (Auto) to {sg_name!r}")
        return {"app_uuid": app_uuid, "smart_group_uuid": sg_uuid, "smart_group_name": sg_name}


# --------------------------------------------------------------------------------------------- ws1.profile


def _settings(ctx: Context) -> PssoSettings:
    okta = ctx.outputs.get("okta.app") or {}
    client_id = okta.get("client_id") or ctx.config.okta.client_id
    if not client_id:
        raise StepError("okta.app has not produced the client ID yet", hint="run okta.app first")
    org_host = okta.get("org_host") or org_host_from_url(okta.get("org_url") or ctx.config.okta.org_url)
    rollout = ctx.config.rollout
    return PssoSettings(org_host=org_host, client_id=client_id, macos_min=rollout.macos_min,
                        user_principal_name=rollout.user_principal_name or None)


def desired_profile(ctx: Context) -> dict[str, Any]:
    """The AppleOsX profile body: Device context, Auto to the smart group, Associated Domains natively, the
    SSO extension and both Okta Verify preference domains as Custom Settings (reference ws1.md §3, §7.7)."""
    settings = _settings(ctx)
    payloads = all_payloads(settings)
    problems = lint_errors(lint(list(payloads.values()), settings.org_host, settings.client_id))
    if problems:
        raise StepError("The generated profile fails its own checks: " + " ".join(p.message for p in problems),
                        hint="report this as an odatui bug with the settings used")
    domains = payloads[KIND_DOMAINS]["Configuration"]
    return {
        "General": {
            "Name": ctx.config.rollout.profile_name,
            "Description": f"Okta Desktop Password Sync (Platform SSO) for {settings.org_host}; managed by odatui",
            "AssignmentType": "Auto",
            "ProfileContext": "Device",
            "ProfileScope": "Production",
            "IsActive": True,
            "AllowRemoval": "Always",
            "ManagedLocationGroupID": ctx.output("preflight.ws1", "og_id"),
            "AssignedSmartGroups": [{"SmartGroupId": ctx.output("preflight.ws1", "smart_group_id"),
                                     "Name": ctx.output("preflight.ws1", "smart_group_name")}],
            "ExcludedSmartGroups": [],
        },
        "AssociatedDomains": {
            "ApplicationIdentifier": [c["ApplicationIdentifier"] for c in domains],
            "AssociatedDomains": sorted({d for c in domains for d in c["AssociatedDomains"]}),
        },
        "CustomSettingsList": [{"CustomSettings": mobileconfig.ws1_custom_settings(payloads[k])}
                               for k in (KIND_SSO, KIND_APP_PREFS, KIND_EXT_PREFS)],
    }


_COMPARED_GENERAL = ("Name", "Description", "AssignmentType", "ProfileContext", "IsActive", "AllowRemoval",
                     "ManagedLocationGroupID")


def profile_differences(desired: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What differs, one line each; [] when the profile in WS1 already says what we want."""
    out = []
    want_g, have_g = desired["General"], current.get("General") or {}
    for key in _COMPARED_GENERAL:
        if want_g.get(key) != have_g.get(key):
            out.append(f"General.{key}: {have_g.get(key)!r} → {want_g.get(key)!r}")
    want_sg = {int(s["SmartGroupId"]) for s in want_g["AssignedSmartGroups"]}
    have_sg = {int(s.get("SmartGroupId") or 0) for s in have_g.get("AssignedSmartGroups") or []}
    if want_sg != have_sg:
        out.append(f"assigned smart groups: {sorted(have_sg)} → {sorted(want_sg)}")
    have_dom = current.get("AssociatedDomains") or {}
    for key in ("ApplicationIdentifier", "AssociatedDomains"):
        if sorted(have_dom.get(key) or []) != sorted(desired["AssociatedDomains"][key]):
            out.append(f"AssociatedDomains.{key} differs")
    try:
        have_cs = [p for e in current.get("CustomSettingsList") or []
                   for p in mobileconfig.parse_ws1_custom_settings(e.get("CustomSettings") or "")]
    except Exception:
        have_cs = []
        out.append("Custom Settings in Workspace ONE are not readable plist")
    want_cs = [p for e in desired["CustomSettingsList"] for p in mobileconfig.parse_ws1_custom_settings(e["CustomSettings"])]
    key = lambda p: (str(p.get("PayloadType")), str(p.get("PayloadIdentifier")))  # noqa: E731
    have_by, want_by = {key(p): p for p in have_cs}, {key(p): p for p in want_cs}
    for k in sorted(set(have_by) | set(want_by)):
        if k not in have_by:
            out.append(f"Custom Settings: {k[0]} ({k[1]}) missing")
        elif k not in want_by:
            out.append(f"Custom Settings: {k[0]} ({k[1]}) not ours, will be removed")
        elif have_by[k] != want_by[k]:
            out.append(f"Custom Settings: {k[0]} ({k[1]}) differs")
    return out


class Ws1Profile(Step):
    id = "ws1.profile"
    title = "Platform SSO profile in Workspace ONE"
    needs = ("okta.app", "preflight.ws1")

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        verb = "updated" if change.kind is ChangeKind.UPDATE else "created"
        return f"{verb} profile {outputs.get('profile_id')} and read it back: it matches"

    async def _find(self, ctx: Context) -> Any:
        name = ctx.config.rollout.profile_name
        found = [p for p in await ctx.ws1().search_profiles(ctx.output("preflight.ws1", "og_id"), name)
                 if p.name == name]
        if len(found) > 1:
            ids = ", ".join(str(p.id) for p in found)
            raise StepError(f"{len(found)} macOS profiles are named {name!r} (ids {ids}).",
                            hint="delete or rename the extra ones in the console, or set rollout.profile_name")
        return found[0] if found else None

    async def inspect(self, ctx: Context) -> Change:
        desired = desired_profile(ctx)
        name = desired["General"]["Name"]
        existing = await self._find(ctx)
        if existing is None:
            return Change(ChangeKind.CREATE, f"create the macOS profile {name!r} (Device, Auto)",
                          details=("Associated Domains", "Custom Settings: Extensible SSO with Platform SSO",
                                   "Custom Settings: Okta Verify preferences (2 domains)"), found=(None, None))
        current = await ctx.ws1().get_profile(existing.id)
        diffs = profile_differences(desired, current)
        if not diffs:
            return Change(ChangeKind.NONE, f"profile {name!r} (id {existing.id}) is up to date",
                          outputs={"profile_id": existing.id, "profile_uuid": existing.uuid})
        return Change(ChangeKind.UPDATE, f"update the profile {name!r} (id {existing.id})", details=tuple(diffs),
                      found=(existing, current))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        existing = await self._find(ctx)
        current = await ctx.ws1().get_profile(existing.id) if existing is not None else None
        return await self._save(ctx, progress, existing, current)

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        existing, current = change.found  # what inspect found in this attempt
        return await self._save(ctx, progress, existing, current)

    async def _save(self, ctx: Context, progress: Progress, existing: Any, current: dict[str, Any] | None
                    ) -> dict[str, Any]:
        client = ctx.ws1()
        desired = desired_profile(ctx)
        name = desired["General"]["Name"]
        if existing is None:
            progress(None, f"Creating the profile {name!r}")
            profile_id = await client.create_macos_profile(desired)
        else:
            profile_id = existing.id
            assert current is not None
            if not profile_differences(desired, current):
                progress(1.0, f"Profile {name!r} is up to date")
                return {"profile_id": profile_id, "profile_uuid": existing.uuid}
            progress(None, f"Updating the profile {name!r}")
            body = {**desired, "General": {**desired["General"], "ProfileId": profile_id, "CreateNewVersion": True}}
            await client.update_macos_profile(body)
        # Read back: macOS profile updates can answer 200 without saving (reference ws1.md §3.3).
        saved = await client.get_profile(profile_id)
        diffs = profile_differences(desired, saved)
        if diffs:
            raise StepError(f"Workspace ONE answered OK but profile {profile_id} does not hold the new settings "
                            f"({'; '.join(diffs[:3])}).",
                            hint="a known UEM bug with macOS profile updates; delete the profile in the console "
                                 "(Resources > Profiles & Baselines) and run `odatui apply --only ws1.profile` to "
                                 "create it afresh")
        progress(1.0, f"Profile {name!r} saved and verified (id {profile_id})")
        return {"profile_id": profile_id, "profile_uuid": (saved.get("General") or {}).get("ProfileUuid", "")}


STEPS = [PreflightWs1(), Ws1Upload(), Ws1Assign(), Ws1Profile()]

__all__ = ["STEPS", "PreflightWs1", "Ws1Upload", "Ws1Assign", "Ws1Profile", "desired_profile", "merged_rules",
           "profile_differences"]
