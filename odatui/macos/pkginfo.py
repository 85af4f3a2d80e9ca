"""The munki-style pkginfo plist that Workspace ONE's macOS software management (munki inside Intelligent Hub)
takes as the app's metadata (`pkgInfoBlobId` of Omnissa's MAM API
`POST /api/mam/groups/{id}/macos/apps`, MacOsAppsV1_CreateMacOSApplication in the mamv1 OpenAPI spec,
developer.omnissa.com/workspace-one-uem-apis/).

The key set mirrors what munki's `makepkginfo` writes for a flat package, which is what WS1 importers upload.
WS1's exact required minimum is undocumented (it answers 7454 MacOsInvalidPkgInfoFile), so we stay close to
makepkginfo instead of inventing keys. `installer_type` is deliberately absent: munki treats a missing
`installer_type` as "Apple installer package", and none of its named types (copy_from_dmg, nopkg, …) applies.
"""

from __future__ import annotations

import os
import plistlib
from typing import Any

from odatui.macos.pkg import PackageFacts, version_key
from odatui.macos.uninstall import uninstall_script


def pkginfo_dict(facts: PackageFacts, *, name: str = "Okta Verify", minimum_os: str | int | None = None,
                 catalogs: tuple[str, ...] = ("testing",), notes: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": name,
        "display_name": name,
        "version": facts.version,
        "description": "",
        "catalogs": list(catalogs),
        "installer_item_location": os.path.basename(facts.path),
        "installer_item_hash": facts.sha256,
        "installer_item_size": facts.size_bytes // 1024,  # munki sizes are KiB
        "installed_size": facts.install_kbytes,
        "receipts": [
            {"packageid": c.identifier, "version": c.version, "installed_size": c.install_kbytes}
            for c in facts.components
        ],
        "uninstallable": True,
        # Not "removepackages": that removes the receipt's files only and leaves the LaunchDaemons running and
        # the login plugin registered (see odatui.macos.uninstall).
        "uninstall_method": "uninstall_script",
        "uninstall_script": uninstall_script(),
        "autoremove": False,
        # An Auto-delivered app is installed in the background, without asking the user.
        "unattended_install": True,
    }
    if notes:
        # munki's `notes` key: "administrator notes", never shown to users (munki wiki, Supported Pkginfo Keys).
        # odatui's marker lives here, as the 2604 macOS app create model has no note of its own (odatui.core.markers).
        # That WS1 keeps the key and returns it in MacOsSoftwareDeploymentSummary.Pkginfo is unverified.
        item["notes"] = notes
    floor = _minimum_os(facts.minimum_os, minimum_os)
    if floor:
        item["minimum_os_version"] = floor
    if facts.app is not None:
        # munki prefers `installs` over receipts to decide whether the app is present and current.
        item["installs"] = [{
            "type": "application",
            "path": facts.app.path,
            "CFBundleIdentifier": facts.app.identifier,
            "CFBundleShortVersionString": facts.app.short_version or facts.version,
            "version_comparison_key": "CFBundleShortVersionString",
        }]
    return item


def pkginfo_plist(facts: PackageFacts, *, name: str = "Okta Verify", minimum_os: str | int | None = None,
                  notes: str | None = None) -> bytes:
    """XML plist bytes (WS1 needs XML, not binary), byte-for-byte the same for the same facts."""
    return plistlib.dumps(pkginfo_dict(facts, name=name, minimum_os=minimum_os, notes=notes),
                          fmt=plistlib.FMT_XML, sort_keys=True)


def _minimum_os(from_package: str | None, requested: str | int | None) -> str | None:
    """The stricter of the package's own floor and the rollout's macOS floor (14 → "14.0")."""
    candidates = [v for v in (from_package, _os_string(requested)) if v]
    return max(candidates, key=version_key) if candidates else None


def _os_string(value: str | int | None) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    return text if "." in text else f"{text}.0"
