"""Write a small but real Okta Verify-shaped flat package (xar) in pure Python, for `odatui demo` on machines
without bsdtar or Apple's pkgbuild.

Layout, like `productbuild` makes it: `Distribution`, `OktaVerify.pkg/PackageInfo` and `OktaVerify.pkg/Payload`
(a gzipped odc cpio holding `Okta Verify.app/Contents/Info.plist` and a filler file of `payload_size` bytes, so
uploads have something to stream). There is no Bom and no signature: the file is for the demo and the tests,
not for installing on a Mac. Output is deterministic for the same arguments.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import plistlib
import random
import struct
import tempfile
import zlib
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

_FIXED_TIME = "2024-01-01T00:00:00"  # deterministic output; the demo does not care when it was "built"
_CHUNK = 1 << 20
APP_PATH = "./Applications/Okta Verify.app"


def make_sample_pkg(path: str | os.PathLike[str], version: str = "9.52.0", identifier: str = "com.okta.mobile",
                    payload_size: int = 1 << 20, *, title: str = "Okta Verify", minimum_os: str = "13.0") -> Path:
    """Write the package to `path` (atomically) and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile() as payload:
        payload_sha1, payload_len, n_files, install_bytes = _write_payload(payload, identifier, version,
                                                                           title, minimum_os, payload_size)
        install_kb = -(-install_bytes // 1024)
        distribution = _distribution(identifier, version, title, minimum_os, install_kb).encode()
        package_info = _package_info(identifier, version, n_files, install_kb).encode()

        # Heap: the TOC checksum first (offset 0), then the members in TOC order.
        heap_offset = 20
        entries = []
        small = []
        for name, data in (("Distribution", distribution), ("PackageInfo", package_info)):
            archived = zlib.compress(data, 9)
            entries.append(dict(name=name, offset=heap_offset, length=len(archived), size=len(data),
                                encoding="application/x-gzip", archived=hashlib.sha1(archived).hexdigest(),
                                extracted=hashlib.sha1(data).hexdigest()))
            small.append(archived)
            heap_offset += len(archived)
        entries.append(dict(name="Payload", offset=heap_offset, length=payload_len, size=payload_len,
                            encoding="application/octet-stream", archived=payload_sha1, extracted=payload_sha1))

        toc = zlib.compress(_toc(entries).encode(), 9)
        header = struct.pack(">4sHHQQI", b"xar!", 28, 1, len(toc), len(zlib.decompress(toc)), 1)
        tmp = out.with_name(out.name + ".part")
        with tmp.open("wb") as f:
            f.write(header)
            f.write(toc)
            f.write(hashlib.sha1(toc).digest())
            for blob in small:
                f.write(blob)
            payload.seek(0)
            while chunk := payload.read(_CHUNK):
                f.write(chunk)
        os.replace(tmp, out)
    return out


def _write_payload(f: BinaryIO, identifier: str, version: str, title: str, minimum_os: str,
                   payload_size: int) -> tuple[str, int, int, int]:
    """Stream a gzipped odc cpio archive into `f`; return (sha1, length, file count, installed bytes)."""
    info_plist = plistlib.dumps({
        "CFBundleIdentifier": identifier, "CFBundleName": title, "CFBundleShortVersionString": version,
        "CFBundleVersion": version, "CFBundlePackageType": "APPL", "LSMinimumSystemVersion": minimum_os,
    }, sort_keys=True)
    app = APP_PATH
    dirs = [".", "./Applications", app, f"{app}/Contents", f"{app}/Contents/Resources"]
    block = random.Random(f"{identifier}-{version}").randbytes(_CHUNK)  # incompressible, so sizes stay real
    ino = 0
    # Level 0: the filler is random (incompressible) anyway, and stored deflate blocks are 10x faster.
    with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=0, mtime=0) as gz:
        def entry(name: str, mode: int, size: int) -> None:
            nonlocal ino
            ino += 1
            encoded = name.encode() + b"\0"
            gz.write(b"070707" + (b"%06o" * 7 % (0, ino, mode, 0, 80, 1, 0))
                     + b"%011o%06o%011o" % (0, len(encoded), size) + encoded)

        for d in dirs:
            entry(d, 0o040755, 0)
        entry(f"{app}/Contents/Info.plist", 0o100644, len(info_plist))
        gz.write(info_plist)
        entry(f"{app}/Contents/Resources/sample-filler.bin", 0o100644, payload_size)
        left = payload_size
        while left > 0:
            gz.write(block[:min(left, _CHUNK)])
            left -= min(left, _CHUNK)
        ino = -1  # the trailer has inode 0
        entry("TRAILER!!!", 0, 0)
    f.flush()
    f.seek(0)
    digest = hashlib.sha1()
    length = 0
    while chunk := f.read(_CHUNK):
        digest.update(chunk)
        length += len(chunk)
    return digest.hexdigest(), length, len(dirs) + 2, len(info_plist) + payload_size


def _distribution(identifier: str, version: str, title: str, minimum_os: str, install_kb: int) -> str:
    i, v = quoteattr(identifier), quoteattr(version)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<installer-gui-script minSpecVersion="2">
    <title>{escape(title)}</title>
    <options customize="never" require-scripts="false" hostArchitectures="x86_64,arm64"/>
    <allowed-os-versions>
        <os-version min={quoteattr(minimum_os)}/>
    </allowed-os-versions>
    <choices-outline>
        <line choice="default">
            <line choice={i}/>
        </line>
    </choices-outline>
    <choice id="default"/>
    <choice id={i} visible="false">
        <pkg-ref id={i}/>
    </choice>
    <pkg-ref id={i} version={v} installKBytes="{install_kb}" onConclusion="none">#OktaVerify.pkg</pkg-ref>
    <product id={i} version={v}/>
</installer-gui-script>
"""


def _package_info(identifier: str, version: str, n_files: int, install_kb: int) -> str:
    i, v = quoteattr(identifier), quoteattr(version)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<pkg-info overwrite-permissions="true" relocatable="false" identifier={i} postinstall-action="none" version={v} format-version="2" install-location="/" auth="root">
    <payload numberOfFiles="{n_files}" installKBytes="{install_kb}"/>
    <bundle path={quoteattr(APP_PATH)} id={i} CFBundleShortVersionString={v} CFBundleVersion={v}/>
    <bundle-version>
        <bundle id={i}/>
    </bundle-version>
</pkg-info>
"""


def _file_xml(fid: int, e: dict, indent: str) -> str:
    return f"""{indent}<file id="{fid}">
{indent} <name>{escape(e["name"])}</name>
{indent} <type>file</type>
{indent} <mode>0644</mode>
{indent} <mtime>{_FIXED_TIME}Z</mtime>
{indent} <data>
{indent}  <length>{e["length"]}</length>
{indent}  <offset>{e["offset"]}</offset>
{indent}  <size>{e["size"]}</size>
{indent}  <encoding style="{e["encoding"]}"/>
{indent}  <archived-checksum style="sha1">{e["archived"]}</archived-checksum>
{indent}  <extracted-checksum style="sha1">{e["extracted"]}</extracted-checksum>
{indent} </data>
{indent}</file>
"""


def _toc(entries: list[dict]) -> str:
    distribution, package_info, payload = entries
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xar>
 <toc>
  <creation-time>{_FIXED_TIME}</creation-time>
  <checksum style="sha1">
   <offset>0</offset>
   <size>20</size>
  </checksum>
{_file_xml(1, distribution, "  ")}  <file id="2">
   <name>OktaVerify.pkg</name>
   <type>directory</type>
   <mode>0755</mode>
   <mtime>{_FIXED_TIME}Z</mtime>
{_file_xml(3, package_info, "   ")}{_file_xml(4, payload, "   ")}  </file>
 </toc>
</xar>
"""
