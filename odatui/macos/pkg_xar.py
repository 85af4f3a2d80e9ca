"""The xar container of a flat package: the 28-byte header, the verified zlib TOC, bounded reads of small members.

Refuses with one PackageError that names what the file is instead (a zip, a disk image, truncated, damaged), since
a wrong download is the usual cause. Format: xar's header and TOC (github.com/apple-oss-distributions/xar,
include/xar.h.in). Blocking I/O: callers run it in a thread.
"""

from __future__ import annotations

import base64
import bz2
import hashlib
import lzma
import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odatui.core.errors import PackageError

DOWNLOAD_HINT = "download the Okta Verify .pkg from the Okta Admin Console → Settings → Downloads"

_HEADER = struct.Struct(">4sHHQQI")  # magic, header size, version, toc compressed, toc uncompressed, cksum alg
_MAGIC = b"xar!"
_CKSUM_BY_ID = {0: None, 1: "sha1", 2: "md5"}  # 3 = "other": the name follows the 28 header bytes
_MAX_TOC = 64 << 20  # a real TOC is tens of KB; refuse absurd sizes instead of allocating them
_MAX_MEMBER = 16 << 20  # Distribution / PackageInfo are a few KB
_MAX_DEPTH = 64


# --------------------------------------------------------------------------------------------- the file itself


def check_file(p: Path) -> None:
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


def corrupt(where: str, what: str) -> PackageError:
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


class Xar:
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
            raise corrupt(where, f"the xar header claims {header_size} bytes (minimum 28)")
        if toc_len > _MAX_TOC or toc_raw_len > _MAX_TOC:
            raise corrupt(where, f"the table of contents claims {max(toc_len, toc_raw_len):,} bytes")
        self.heap_start = header_size + toc_len
        if self.heap_start > size:
            raise _truncated(where, self.heap_start, size)
        if alg_id == 3:
            name = f.read(header_size - _HEADER.size).split(b"\0", 1)[0].decode("ascii", "replace").lower()
            algorithm = name or None
        elif alg_id in _CKSUM_BY_ID:
            algorithm = _CKSUM_BY_ID[alg_id]
        else:
            raise corrupt(where, f"unknown checksum algorithm number {alg_id} in the xar header")
        f.seek(header_size)
        toc_compressed = f.read(toc_len)
        try:
            toc_xml = _inflate(toc_compressed, toc_raw_len)
        except _TooLarge:  # a TOC that inflates past the size its header announces: a bomb or a damaged file
            raise corrupt(where, f"the table of contents decompresses to more than the {toc_raw_len:,} bytes its "
                          "header announces") from None
        except (zlib.error, ValueError):
            raise corrupt(where, "the table of contents does not decompress") from None
        try:
            self.toc = ET.fromstring(toc_xml)
        except ET.ParseError as exc:
            raise corrupt(where, f"the table of contents is not valid XML ({exc})") from None
        if self.toc.tag != "xar" or self.toc.find("toc") is None:
            raise corrupt(where, "the table of contents has no <toc> element")
        self._verify_toc(toc_compressed, algorithm)
        self.members: dict[str, _Member] = {}
        self.paths: list[str] = []
        self._walk(self.toc.find("toc"), "")
        self._check_heap_extent()

    def _verify_toc(self, toc_compressed: bytes, algorithm: str | None) -> None:
        if algorithm is None:
            return  # the header says the archive carries no TOC checksum; nothing to check against
        if algorithm not in hashlib.algorithms_available:
            raise corrupt(self.where, f"unsupported TOC checksum algorithm {algorithm!r}")
        node = self.toc.find("toc/checksum")
        if node is None:
            raise corrupt(self.where, "the header announces a TOC checksum but the TOC has none")
        offset, length = _int(node, "offset"), _int(node, "size")
        expected_len = hashlib.new(algorithm).digest_size
        if offset is None or length != expected_len:
            raise corrupt(self.where, "the TOC checksum entry is malformed")
        stored = self._read_heap(offset, length)
        actual = hashlib.new(algorithm, toc_compressed).digest()
        if stored != actual:
            raise PackageError(
                f"{self.where} is damaged: its table of contents fails the {algorithm} checksum.",
                hint=f"the file was altered or corrupted in transit; {DOWNLOAD_HINT} again")

    def _walk(self, parent: ET.Element, prefix: str, depth: int = 0) -> None:
        if depth > _MAX_DEPTH:  # a crafted TOC must not exhaust the recursion limit
            raise corrupt(self.where, "the table of contents nests folders too deeply")
        for node in parent.findall("file"):
            name = (node.findtext("name") or "").strip()
            if not name or name in (".", "..") or "/" in name:
                raise corrupt(self.where, f"the table of contents has an unsafe member name {name!r}")
            path = f"{prefix}{name}"
            self.paths.append(path)
            data = node.find("data")
            kind = (node.findtext("type") or "file").strip()
            if data is not None and kind == "file":
                enc = data.find("encoding")
                ck = data.find("extracted-checksum")
                offset, length, size = _int(data, "offset"), _int(data, "length"), _int(data, "size")
                if offset is None or length is None:
                    raise corrupt(self.where, f"member {path} has no heap offset/length")
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
            raise corrupt(self.where, f"{path} claims {max(m.length, m.size):,} bytes")
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
                raise corrupt(self.where, f"{path} uses an unknown encoding {m.encoding!r}")
        except _TooLarge:
            raise corrupt(self.where, f"{path} decompresses to more than the {limit:,} bytes it announces (limit "
                           f"{_MAX_MEMBER >> 20} MiB per member): a decompression bomb or a damaged file") from None
        except (zlib.error, OSError, lzma.LZMAError, ValueError, EOFError):
            raise corrupt(self.where, f"{path} does not decompress") from None
        if m.extracted_checksum and m.extracted_checksum[0] in hashlib.algorithms_available:
            algorithm, expected = m.extracted_checksum
            if expected and hashlib.new(algorithm, data).hexdigest() != expected:
                raise corrupt(self.where, f"{path} fails its {algorithm} checksum")
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
