"""Read an Okta Verify flat package (a xar archive) without unpacking it.

A flat package is a xar archive: a 28-byte big-endian header, a zlib-compressed XML table of contents (TOC),
then a heap holding each member's bytes. A product archive carries `Distribution` plus one or more component
packages (`Foo.pkg/PackageInfo`, `Foo.pkg/Payload`); a component package carries `PackageInfo` at the top.

Packages can be 1 GB+, so only the header, the TOC and the few small XML members are read; the SHA-256 of
the whole file is computed by streaming. Everything here is blocking I/O: callers run it in a thread.
"""

from __future__ import annotations

import hashlib
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote

from odatui.core.domain import MACOS_FLOORS
from odatui.core.errors import PackageError
from odatui.macos.pkg_xar import DOWNLOAD_HINT, Xar, check_file, corrupt

OKTA_VERIFY_ID = "com.okta.mobile"
# PSSO 2.0 (macOS 14+) needs Okta Verify 9.19 or later (Okta's IAM SE blog "Desktop Password Sync meets Platform
# SSO 2.0", iamse.blog/2024/06/21/…: "Okta Verify 9.19 deployed to your macOS devices").
PSSO2_MIN_VERSION = "9.19"
PSSO2_MACOS_FLOOR = 14
# The least Okta Verify per macOS floor. 26: "Your devices must have Okta Verify for macOS version 9.52 or later"
# (help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/about-psso-version-history.htm). 15: Okta's "Configure
# Desktop Password Sync for macOS 15" asks only for "the latest version of Okta Verify" and names no number, so the
# PSSO 2.0 minimum applies (no documented 15-specific number: unverified).
OKTA_VERIFY_FLOORS = {14: PSSO2_MIN_VERSION, 15: PSSO2_MIN_VERSION, 26: "9.52"}
# Okta, "Just-In-Time Local Account Creation for macOS" (help.okta.com/oie/en-us/content/topics/oda/
# jit-provisioning-oda.htm): Okta Verify 9.25.0 or later.
JIT_MIN_VERSION = "9.25.0"


@dataclass(frozen=True)
class Component:
    """One component package: what `pkgutil --pkgs` would list after installing."""

    identifier: str
    version: str
    install_kbytes: int


@dataclass(frozen=True)
class AppBundle:
    """An application the package installs (from PackageInfo's <bundle>), for munki's `installs`."""

    path: str  # absolute install path, e.g. /Applications/Okta Verify.app
    identifier: str
    short_version: str


@dataclass(frozen=True)
class PackageFacts:
    identifier: str
    version: str
    install_kbytes: int  # all components together, as munki's `installed_size`
    minimum_os: str | None  # from Distribution's allowed-os-versions, if present
    title: str | None
    path: str
    size_bytes: int
    sha256: str
    kind: str = "product"  # "product" (Distribution) or "component" (bare PackageInfo)
    components: tuple[Component, ...] = ()
    app: AppBundle | None = None
    signed: bool = False  # a xar signature is present (not validated here)


# --------------------------------------------------------------------------------------------- public API


def read_package(path: str | os.PathLike[str], *, expect_identifier: str | None = OKTA_VERIFY_ID) -> PackageFacts:
    """Parse the flat package at `path`; refuse anything that is not a readable package of `expect_identifier`."""
    p = Path(path).expanduser()
    where = str(p)
    check_file(p)
    try:
        with p.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            archive = Xar(f, size, where)
            facts = _package_facts(archive, where, size, expect_identifier)
            f.seek(0)
            digest = hashlib.file_digest(f, "sha256").hexdigest()  # streams in 256 KiB reads
    except PermissionError:
        raise PackageError(f"Cannot read the package {where}: permission denied.",
                           hint="make the file readable by this user (chmod u+r) or copy it somewhere you own") from None
    except OSError as exc:
        raise PackageError(f"Cannot read the package {where}: {exc.strerror or exc}.",
                           hint="check the path and the disk, then download the .pkg again") from None
    return replace(facts, sha256=digest)


def required_okta_verify(macos_min: int, *, jit: bool = False) -> str | None:
    """The least Okta Verify version for this macOS floor (and JIT account creation), or None (macOS 13, Platform
    SSO 1.0, no JIT). One rule: every minimum odatui knows is the highest of those that apply."""
    floor = OKTA_VERIFY_FLOORS.get(macos_min) or (PSSO2_MIN_VERSION if macos_min >= PSSO2_MACOS_FLOOR else None)
    if jit and (floor is None or version_key(floor) < version_key(JIT_MIN_VERSION)):
        return JIT_MIN_VERSION
    return floor


def require_product_archive(facts: PackageFacts) -> None:
    """Okta's download is a product archive (a `Distribution` plus its component): what macOS's installer and MDM
    installs expect (Apple's InstallEnterpriseApplication takes a distribution package). A bare component package
    is an extracted or repackaged one; whether WS1's munki would still install it is unverified, so it is refused."""
    if facts.kind != "product":
        raise PackageError(f"{facts.path} is a bare component package: it has no Distribution, so it is not the "
                           "installer Okta publishes (a product archive).",
                           hint=f"use the .pkg exactly as downloaded, not one extracted from it; {DOWNLOAD_HINT}")


MACOS26_MAJOR = 26


def fleet_minimums(macos_min: int, *, macos26_macs: int = 0) -> list[tuple[str, str]]:
    """Every Okta Verify minimum this rollout imposes, as (version, why), the floor's first. The one place for them:
    the floor (required_okta_verify, which also holds JIT's 9.25 and is checked by preflight.package), and macOS 26
    Macs present in a wave whatever the floor (Okta: "Okta Verify 9.52 or later on macOS 26 devices", "Configure
    Desktop Password Sync for macOS 26")."""
    out = []
    floor = required_okta_verify(macos_min)
    if floor:
        out.append((floor, f"the macOS {macos_min} floor"))
    if macos26_macs and macos_min < MACOS26_MAJOR:
        out.append((OKTA_VERIFY_FLOORS[MACOS26_MAJOR], f"{macos26_macs} macOS 26 Mac{'s' if macos26_macs > 1 else ''} "
                    "in the waves"))
    return out


def require_okta_verify_for_fleet(version: str, path: str, macos_min: int, *, macos26_macs: int,
                                  where: str = "") -> None:
    """Refuse a package older than any minimum the waves' Macs impose (exit 2), naming the version and why."""
    for needed, why in fleet_minimums(macos_min, macos26_macs=macos26_macs):
        if version_key(version) < version_key(needed):
            raise PackageError(
                f"Okta Verify {version} is too old for this rollout: {why}{where} need Okta Verify {needed} "
                f"or later ({path}).",
                hint=f"{DOWNLOAD_HINT} (the current version), or take those Macs out of the waves")


def require_okta_verify_version(facts: PackageFacts, macos_min: int, *, jit: bool = False) -> None:
    """Refuse a package too old for the floor (or for JIT account creation), and one that itself needs a newer
    macOS than the floor (WS1 would then skip Macs between the two floors: they get the profile but never the
    app)."""
    needed = required_okta_verify(macos_min, jit=jit)
    if needed and version_key(facts.version) < version_key(needed):
        why = ("just-in-time account creation (rollout.psso.enable_create_user_at_login)" if needed == JIT_MIN_VERSION
               else "Platform SSO 2.0" if needed == PSSO2_MIN_VERSION else f"macOS {macos_min} (Simplified Setup)")
        raise PackageError(
            f"Okta Verify {facts.version} is too old for macOS {macos_min}: {why} needs "
            f"Okta Verify {needed} or later ({facts.path}).",
            hint=f"{DOWNLOAD_HINT} (the current version)"
            + (", or set [rollout] macos_min = 13 for Platform SSO 1.0" if needed == PSSO2_MIN_VERSION else ""),
        )
    if facts.minimum_os and version_key(facts.minimum_os) > version_key(f"{macos_min}.0"):
        floor_above = next((n for n in MACOS_FLOORS if version_key(f"{n}.0") >= version_key(facts.minimum_os)), None)
        raise PackageError(
            f"Okta Verify {facts.version} itself needs macOS {facts.minimum_os} or later, above the rollout's floor "
            f"macOS {macos_min}: Macs from {macos_min} up to {facts.minimum_os} would get the profile but never the "
            f"app ({facts.path}).",
            hint=(f"set [rollout] macos_min = {floor_above} (with a smart group of those Macs), or " if floor_above
                  else "") + f"use an Okta Verify package that supports macOS {macos_min} "
                 "(Okta Admin Console → Settings → Downloads)",
        )


def version_key(version: str) -> tuple[int, ...]:
    """'9.52.0' → (9, 52, 0); trailing zeros dropped so 9.19 == 9.19.0; junk after the digits is ignored."""
    parts: list[int] = []
    for piece in version.strip().split("."):
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            break
        # A crafted 5,000-digit part must not reach int() (Python refuses > 4,300 digits): 18 digits order any
        # real version, and more cannot be told apart anyway.
        parts.append(int(digits[:18]))
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


# --------------------------------------------------------------------------------------------- package semantics


# Heuristics for the Mac App Store build (Okta, "Configure Desktop Password Sync for macOS 14",
# help.okta.com/oie/en-us/Content/Topics/oda/configure-psso-oda.htm: "Don't download the Okta Verify package from
# the Apple App Store"). No identifier of that build is documented, so we do not guess one; instead we look
# for what Apple puts in App Store installer packages: a `_MASReceipt` member, or an installer signature made with
# Apple's App Store certificates. A plain PKG from Okta's Downloads page has neither.
_MAS_CERT_MARKERS = (b"3rd Party Mac Developer Installer", b"Mac App Store", b"Apple Mac OS Application Signing")


def _package_facts(x: Xar, where: str, size: int, expect: str | None) -> PackageFacts:
    if any("_MASReceipt" in p.split("/") for p in x.paths) or any(
            marker in cert for cert in x.signature_certificates() for marker in _MAS_CERT_MARKERS):
        raise PackageError(f"{where} looks like the Mac App Store build of Okta Verify (App Store receipt or "
                           "signature found).",
                           hint=f"the App Store build lacks the MDM integration Platform SSO needs; {DOWNLOAD_HINT}")

    distribution = _xml(x, "Distribution") if "Distribution" in x.members else None
    infos = [p for p in x.members if p == "PackageInfo" or (p.endswith(".pkg/PackageInfo") and p.count("/") == 1)]
    if distribution is None and not infos:
        raise PackageError(f"{where} is a xar archive but not an installer package: it has neither a "
                           "Distribution nor a PackageInfo.", hint=DOWNLOAD_HINT)

    components: list[tuple[Component, ET.Element]] = []
    for info_path in sorted(infos):
        info = _xml(x, info_path)
        if info.tag != "pkg-info" or not info.get("identifier"):
            raise corrupt(where, f"{info_path} has no package identifier")
        components.append((Component(identifier=info.get("identifier", ""), version=info.get("version", ""),
                                     install_kbytes=_kbytes(info.find("payload"), "installKBytes")), info))

    title = minimum_os = None
    product_id = product_version = None
    if distribution is not None:
        title = (distribution.findtext("title") or "").strip() or None
        minimum_os = _minimum_os(distribution)
        product = distribution.find("product")
        if product is not None:
            product_id, product_version = product.get("id"), product.get("version")
        if not components:  # a Distribution whose components are referenced elsewhere: use its pkg-refs
            for ref in distribution.iter("pkg-ref"):
                if ref.get("version") and ref.get("id"):
                    components.append((Component(ref.get("id", ""), ref.get("version", ""),
                                                 _kbytes(ref, "installKBytes")), ref))

    chosen = _choose(components, expect)
    if chosen is None:
        found = sorted({c.identifier for c, _ in components} | ({product_id} if product_id else set()))
        if not found:
            raise PackageError(f"{where} has no component package, so its identifier cannot be read.",
                               hint=DOWNLOAD_HINT)
        named = ", ".join(found) + (f" ({title})" if title else "")
        raise PackageError(f"{where} is not Okta Verify: it is the package of {named}, not {expect}.",
                           hint=f"choose the Okta Verify .pkg; {DOWNLOAD_HINT}")
    component, info = chosen
    version = component.version or product_version or ""
    if len(version) > 64 or not re.fullmatch(r"[0-9A-Za-z.\-+_]*", version):
        raise corrupt(where, f"its version is not a version ({len(version):,} characters"
                             + (")" if len(version) > 64 else f": {version!r})"))
    return PackageFacts(
        identifier=component.identifier,
        version=version,
        install_kbytes=sum(c.install_kbytes for c, _ in components),
        minimum_os=minimum_os,
        title=title,
        path=where,
        size_bytes=size,
        sha256="",
        kind="product" if distribution is not None else "component",
        components=tuple(c for c, _ in components),
        app=_app_bundle(info, component.identifier),
        signed=x.toc.find("toc/signature") is not None,
    )


def _choose(components, expect: str | None):
    if expect is None:
        return components[0] if components else None
    for item in components:
        if item[0].identifier == expect:
            return item
    return None


def _xml(x: Xar, path: str) -> ET.Element:
    try:
        return ET.fromstring(x.read_member(path))
    except ET.ParseError as exc:
        raise corrupt(x.where, f"{path} is not valid XML ({exc})") from None


def _kbytes(node: ET.Element | None, attr: str) -> int:
    try:
        return max(int((node.get(attr) if node is not None else None) or 0), 0)
    except ValueError:
        return 0


def _minimum_os(distribution: ET.Element) -> str | None:
    mins = [v.get("min") for v in distribution.iter("os-version") if v.get("min")]
    return min(mins, key=version_key) if mins else None


def _app_bundle(info: ET.Element, identifier: str) -> AppBundle | None:
    """The top-level .app the component installs: the one with the package's identifier, else the first."""
    if info.tag != "pkg-info":
        return None
    location = info.get("install-location", "/") or "/"
    apps = [b for b in info.findall("bundle") if (b.get("path") or "").endswith(".app") and b.get("id")]
    if not apps:
        return None
    app = next((b for b in apps if b.get("id") == identifier), apps[0])
    rel = unquote(app.get("path", "")).removeprefix("./").lstrip("/")
    return AppBundle(path=os.path.normpath(os.path.join(location, rel)), identifier=app.get("id", ""),
                     short_version=app.get("CFBundleShortVersionString", ""))
