"""The WS1 emulator's blobs and internal macOS apps."""

from __future__ import annotations

import contextlib

import hashlib
import os
import plistlib
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odatui.mdm.ws1.emulator.base import Ws1State
from odatui.mdm.ws1.emulator.common import APP_BINARY_TYPES, BLOB_TYPES, MODULE_TYPES, Ws1Error, pad_version


class Ws1Apps:
    """Blob upload (streamed to disk; type from the file name), macOS app create, read, search, retire/unretire,
    delete, and the app's device install status (mam v1)."""

    def __init__(self, ws1: Ws1State) -> None:
        self.ws1 = ws1

    # ------------------------------------------------------------------ blobs and apps
    async def upload_blob(self, request: Request, version: int) -> Response:
        # The spec declares multipart/form-data, but every working client (Omnissa's SDK, AutoPkg importer,
        # UploadApp.ps1) sends the raw file bytes as the body; the emulator follows the field reports.
        file_name = self.ws1._param(request, "fileName")
        if not file_name:
            raise Ws1Error(400, 6, "FileName cannot be null or empty.")
        og_id = self.ws1._int_param(request, "organizationGroupId")
        if og_id is None:
            raise Ws1Error(400, 6, "OrganizationGroupId cannot be null or empty.")
        if self.ws1._og(og_id) is None:
            raise Ws1Error(400, 400, f"Resource's organization group : {og_id} not found or user does not have "
                           "access to it.")
        ext = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
        if ext not in BLOB_TYPES:  # UEM types a blob by its file name's extension
            raise Ws1Error(400, 400, "Invalid blob type provided.")
        module = self.ws1._param(request, "moduleType") or "General"
        if module not in MODULE_TYPES:
            raise Ws1Error(400, 400, "Invalid Module type.")
        limit = int(self.ws1.settings["max_blob_bytes"])
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > limit:
            raise Ws1Error(422, 7603, "Uploading file exceeds maximum file size limit set at current "
                           "organization group.")
        blob_id = self.ws1._next("blob")
        final = self.ws1.blob_dir / f"{blob_id}.{ext}"
        part = final.with_name(final.name + ".part")
        digest = hashlib.sha256()
        size = 0
        try:
            with part.open("wb") as fh:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise Ws1Error(422, 7603, "Uploading file exceeds maximum file size limit set at "
                                       "current organization group.")
                    digest.update(chunk)
                    fh.write(chunk)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        if size == 0:
            part.unlink(missing_ok=True)
            raise Ws1Error(400, 7019, "File is not attached.")
        os.replace(part, final)
        blob = {"id": blob_id, "uuid": self.ws1._uuid(f"blob-{blob_id}"), "file_name": file_name, "type": ext,
                "module_type": module, "size": size, "sha256": digest.hexdigest(), "og_id": og_id,
                "path": str(final)}
        self.ws1.blobs[blob_id] = blob
        return JSONResponse({"Value": blob_id, "id": blob_id, "uuid": blob["uuid"]})

    async def delete_blob(self, request: Request, version: int) -> Response:
        """BlobsV1_DeleteBlobAsync (mamv1 DELETE /blobs/blob/{blobId}): the spec documents only 200. A missing blob
        answers 404 and a blob an app still uses 400, both unverified: the sandbox refuses to let a delete break an
        app, so odatui must delete the app first."""
        blob_id = request.path_params["blob_id"]
        blob = self.ws1.blobs.get(blob_id)
        if blob is None:
            raise Ws1Error(404, 404, f"Blob not found with id : {blob_id}")
        users = [a["id"] for a in self.ws1.apps.values() if blob_id in (a.get("blob_id"), a.get("pkginfo_blob_id"))]
        if users:
            raise Ws1Error(400, 400, f"Blob {blob_id} is used by application {users[0]} and cannot be deleted.")
        del self.ws1.blobs[blob_id]
        with contextlib.suppress(OSError):
            os.unlink(blob["path"])
        return Response(status_code=200)

    def _blob(self, value: Any) -> dict[str, Any] | None:
        try:
            return self.ws1.blobs.get(int(value))
        except (TypeError, ValueError):
            return None

    async def create_macos_app(self, request: Request, version: int) -> Response:
        og = self.ws1._og(request.path_params["og_id"])
        if og is None:
            raise Ws1Error(400, 7451, "InvalidLocationGroupID - The Location Group ID is invalid.")
        body = await self.ws1._json(request)
        if not isinstance(body, dict):
            raise Ws1Error(400, 400, "Request body cannot be null.")
        binary = self._blob(body.get("applicationBlobId"))
        if binary is None or binary["type"] not in APP_BINARY_TYPES or binary["module_type"] != "Application":
            raise Ws1Error(400, 7453, "MacOsInvalidBlobId - Invalid BlobId.")
        meta_blob = self._blob(body.get("pkgInfoBlobId"))
        if meta_blob is None or meta_blob["type"] != "plist":
            raise Ws1Error(400, 7454, "MacOsInvalidPkgInfoFile - Invalid PkgInfo File.")
        try:
            with open(meta_blob["path"], "rb") as fh:
                pkginfo = plistlib.load(fh)
        except Exception:
            pkginfo = None
        if not isinstance(pkginfo, dict) or not pkginfo.get("name") or not pkginfo.get("version"):
            raise Ws1Error(400, 7454, "MacOsInvalidPkgInfoFile - Invalid PkgInfo File.")
        internal_version = body.get("version") or str(pkginfo["version"])
        if not re.fullmatch(r"\d+(\.\d+){0,3}", str(internal_version)):
            raise Ws1Error(400, 7455, "MacOsInvalidInternalVersion - Invalid Internal Version.")
        installs = pkginfo.get("installs") or []
        receipts = pkginfo.get("receipts") or []
        bundle_id = (installs[0].get("CFBundleIdentifier") if installs and isinstance(installs[0], dict) else None) \
            or (receipts[0].get("packageid") if receipts and isinstance(receipts[0], dict) else None) or ""
        # "You cannot upload duplicate versions of an app" — retired ones included (UEM Internal Application
        # Versions, docs.vmware.com/en/VMware-Workspace-ONE-UEM/services/Application_Management/
        # GUID-InternalApplicationVersions.html); the errorCode is unverified.
        if any(a["og_id"] == og["Id"] and a["bundle_id"] == bundle_id and a["version"] == str(pkginfo["version"])
               for a in self.ws1.apps.values()):
            raise Ws1Error(400, 400, f"Application with version {pkginfo['version']} already exists.")
        app_id = self.ws1._next("app")
        app = {"id": app_id, "uuid": self.ws1._uuid(f"app-{app_id}"), "name": str(pkginfo["name"]),
               "version": str(pkginfo["version"]), "internal_version": pad_version(str(internal_version)),
               "bundle_id": bundle_id, "og_id": og["Id"], "og_uuid": og["Uuid"],
               "blob_id": binary["id"], "pkginfo_blob_id": meta_blob["id"], "size": binary["size"],
               "sha256": binary["sha256"], "file_name": binary["file_name"],
               "minimum_os": str(pkginfo.get("minimum_os_version") or ""),
               "status": "Active",
               "pkginfo": plistlib.dumps(pkginfo, fmt=plistlib.FMT_XML).decode()}
        self.ws1.apps[app_id] = app
        location = f"{getattr(self.ws1.world, 'ws1_url', self.ws1.world.base_url)}/api/mam/apps/internal/{app_id}"
        return Response(status_code=201, headers={"Location": location})

    def _app(self, app_id: Any) -> dict[str, Any]:
        try:
            app = self.ws1.apps.get(int(app_id))
        except (TypeError, ValueError):
            app = None
        if app is None:  # yes, 401: the real API answers "not found" this way
            raise Ws1Error(401, 7000, "AppNotFoundOrInAccsessible - Application not found or user does not have "
                           "access to it.")
        return app

    def _mamv1_app(self, request: Request) -> dict[str, Any]:
        """The app a mamv1 delete/retire/unretire names; those answer a missing one with 400, not 401/7000."""
        try:
            app = self.ws1.apps.get(int(request.path_params["app_id"]))
        except ValueError:
            app = None
        if app is None:
            raise Ws1Error(400, 400, "Application not found or user does not have access to it.")
        return app

    def _app_counts(self, app: dict[str, Any]) -> tuple[int, int]:
        assigned = self._app_target_devices(app)
        installed = sum(1 for d in assigned
                        if self.ws1.fleet.installed(d, "app", self.ws1.app_rule_at(app, d), min_os=app["minimum_os"]))
        return len(assigned), installed

    def _app_target_devices(self, app: dict[str, Any]) -> list[Any]:
        rules = self.ws1.assignment_rules.get(app["uuid"], {}).get("assignments", [])
        seen: dict[int, Any] = {}
        for rule in rules:
            for sg_uuid in rule.get("distribution", {}).get("smart_groups") or []:
                group = self.ws1._sg_by_uuid(sg_uuid)
                if group is not None:
                    for d in self.ws1.sg_devices(group):
                        seen[d.id] = d
        return list(seen.values())

    async def get_internal_app(self, request: Request, version: int) -> Response:
        app = self._app(request.path_params["app_id"])
        assigned, installed = self._app_counts(app)
        return JSONResponse({
            "ApplicationName": app["name"], "DisplayName": app["name"], "AppId": app["bundle_id"],
            "ActualFileVersion": app["version"], "BuildVersion": app["version"],
            "AirwatchAppVersion": app["internal_version"], "Status": app["status"],
            "ManagedBy": (self.ws1._og(app["og_id"]) or {}).get("Name", "ACME Corp"),
            "ManagedByUuid": app["og_uuid"], "Platform": "AppleOsX", "MinimumOperatingSystem": app["minimum_os"],
            "AppSizeInKB": app["size"] // 1024, "DevicesAssignedCount": assigned, "DevicesInstalledCount": installed,
            "DevicesNotInstalledCount": assigned - installed, "ApplicationFileHash": app["sha256"],
            "MacOsSoftwareDeploymentSummary": {"IsManaged": "true", "Pkginfo": app["pkginfo"]},
            "id": app["id"], "uuid": app["uuid"],
        })

    async def delete_internal_app(self, request: Request, version: int) -> Response:
        """mamv1 DELETE /apps/internal/{id}: that version goes, with its assignment rules; 202."""
        app = self._mamv1_app(request)
        del self.ws1.apps[app["id"]]
        self.ws1.assignment_rules.pop(app["uuid"], None)
        self.ws1.assigned_at.pop(app["uuid"], None)
        return Response(status_code=202)

    async def retire_internal_app(self, request: Request, version: int) -> Response:
        """mamv1 POST /apps/internal/{id}/retire: 403 when already retired; a retired version is removed from
        devices (and a lower assigned version would be deployed again: the spec's words)."""
        app = self._mamv1_app(request)
        if app["status"] == "Retired":
            raise Ws1Error(403, 403, "Application Id already retired.")
        app["status"] = "Retired"
        self.ws1.assigned_at.pop(app["uuid"], None)
        return Response(status_code=202)

    async def unretire_internal_app(self, request: Request, version: int) -> Response:
        """mamv1 POST /apps/internal/{id}/unretire: 403 when it is not retired."""
        app = self._mamv1_app(request)
        if app["status"] != "Retired":
            raise Ws1Error(403, 403, "Application Id already unretired.")
        app["status"] = "Active"
        return Response(status_code=202)

    async def apps_search(self, request: Request, version: int) -> Response:
        name = self.ws1._param(request, "applicationname")
        og_id = self.ws1._int_param(request, "locationgroupid")
        platform = self.ws1._param(request, "platform")
        status = self.ws1._param(request, "status")
        if status is not None and status.lower() not in ("all", "active", "inactive", "retired"):
            raise Ws1Error(400, 7004, "Invalid application status. Valid values are : All, Active, InActive, Retired")
        # Without `status`, search lists apps in every state, retired ones included (UEM 2604 MAM v1 swagger lists
        # All/Active/InActive/Retired; the default is unverified).
        found = [a for a in self.ws1.apps.values()
                 if (not name or name.lower() in a["name"].lower()) and (og_id is None or a["og_id"] == og_id)
                 and (not platform or platform.lower() in ("appleosx", "10"))
                 and (status is None or status.lower() == "all"
                      or a.get("status", "Active").lower() == status.lower())]
        page, size = self.ws1._paging(request)
        window = found[page * size:(page + 1) * size]  # the spec documents no 204 here: an empty list
        items = []
        for a in window:
            assigned, installed = self._app_counts(a)
            items.append({"ApplicationName": a["name"], "BundleId": a["bundle_id"], "AppVersion": a["internal_version"],
                          "ActualFileVersion": a["version"], "AppType": "Internal",
                          "Status": a["status"],
                          "Platform": 10, "LocationGroupId": a["og_id"], "OrganizationGroupUuid": a["og_uuid"],
                          "ApplicationFileName": a["file_name"], "AssignedDeviceCount": assigned,
                          "InstalledDeviceCount": installed, "NotInstalledDeviceCount": assigned - installed,
                          "Id": {"Value": a["id"]}, "Uuid": a["uuid"]})
        return JSONResponse({"Application": items, "Page": page, "PageSize": size, "Total": len(found)})

    async def app_devices(self, request: Request, version: int) -> Response:
        app = self._app(request.path_params["app_id"])
        status = (self.ws1._param(request, "status") or "installed").lower()
        if status not in ("installed", "assigned"):
            raise Ws1Error(400, 400, f"The Device status value {status} is invalid.")
        if self.ws1._int_param(request, "locationgroupid") is None:
            raise Ws1Error(400, 400, "Location Group Id cannot be null or empty.")
        page, size = self.ws1._paging(request)
        at = self.ws1.assigned_at.get(app["uuid"])
        devices = self._app_target_devices(app)
        if status == "installed":
            # Keyed on what decides the answer (assignment time, minimum OS, target groups), not just the app.
            targets = tuple(str(g) for rule in self.ws1.assignment_rules.get(app["uuid"], {}).get("assignments", [])
                            for g in rule.get("distribution", {}).get("smart_groups") or [])
            dates = tuple(str(rule.get("distribution", {}).get("effective_date"))
                          for rule in self.ws1.assignment_rules.get(app["uuid"], {}).get("assignments", []))
            devices = self.ws1._listing(("app", app["uuid"], at, app["minimum_os"], targets, dates), lambda: [
                d for d in devices if self.ws1.fleet.installed(d, "app", self.ws1.app_rule_at(app, d),
                                                           min_os=app["minimum_os"])])
        if not devices:
            return Response(status_code=204)
        window = devices[page * size:(page + 1) * size]
        return JSONResponse({"DeviceId": [d.id for d in window], "Page": page, "PageSize": size,
                             "Total": len(devices)})
