"""The WS1 emulator's devices (the fleet as WS1 lists it)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odatui.mdm.ws1.emulator.base import Ws1State
from odatui.mdm.ws1.emulator.common import NS, Ws1Error


class Ws1Devices:
    """Device search, a device's profiles and certificates, and profile re-push (mdm v1)."""

    def __init__(self, ws1: Ws1State) -> None:
        self.ws1 = ws1

    # ------------------------------------------------------------------ devices
    def _device_model(self, d: Any) -> dict[str, Any]:
        return {"Udid": d.udid, "SerialNumber": d.serial, "DeviceFriendlyName": d.name, "DeviceReportedName": d.name,
                "LocationGroupId": {"Id": {"Value": 570}, "Name": "ACME Corp", "Uuid": self.ws1.org_groups[0]["Uuid"]},
                "LocationGroupName": "ACME Corp", "UserName": d.user, "UserEmailAddress": d.email,
                "Ownership": "C", "Platform": "AppleOsX", "Model": d.model, "OperatingSystem": d.os_version,
                "EnrollmentStatus": "Enrolled", "ComplianceStatus": "Compliant",
                # An int32 in 2604 (DeviceExtended) with no documented values; the emulator answers Windows'
                # PROCESSOR_ARCHITECTURE codes (9 x64, 12 ARM64), which odatui reads the same way (unverified).
                "ProcessorArchitecture": 12 if d.arch == "arm64" else 9,
                "UserApprovedEnrollment": d.user_approved,
                # ADE (DEP) enrollments are user-approved by definition, so a Mac without it was enrolled otherwise
                # (Apple Platform Deployment, "User Approved MDM"); supervision comes with ADE on macOS.
                "EnrolledViaDEP": d.user_approved, "IsSupervised": d.user_approved, "Id": {"Value": d.id},
                "Uuid": d.uuid}

    async def devices_search(self, request: Request, version: int) -> Response:
        platform = self.ws1._param(request, "platform")
        user = self.ws1._param(request, "user")
        lgid = self.ws1._int_param(request, "lgid")
        if lgid is not None and self.ws1._og(lgid) is None:
            raise Ws1Error(400, 6, f"Organization Group with id : {lgid} not found or Admin user does not have "
                           "access to it.")
        page, size = self.ws1._paging(request)
        if not user and (not platform or platform.lower() == "appleosx"):
            found = self.ws1.fleet.devices  # every device is a Mac: no per-page filtering of 50,000 devices
        else:
            found = [d for d in self.ws1.fleet.devices
                     if (not platform or platform.lower() == "appleosx") and (not user or user.lower() in d.user)]
        if not found:
            return Response(status_code=204)
        window = found[page * size:(page + 1) * size]
        return JSONResponse({"Devices": [self._device_model(d) for d in window], "Page": page, "PageSize": size,
                             "Total": len(found)})

    async def device_profiles(self, request: Request, version: int) -> Response:
        device = self.ws1.fleet.by_id.get(request.path_params["device_id"])
        if device is None:
            raise Ws1Error(404, 5002, f"Device not found for specified id: {request.path_params['device_id']}")
        items = []
        for p in self.ws1.profiles.values():
            if not self.ws1._targets(p, device):
                continue
            g = p["body"]["General"]
            installed = self.ws1.profile_installed(p, device)
            # The 2604 DeviceProfileApiEntity.Status enum has no "Failed"; a profile the Mac could not install is
            # reported here as "Corrupted" (unverified: the enum is documented, this mapping is not).
            status = ("ConfirmedInstall" if installed else
                      "PendingInstall" if self._queued(p["id"], device) else
                      "Corrupted" if self.ws1.profile_failed(p, device) else "PendingInstall")
            items.append({"Status": status, "Name": g["Name"],
                          "Description": g.get("Description") or "", "CurrentVersion": g["Version"],
                          "AssignmentType": g.get("AssignmentType", "Auto"),
                          "InstalledProfileVersion": g["Version"] if installed else 0,
                          "LocationGroupId": {"Id": {"Value": p["og_id"]}}, "Id": {"Value": p["id"]},
                          "Uuid": p["uuid"]})
        if not items:
            return Response(status_code=204)
        return JSONResponse({"DeviceId": {"Id": {"Value": device.id}, "Name": device.name}, "DeviceProfiles": items,
                             "Page": 0, "PageSize": 500, "Total": len(items)})

    async def device_certificates(self, request: Request, version: int) -> Response:
        """Certificates_GetCertificatesByDeviceAsync (mdm v1). A profile with a native SCEP payload: the certificate
        its WS1 CA issued (named after the template, issued by the CA as WS1 shows them: unverified naming), renewed
        or expired by the fleet's clock, or a failed one with WS1's error when the CA's challenge is refused. A
        profile with the static SCEP payload in Custom Settings: Okta's certificate once installed (names
        illustrative, unverified)."""
        device = self.ws1.fleet.by_id.get(request.path_params["device_id"])
        if device is None:
            raise Ws1Error(404, 5002, f"Device not found for specified id: {request.path_params['device_id']}")
        certs = []
        now, wall = self.ws1.fleet.now(), time.time()
        for p in self.ws1.profiles.values():
            if not self.ws1._targets(p, device):
                continue
            issuers = self.ws1.cas.issuers(p)
            if issuers:
                refused = self.ws1.cas.refused(p)
                for ca, template in issuers:
                    if refused and self.ws1.fleet.reached(device, "profile", self.ws1.profile_at(p, device)):
                        certs.append(self.ws1.cas.failed_certificate(ca, template, device, refused))
                    elif not refused and self.ws1.profile_installed(p, device):
                        at = (self.ws1.profile_at(p, device) or 0.0) + (self.ws1.fleet.delay(device, "profile") or 0.0)
                        certs.append(self.ws1.cas.certificate(ca, template, device, at, now, wall))
            elif p.get("static_scep") and self.ws1.profile_installed(p, device) and device.cert != "missing":
                days = 12 if device.cert == "expiring" else 300
                expires = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall + days * 86400))
                certs.append({"Name": f"Okta Device Access {device.udid[:8]}", "IssuedBy": "Okta Device Access CA",
                              "ExpiresOn": expires, "Status": "Active", "IsIdentity": "true", "Error": "",
                              "CertificateContext": "Device", "DeviceId": {"Id": {"Value": device.id}},
                              "Id": {"Value": device.id * 10}, "Uuid": str(uuid.uuid5(NS, f"cert-{device.id}"))})
        return JSONResponse({"DeviceCertificates": certs, "Page": 0, "PageSize": 500, "Total": len(certs)})

    async def install_profile(self, request: Request, version: int) -> Response:
        """ProfilesV1_InstallProfileAsync (mdm v1): POST /profiles/{profileid}/install with a DeviceInfo body."""
        profile = self.ws1.profiles.get(request.path_params["profile_id"])
        if profile is None:  # the spec lists 403/422 only; an unknown id answers like get_profile (unverified)
            raise Ws1Error(404, 8, "Profile not found for this request.")
        body = await self.ws1._json(request)
        device_id = body.get("DeviceId") if isinstance(body, dict) else None
        device = self.ws1.fleet.by_id.get(device_id) if isinstance(device_id, int) else None
        if device is None:
            raise Ws1Error(404, 5002, f"Device not found for specified id: {device_id}")
        if not self.ws1._targets(profile, device):
            raise Ws1Error(422, 1012, "The profile is not assigned to this device.")  # unverified wording
        # WS1 queues one more install command per call, whatever is queued already (the review saw a second run
        # queue thousands more): the sandbox records each, so a test can count duplicates.
        self.ws1.profile_installs.append({"profile_id": profile["id"], "device_id": device.id})
        self.ws1.queued_installs[(profile["id"], device.id)] = self.ws1.fleet.now()
        return Response(status_code=200)

    def _queued(self, profile_id: int, device: Any) -> bool:
        """An install command odatui queued that the Mac has not fetched yet: the Mac fetches it at its next
        check-in, modelled as the device's own install delay after the command (never, when it is offline). Until
        then the device's profile status is PendingInstall (DeviceProfileApiEntity.Status, mdmv1), even if the
        last attempt broke."""
        at = self.ws1.queued_installs.get((profile_id, device.id))
        if at is None:
            return False
        delay = self.ws1.fleet.delay(device, "profile")
        return delay is None or self.ws1.fleet.now() - at < delay
