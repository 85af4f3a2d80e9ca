"""Build real flat packages with `bsdtar --format xar` (libarchive-tools) for the package tests.

The layouts follow what Apple's productbuild/pkgbuild produce: a product archive has `Distribution` and
`<Name>.pkg/{PackageInfo,Payload}`; a component package has `PackageInfo` and `Payload` at the top.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

BSDTAR = shutil.which("bsdtar")
needs_bsdtar = pytest.mark.skipif(BSDTAR is None, reason="bsdtar not found: install libarchive-tools")

_HEADER = struct.Struct(">4sHHQQI")


@dataclass(frozen=True)
class Comp:
    identifier: str = "com.okta.mobile"
    version: str = "9.52.0"
    install_kbytes: int = 123456
    dirname: str = "OktaVerify.pkg"
    app_path: str | None = "./Applications/Okta Verify.app"


def package_info(c: Comp) -> str:
    bundle = (f'    <bundle path="{c.app_path}" id="{c.identifier}" CFBundleShortVersionString="{c.version}" '
              f'CFBundleVersion="{c.version}"/>\n') if c.app_path else ""
    return (f'<?xml version="1.0" encoding="utf-8"?>\n'
            f'<pkg-info overwrite-permissions="true" relocatable="false" identifier="{c.identifier}" '
            f'postinstall-action="none" version="{c.version}" format-version="2" install-location="/" auth="root">\n'
            f'    <payload numberOfFiles="42" installKBytes="{c.install_kbytes}"/>\n{bundle}'
            f'</pkg-info>\n')


def distribution(components: Sequence[Comp], *, title: str, minimum_os: str | None) -> str:
    os_check = (f'    <allowed-os-versions>\n        <os-version min="{minimum_os}"/>\n    </allowed-os-versions>\n'
                if minimum_os else "")
    refs = "".join(f'    <pkg-ref id="{c.identifier}" version="{c.version}" installKBytes="{c.install_kbytes}">'
                   f'#{c.dirname}</pkg-ref>\n' for c in components)
    main = components[0]
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<installer-gui-script minSpecVersion="2">\n'
            f'    <title>{title}</title>\n{os_check}{refs}'
            f'    <product id="{main.identifier}" version="{main.version}"/>\n</installer-gui-script>\n')


def _bsdtar(dest: Path, stage: Path, names: Sequence[str], *, compression: str, toc_checksum: str,
            file_checksum: str = "sha1") -> Path:
    assert BSDTAR is not None
    options = f"xar:compression={compression},xar:toc-checksum={toc_checksum},xar:checksum={file_checksum}"
    subprocess.run([BSDTAR, "--format", "xar", "--options", options, "-cf", str(dest), "-C", str(stage), *names],
                   check=True, capture_output=True)
    return dest


def product_pkg(dest: Path, *components: Comp, title: str = "Okta Verify", minimum_os: str | None = "13.0",
                compression: str = "gzip", toc_checksum: str = "sha1", payload: bytes = b"\x1f\x8b payload",
                extra: dict[str, bytes] | None = None) -> Path:
    """A product archive (Distribution + component packages); `extra` adds files by relative path."""
    components = components or (Comp(),)
    stage = dest.parent / f"{dest.name}.stage"
    stage.mkdir(parents=True)
    (stage / "Distribution").write_text(distribution(components, title=title, minimum_os=minimum_os))
    for c in components:
        (stage / c.dirname).mkdir()
        (stage / c.dirname / "PackageInfo").write_text(package_info(c))
        (stage / c.dirname / "Payload").write_bytes(payload)
    names = ["Distribution", *(c.dirname for c in components)]
    for rel, data in (extra or {}).items():
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        (stage / rel).write_bytes(data)
        top = rel.split("/", 1)[0]
        if top not in names:
            names.append(top)
    return _bsdtar(dest, stage, names, compression=compression, toc_checksum=toc_checksum)


def component_pkg(dest: Path, comp: Comp = Comp(), *, compression: str = "gzip",
                  payload_file: Path | None = None, file_checksum: str = "sha1") -> Path:
    """A bare component package (what pkgbuild makes): PackageInfo + Payload at the top."""
    stage = dest.parent / f"{dest.name}.stage"
    stage.mkdir(parents=True)
    (stage / "PackageInfo").write_text(package_info(comp))
    if payload_file is not None:
        payload_file.rename(stage / "Payload")
    else:
        (stage / "Payload").write_bytes(b"\x1f\x8b payload")
    return _bsdtar(dest, stage, ["PackageInfo", "Payload"], compression=compression, toc_checksum="sha1",
                   file_checksum=file_checksum)


# ------------------------------------------------------------------------------------------ surgery on real files


def header(path: Path) -> tuple[int, int, int, int]:
    """(header size, toc compressed length, toc uncompressed length, checksum algorithm id)."""
    with path.open("rb") as f:
        _, size, _, toc_len, toc_raw, alg = _HEADER.unpack(f.read(_HEADER.size))
    return size, toc_len, toc_raw, alg


def heap_start(path: Path) -> int:
    size, toc_len, _, _ = header(path)
    return size + toc_len


def read_toc(path: Path) -> str:
    size, toc_len, _, _ = header(path)
    with path.open("rb") as f:
        f.seek(size)
        return zlib.decompress(f.read(toc_len)).decode()


def rewrite_toc(path: Path, edit: Callable[[str], str]) -> None:
    """Edit the TOC XML and rewrite header + TOC, re-signing the sha1 TOC checksum at heap offset 0 the way xar
    does, so the result is a consistent archive (the heap is untouched)."""
    import hashlib

    size, toc_len, _, alg = header(path)
    assert alg == 1, "rewrite_toc expects a sha1 TOC checksum"
    data = path.read_bytes()
    heap = bytearray(data[size + toc_len:])
    new_xml = edit(read_toc(path)).encode()
    new_toc = zlib.compress(new_xml)
    heap[0:20] = hashlib.sha1(new_toc).digest()
    path.write_bytes(_HEADER.pack(b"xar!", size, 1, len(new_toc), len(new_xml), alg) + new_toc + bytes(heap))


def member_offset(path: Path, name: str) -> int:
    """Absolute file offset of the heap data of the first member called `name` (toc order)."""
    toc = read_toc(path)
    at = toc.index(f"<name>{name}</name>")
    file_start = toc.rfind("<file ", 0, at)
    data = toc[file_start:].split("<offset>", 1)[1]
    return heap_start(path) + int(data.split("</offset>", 1)[0])
