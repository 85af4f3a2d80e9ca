"""`ws1.upload`: the Okta Verify package and its pkginfo as an internal macOS app; adopt the same version,
carry the assignment over to a new one."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from odatui.core.errors import NeedsAction, PackageError
from odatui.macos.pkg import read_package, require_okta_verify_for_fleet, version_key
from odatui.macos.pkginfo import pkginfo_plist
from odatui.core.markers import marker
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, Change, ChangeKind, Context, Progress, Step
from odatui.mdm.ws1.steps.common import APP_NAME, duplicates_error


# A downgrade is not a version move on macOS. WS1: retiring the current version removes it from devices, "If a lower
# version is assigned, it will be deployed" (UEM 2604 mamv1 retire); a Munki-style install of an older package
# over a newer installed one is skipped as already installed (munki "installs" items compare versions: unverified
# for the WS1 Intelligent Hub agent). So each Mac either uninstalls Okta Verify and installs the older one (FastPass,
# Desktop MFA and Password Sync are down in between) or keeps the newer one (a no-op).
DOWNGRADE_ON_MACOS = (
    "warning: on macOS a downgrade is an uninstall and reinstall, or nothing: retiring the newer version removes "
    "Okta Verify from the Macs, then the older one installs (FastPass, Desktop MFA and Password Sync stop until it "
    "does); a Mac that still has the newer one may keep it (unverified). Needs --allow-downgrade --yes.",
)


class Ws1Upload(Step):
    id = "ws1.upload"
    title = "Upload Okta Verify to Workspace ONE"
    needs = ("preflight.ws1", "preflight.package")
    required_fields = ("ws1.api_url", "rollout.package")
    clients = ("ws1",)

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        return f"Okta Verify {outputs.get('version')} is app {outputs.get('app_id')} (uuid {outputs.get('app_uuid')})"

    async def _versions(self, ctx: Context) -> tuple[Any, list[Any], list[Any], Any]:
        """(the active app of this package's version or None, active older versions, active newer versions, a
        retired app of this version or None: WS1 refuses a duplicate version, so that one is unretired).
        WS1 keeps each version of an internal app as its own app record under one name and bundle ID, a new
        version inherits the previous one's assignments, and "you cannot upload duplicate versions of an app"
        (Add Version, https://docs.vmware.com/en/VMware-Workspace-ONE-UEM/services/Application_Management/
        GUID-InternalApplicationVersions.html): odatui carries the assignment over itself, then retires the old
        version, as the console's "Retire Previous Version" does."""
        og_id = ctx.output("preflight.ws1", "og_id")
        version = ctx.output("preflight.package", "version")
        found = [a for a in await ctx.ws1().search_apps(og_id, APP_NAME) if a.name == APP_NAME]
        apps = [a for a in found if a.status.lower() != "retired"]
        retired = next((a for a in found if a not in apps and a.version == version), None)
        same_all = [a for a in apps if a.version == version]
        if len(same_all) > 1:  # two processes that no lock could see raced (look before and after create)
            raise duplicates_error(f"{APP_NAME} {version} apps", [a.id for a in same_all], og_id,
                                   "Resources > Apps > Native > Internal")
        same = same_all[0] if same_all else None
        older = [a for a in apps if a is not same and version_key(a.version) < version_key(version)]
        newer = [a for a in apps if a is not same and version_key(a.version) >= version_key(version)]
        if newer and not ctx.config.rollout.allow_downgrade:
            top = max(newer, key=lambda a: version_key(a.version))
            raise PackageError(f"Workspace ONE already has {APP_NAME} {top.version} (app id {top.id}); this package "
                               f"is {version}, which is not newer.",
                               hint="use the newer package, or `odatui apply --allow-downgrade` to make "
                                    f"{version} the assigned version")
        return same, older, newer, retired

    @staticmethod
    def _outputs(app: Any, version: str, previous: list[Any], *, created: bool) -> dict[str, Any]:
        entry = {"kind": "ws1.app", "id": str(app.id), "uuid": app.uuid, "name": f"{APP_NAME} {version}",
                 "version": version}
        return {"app_id": app.id, "app_uuid": app.uuid, "version": version,
                # other active versions: ws1.assign moves the assignment off them, then retires them
                "previous": [{"app_id": a.id, "app_uuid": a.uuid, "version": a.version} for a in previous],
                OWN_CREATED if created else OWN_ADOPTED: [entry]}

    def _fleet_floor(self, ctx: Context) -> None:
        """The Okta Verify minimum follows the Macs, not only the floor: checked before anything is uploaded."""
        groups = (ctx.outputs.get("preflight.ws1") or {}).get("smart_groups") or []
        with_26 = [g for g in groups if g.get("macos26")]
        pkg = ctx.outputs.get("preflight.package") or {}
        where = (" (wave" + ("s " if len(with_26) > 1 else " ") + ", ".join(repr(g.get("wave") or g["name"])
                                                                            for g in with_26) + ")") if with_26 else ""
        require_okta_verify_for_fleet(str(pkg.get("version")), str(pkg.get("path") or ctx.config.rollout.package),
                                      ctx.config.rollout.macos_min,
                                      macos26_macs=sum(int(g["macos26"]) for g in with_26), where=where)

    async def inspect(self, ctx: Context) -> Change:
        self._fleet_floor(ctx)
        version = ctx.output("preflight.package", "version")
        app, older, newer, retired = await self._versions(ctx)
        if app is not None and app.status.lower() == "inactive":
            # An inactive internal app is not delivered to devices even when assigned (UEM console: Apps → Native →
            # Internal → app → Activate); odatui does not reactivate an app an admin turned off.
            raise NeedsAction(
                f"{APP_NAME} {version} is in Workspace ONE (app id {app.id}) but Inactive, so no Mac would get it.",
                hint=f"in the console, Apps & Books > Native > Internal > {APP_NAME} {version} > Activate, "
                     "then run odatui again")
        if app is not None:
            return Change(ChangeKind.NONE, f"{APP_NAME} {version} is already in Workspace ONE (app id {app.id})",
                          outputs=self._outputs(app, version, older + newer, created=False))
        if retired is not None:
            return Change(ChangeKind.UPDATE, f"{'downgrade' if newer else 'restore'} {APP_NAME} → {version}: "
                          f"unretire app {retired.id} (WS1 takes no second upload of a version), then move the "
                          "assignment to it", details=DOWNGRADE_ON_MACOS if newer else (),
                          found={"unretire": retired, "others": older + newer})
        size = ctx.output("preflight.package", "size_bytes")
        creates = ({"kind": "ws1.app", "name": f"{APP_NAME} {version}"},)
        if older or newer:
            cur = max(older + newer, key=lambda a: version_key(a.version))
            verb = "upgrade" if not newer else "downgrade"
            return Change(ChangeKind.CREATE, f"{verb} {APP_NAME} {cur.version} → {version}: upload it as a new "
                          f"version of the app (app id {cur.id}), then move the assignment and retire {cur.version}",
                          details=(f"blob: the .pkg ({size / 1e6:,.1f} MB, streamed)",
                                   "blob: munki pkginfo generated from the package",
                                   f"macOS app {APP_NAME} {version} next to {cur.version}")
                          + (DOWNGRADE_ON_MACOS if newer else ()),
                          found={"app": None, "others": older + newer}, creates=creates)
        return Change(ChangeKind.CREATE, f"upload {APP_NAME} {version} ({size / 1e6:,.1f} MB) and create the macOS app",
                      details=("blob: the .pkg (streamed)", "blob: munki pkginfo generated from the package",
                               "macOS app (full software management) from both blobs"),
                      found={"app": None, "others": []}, creates=creates)

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        version = ctx.output("preflight.package", "version")
        existing, older, newer, retired = await self._versions(ctx)
        if existing is not None:
            progress(1.0, f"{APP_NAME} {version} already exists (app id {existing.id}); adopting it")
            return self._outputs(existing, version, older + newer, created=False)
        if retired is not None:
            return await self._unretire(ctx, progress, retired, older + newer)
        return await self._create(ctx, progress, older + newer)

    async def _unretire(self, ctx: Context, progress: Progress, app: Any, others: list[Any]) -> dict[str, Any]:
        progress(None, f"Unretiring {APP_NAME} {app.version} (app id {app.id})")
        await ctx.ws1().unretire_internal_app(app.id)
        return self._outputs(app, app.version, others, created=False)

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        # inspect looked for the app in this attempt and found none; a retry inspects (and so looks) again
        # before anything is re-sent.
        if change.found.get("unretire") is not None:
            return await self._unretire(ctx, progress, change.found["unretire"], list(change.found["others"]))
        return await self._create(ctx, progress, list(change.found.get("others") or []))

    async def _create(self, ctx: Context, progress: Progress, others: list[Any]) -> dict[str, Any]:
        client = ctx.ws1()
        og_id = ctx.output("preflight.ws1", "og_id")
        version = ctx.output("preflight.package", "version")
        path = ctx.output("preflight.package", "path")
        facts = await asyncio.to_thread(read_package, path)
        if facts.sha256 != ctx.output("preflight.package", "sha256"):
            raise PackageError(f"{path} changed since it was checked.", hint="run preflight.package again")
        pkginfo = pkginfo_plist(facts, name=APP_NAME, minimum_os=ctx.config.rollout.macos_min,
                                notes=f"uploaded by odatui {marker(ctx.target)}")
        file_name = Path(path).name if path.lower().endswith(".pkg") else Path(path).name + ".pkg"

        def on_bytes(sent: int, total: int, rate: float) -> None:
            progress(sent / total if total else None,
                     f"Uploading {file_name}: {sent / 1e6:,.1f} of {total / 1e6:,.1f} MB at {rate / 1e6:,.1f} MB/s",
                     bytes_sent=sent, bytes_total=total, rate=rate)

        progress(0.0, f"Uploading {file_name}")
        binary = await client.upload_blob(path, file_name=file_name, og_id=og_id, module_type="Application",
                                          progress=on_bytes)
        # Each blob is odatui's the moment it exists: `remove` deletes it (BlobsV1_DeleteBlobAsync), also when
        # creating the app fails and nothing else refers to it.
        ctx.made_by_odatui(self.id, {"kind": "ws1.blob", "id": str(binary.id), "name": file_name})
        meta_name = f"{Path(file_name).stem}-{version}.plist"
        meta = await client.upload_blob(pkginfo, file_name=meta_name, og_id=og_id)
        ctx.made_by_odatui(self.id, {"kind": "ws1.blob", "id": str(meta.id), "name": meta_name})
        progress(None, "Creating the macOS app")
        from odatui.mdm.ws1.api.client import Ws1ApiError  # deferred: start-up (httpx)

        try:
            app_id = await client.create_macos_app(og_id, app_blob_id=binary.id, pkginfo_blob_id=meta.id,
                                                   version=version, name=APP_NAME)
            ctx.made_by_odatui(self.id, {"kind": "ws1.app", "id": str(app_id), "uuid": "",
                                         "name": f"{APP_NAME} {version}", "version": version})
            for blob, name in ((binary, file_name), (meta, meta_name)):  # the app's now: kept while the app stays
                ctx.made_by_odatui(self.id, {"kind": "ws1.blob", "id": str(blob.id), "name": name,
                                             "app_id": str(app_id)})
        except Ws1ApiError as exc:
            # WS1 refuses a second app of the same version ("you cannot upload duplicate versions", UEM Internal
            # Application Versions): if another run created it meanwhile, adopt that one (look again on conflict).
            if exc.status is None or exc.status >= 500:
                raise
            raced, *_ = await self._versions(ctx)
            if raced is None:
                raise
            progress(1.0, f"{APP_NAME} {version} was created meanwhile (app id {raced.id}); adopting it")
            return self._outputs(raced, version, [a for a in others if a.id != raced.id], created=False)
        # Another odatui (another machine, another state folder) may have created the same app meanwhile: look
        # again, so a duplicate is named now rather than found by every later run.
        await self._versions(ctx)
        app = await client.get_internal_app(app_id)
        progress(1.0, f"{APP_NAME} {version} created (app id {app_id})")
        from odatui.mdm.ws1.api.client import AppSummary  # deferred: start-up (httpx)

        summary = AppSummary(app_id, app["uuid"], APP_NAME, version, "Active")
        return self._outputs(summary, version, [a for a in others if a.id != app_id], created=True)
