"""Read an Okta Verify flat package (a xar archive) without unpacking it.

A flat package is a xar archive: a 28-byte big-endian header, a zlib-compressed XML table of contents (TOC),
then a heap holding each member's bytes. A product archive carries `Distribution` plus one or more component
packages (`Foo.pkg/PackageInfo`, `Foo.pkg/Payload`); a component package carries `PackageInfo` at the top.

Packages can be 1 GB+, so only the header, the TOC and the few small XML members are read; the SHA-256 of
the whole file is computed by streaming. Everything here is blocking I/O: callers run it in a thread.
"""

from __future__ import annotations

import base64
import bz2
import hashlib
import lzma
import os
import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from odatui.errors import PackageError

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

DOWNLOAD_HINT = "download the Okta Verify .pkg from the Okta Admin Console → Settings → Downloads"

_HEADER = struct.Struct(">4sHHQQI")  # magic, header size, version, toc compressed, toc uncompressed, cksum alg
_MAGIC = b"xar!"
_CKSUM_BY_ID = {0: None, 1: "sha1", 2: "md5"}  # 3 = "other": the name follows the 28 header bytes
_MAX_TOC = 64 << 20  # a real TOC is tens of KB; refuse absurd sizes instead of allocating them
_MAX_MEMBER = 16 << 20  # Distribution / PackageInfo are a few KB
_MAX_DEPTH = 64


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
    _check_file(p)
    try:
        with p.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            archive = _Xar(f, size, where)
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


def required_okta_verify(macos_min: int) -> str | None:
    """The least Okta Verify version for this macOS floor, or None (macOS 13, Platform SSO 1.0)."""
    return OKTA_VERIFY_FLOORS.get(macos_min) or (PSSO2_MIN_VERSION if macos_min >= PSSO2_MACOS_FLOOR else None)


def require_okta_verify_version(facts: PackageFacts, macos_min: int) -> None:
    """Refuse a package too old for the floor, and one that itself needs a newer macOS than the floor (WS1 would
    then skip Macs between the two floors: they get the profile but never the app)."""
    needed = required_okta_verify(macos_min)
    if needed and version_key(facts.version) < version_key(needed):
        why = "Platform SSO 2.0" if needed == PSSO2_MIN_VERSION else f"macOS {macos_min} (Simplified Setup)"
        raise PackageError(
            f"Okta Verify {facts.version} is too old for macOS {macos_min}: {why} needs "
            f"Okta Verify {needed} or later ({facts.path}).",
            hint=f"{DOWNLOAD_HINT} (the current version)"
            + (", or set [rollout] macos_min = 13 for Platform SSO 1.0" if needed == PSSO2_MIN_VERSION else ""),
        )
    if facts.minimum_os and version_key(facts.minimum_os) > version_key(f"{macos_min}.0"):
        from odatui.macos.payloads import MACOS_FLOORS

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
        parts.append(int(digits))
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


# --------------------------------------------------------------------------------------------- the file itself


def _check_file(p: Path) -> None:
    where = str(p)
    if not p.exists():
        raise PackageError(f"The Okta Verify package {where} does not exist.",
                           hint=f"{DOWNLOAD_HINT} and set [rollout] package to its path")
    if p.is_dir():
        # Old bundle-style packages are folders; the MDM needs a single flat file.
        raise PackageError(f"{where} is a folder (a bundle-style package), not a flat .pkg file.",
                           hint=DOWNLOAD_HINT)
    if not p.is_file():
        raise PackageError(f"{where} is not a regular file.", hint=DOWNLOAD_HINT)


def _not_xar(f, size: int, where: str) -> PackageError:
    """Name what the file is instead, when we can tell: a wrong download is the usual cause."""
    if size == 0:
        return PackageError(f"{where} is empty (0 bytes).", hint=f"the download failed; {DOWNLOAD_HINT}")
    f.seek(0)
    head = f.read(8)
    tail = b""
    if size >= 512:
        f.seek(size - 512)
        tail = f.read(4)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return PackageError(f"{where} is a zip archive, not a flat package (.pkg).",
                            hint="unzip it and point [rollout] package at the .pkg inside")
    if tail == b"koly":  # UDIF disk images end with a 512-byte 'koly' trailer
        return PackageError(f"{where} is a disk image (.dmg), not a flat package (.pkg).",
                            hint=f"download the .pkg, not the .dmg: {DOWNLOAD_HINT}")
    return PackageError(f"{where} is not a flat package: it does not start with the xar signature.",
                        hint=f"download the .pkg, not the .dmg or .zip: {DOWNLOAD_HINT}")


def _truncated(where: str, need: int, have: int) -> PackageError:
    return PackageError(f"{where} is truncated: it needs at least {need:,} bytes but has {have:,}.",
                        hint=f"the download was cut short; {DOWNLOAD_HINT} again")


def _corrupt(where: str, what: str) -> PackageError:
    return PackageError(f"{where} is damaged: {what}.", hint=f"{DOWNLOAD_HINT} again")


# --------------------------------------------------------------------------------------------- xar


@dataclass(frozen=True)
class _Member:
    path: str
    offset: int  # relative to the heap
    length: int  # archived bytes
    size: int  # extracted bytes
    encoding: str
    extracted_checksum: tuple[str, str] | None  # (algorithm, hex)


class _Xar:
    """The header, the verified TOC and random access to small members of one open xar file."""

    def __init__(self, f, size: int, where: str) -> None:
        self.f, self.size, self.where = f, size, where
        head = f.read(_HEADER.size)
        if len(head) < 4 or head[:4] != _MAGIC:
            raise _not_xar(f, size, where)
        if len(head) < _HEADER.size:
            raise _truncated(where, _HEADER.size, size)
        _, header_size, _version, toc_len, toc_raw_len, alg_id = _HEADER.unpack(head)
        if header_size < _HEADER.size:
            raise _corrupt(where, f"the xar header claims {header_size} bytes (minimum 28)")
        if toc_len > _MAX_TOC or toc_raw_len > _MAX_TOC:
            raise _corrupt(where, f"the table of contents claims {max(toc_len, toc_raw_len):,} bytes")
        self.heap_start = header_size + toc_len
        if self.heap_start > size:
            raise _truncated(where, self.heap_start, size)
        if alg_id == 3:
            name = f.read(header_size - _HEADER.size).split(b"\0", 1)[0].decode("ascii", "replace").lower()
            algorithm = name or None
        elif alg_id in _CKSUM_BY_ID:
            algorithm = _CKSUM_BY_ID[alg_id]
        else:
            raise _corrupt(where, f"unknown checksum algorithm number {alg_id} in the xar header")
        f.seek(header_size)
        toc_compressed = f.read(toc_len)
        try:
            toc_xml = _inflate(toc_compressed, toc_raw_len)
        except (zlib.error, ValueError):
            raise _corrupt(where, "the table of contents does not decompress") from None
        try:
            self.toc = ET.fromstring(toc_xml)
        except ET.ParseError as exc:
            raise _corrupt(where, f"the table of contents is not valid XML ({exc})") from None
        if self.toc.tag != "xar" or self.toc.find("toc") is None:
            raise _corrupt(where, "the table of contents has no <toc> element")
        self._verify_toc(toc_compressed, algorithm)
        self.members: dict[str, _Member] = {}
        self.paths: list[str] = []
        self._walk(self.toc.find("toc"), "")
        self._check_heap_extent()

    def _verify_toc(self, toc_compressed: bytes, algorithm: str | None) -> None:
        if algorithm is None:
            return  # the header says the archive carries no TOC checksum; nothing to check against
        if algorithm not in hashlib.algorithms_available:
            raise _corrupt(self.where, f"unsupported TOC checksum algorithm {algorithm!r}")
        node = self.toc.find("toc/checksum")
        if node is None:
            raise _corrupt(self.where, "the header announces a TOC checksum but the TOC has none")
        offset, length = _int(node, "offset"), _int(node, "size")
        expected_len = hashlib.new(algorithm).digest_size
        if offset is None or length != expected_len:
            raise _corrupt(self.where, "the TOC checksum entry is malformed")
        stored = self._read_heap(offset, length)
        actual = hashlib.new(algorithm, toc_compressed).digest()
        if stored != actual:
            raise PackageError(
                f"{self.where} is damaged: its table of contents fails the {algorithm} checksum.",
                hint=f"the file was altered or corrupted in transit; {DOWNLOAD_HINT} again")

    def _walk(self, parent: ET.Element, prefix: str, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:  # a crafted TOC must not exhaust the recursion limit
            raise _corrupt(self.where, "the table of contents nests folders too deeply")
        for node in parent.findall("file"):
            name = (node.findtext("name") or "").strip()
            if not name or name in (".", "..") or "/" in name:
                raise _corrupt(self.where, f"the table of contents has an unsafe member name {name!r}")
            path = f"{prefix}{name}"
            self.paths.append(path)
            data = node.find("data")
            kind = (node.findtext("type") or "file").strip()
            if data is not None and kind == "file":
                enc = data.find("encoding")
                ck = data.find("extracted-checksum")
                offset, length, size = _int(data, "offset"), _int(data, "length"), _int(data, "size")
                if offset is None or length is None:
                    raise _corrupt(self.where, f"member {path} has no heap offset/length")
                self.members[path] = _Member(
                    path=path, offset=offset, length=length, size=size if size is not None else length,
                    encoding=(enc.get("style", "") if enc is not None else "application/octet-stream"),
                    extracted_checksum=((ck.get("style", "").lower(), (ck.text or "").strip().lower())
                                        if ck is not None else None),
                )
            self._walk(node, f"{path}/", depth + 1)

    def _check_heap_extent(self) -> None:
        # The TOC says where the heap ends; a short file is caught here without reading the payload.
        ends = [m.offset + m.length for m in self.members.values()]
        ck = self.toc.find("toc/checksum")
        if ck is not None and _int(ck, "offset") is not None:
            ends.append(_int(ck, "offset") + (_int(ck, "size") or 0))
        need = self.heap_start + max(ends, default=0)
        if need > self.size:
            raise _truncated(self.where, need, self.size)

    def _read_heap(self, offset: int, length: int) -> bytes:
        if self.heap_start + offset + length > self.size:
            raise _truncated(self.where, self.heap_start + offset + length, self.size)
        self.f.seek(self.heap_start + offset)
        return self.f.read(length)

    def read_member(self, path: str) -> bytes:
        m = self.members[path]
        if m.length > _MAX_MEMBER or m.size > _MAX_MEMBER:
            raise _corrupt(self.where, f"{path} claims {max(m.length, m.size):,} bytes")
        raw = self._read_heap(m.offset, m.length)
        style = m.encoding.lower()
        # Every decompressor stops one byte past what the member announces (capped at 16 MiB): a bomb (a few KB
        # of bzip2/xz that would expand to GBs) is refused after at most that much output, never held in memory.
        limit = m.size if 0 < m.size <= _MAX_MEMBER else _MAX_MEMBER
        try:
            if style in ("", "application/octet-stream"):
                data = raw
            elif style == "application/x-gzip":  # xar's "gzip" is zlib in practice; accept real gzip too
                data = _inflate(raw, limit)
            elif style == "application/x-bzip2":
                data = _bounded(bz2.BZ2Decompressor(), raw, limit)
            elif style in ("application/x-lzma", "application/x-xz"):
                data = _bounded(lzma.LZMADecompressor(), raw, limit)
            else:
                raise _corrupt(self.where, f"{path} uses an unknown encoding {m.encoding!r}")
        except _TooLarge:
            raise _corrupt(self.where, f"{path} decompresses to more than the {limit:,} bytes it announces (limit "
                           f"{_MAX_MEMBER >> 20} MiB per member): a decompression bomb or a damaged file") from None
        except (zlib.error, OSError, lzma.LZMAError, ValueError, EOFError):
            raise _corrupt(self.where, f"{path} does not decompress") from None
        if m.extracted_checksum and m.extracted_checksum[0] in hashlib.algorithms_available:
            algorithm, expected = m.extracted_checksum
            if expected and hashlib.new(algorithm, data).hexdigest() != expected:
                raise _corrupt(self.where, f"{path} fails its {algorithm} checksum")
        return data

    def signature_certificates(self) -> list[bytes]:
        certs = []
        for node in self.toc.iter():
            # xar writes <KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#">, so match the local name.
            if not isinstance(node.tag, str) or node.tag.rsplit("}", 1)[-1] != "X509Certificate":
                continue
            try:
                certs.append(base64.b64decode("".join((node.text or "").split())))
            except ValueError:
                continue
        return certs


class _TooLarge(Exception):
    pass


def _inflate(data: bytes, limit: int) -> bytes:
    """zlib or gzip stream, never growing beyond `limit` (+1 to notice a lie)."""
    d = zlib.decompressobj(wbits=47)  # 32 + 15: auto-detect zlib or gzip header
    out = d.decompress(data, max(limit, 0) + 1)
    if len(out) > limit:
        raise _TooLarge
    return out


def _bounded(d: Any, data: bytes, limit: int) -> bytes:
    """bzip2 or xz/lzma stream through `d`, never producing more than `limit` + 1 bytes."""
    out = d.decompress(data, max_length=limit + 1)
    if len(out) > limit:
        raise _TooLarge
    if not d.eof:
        raise EOFError("stream ends early")
    return out


def _int(node: ET.Element, tag: str) -> int | None:
    text = node.findtext(tag)
    if text is None:
        return None
    try:
        value = int(text.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


# --------------------------------------------------------------------------------------------- package semantics


# Heuristics for the Mac App Store build (Okta, "Configure Desktop Password Sync for macOS 14",
# help.okta.com/oie/en-us/Content/Topics/oda/configure-psso-oda.htm: "Don't download the Okta Verify package from
# the Apple App Store"). No identifier of that build is documented, so we do not guess one; instead we look
# for what Apple puts in App Store installer packages: a `_MASReceipt` member, or an installer signature made with
# Apple's App Store certificates. A plain PKG from Okta's Downloads page has neither.
_MAS_CERT_MARKERS = (b"3rd Party Mac Developer Installer", b"Mac App Store", b"Apple Mac OS Application Signing")


def _package_facts(x: _Xar, where: str, size: int, expect: str | None) -> PackageFacts:
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
            raise _corrupt(where, f"{info_path} has no package identifier")
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
    return PackageFacts(
        identifier=component.identifier,
        version=component.version or product_version or "",
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


def _xml(x: _Xar, path: str) -> ET.Element:
    try:
        return ET.fromstring(x.read_member(path))
    except ET.ParseError as exc:
        raise _corrupt(x.where, f"{path} is not valid XML ({exc})") from None


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
