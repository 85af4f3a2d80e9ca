"""The Okta Verify package reader, pkginfo generator, sample package writer and the preflight.package step,
against real flat packages built by bsdtar (libarchive) and by our own writer."""

from __future__ import annotations

import base64
import datetime
import gzip
import hashlib
import os
import plistlib
import shutil
import subprocess
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from odatui.core.config import parse_config
from odatui.core.errors import PackageError
from odatui.macos.pkg import read_package, require_okta_verify_version, version_key
from odatui.macos.pkginfo import pkginfo_plist
from odatui.sandbox.samplepkg import make_sample_pkg
from odatui.steps.base import ChangeKind, Context, Progress
from odatui.steps.package import PackagePreflight
from pkgs import (BSDTAR, Comp, component_pkg, header, heap_start, member_offset, needs_bsdtar, product_pkg,
                  read_toc, rewrite_toc)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(path: Path, *fragments: str) -> PackageError:
    with pytest.raises(PackageError) as info:
        read_package(path)
    text = str(info.value).lower()
    for fragment in fragments:
        assert fragment.lower() in text, f"{fragment!r} not in {text!r}"
    assert info.value.hint, "every refusal says what to do"
    return info.value


# ------------------------------------------------------------------------------------------------ reading facts


@needs_bsdtar
def test_product_archive_facts(tmp_path):
    pkg = product_pkg(tmp_path / "OktaVerify-9.52.0.pkg", Comp(version="9.52.0", install_kbytes=98765))
    facts = read_package(pkg)
    assert facts.identifier == "com.okta.mobile"
    assert facts.version == "9.52.0"
    assert facts.install_kbytes == 98765
    assert facts.minimum_os == "13.0"
    assert facts.title == "Okta Verify"
    assert facts.kind == "product"
    assert facts.path == str(pkg)
    assert facts.size_bytes == pkg.stat().st_size
    assert facts.sha256 == sha256(pkg)
    assert facts.app is not None and facts.app.path == "/Applications/Okta Verify.app"
    assert facts.app.short_version == "9.52.0"
    assert not facts.signed


@needs_bsdtar
def test_component_only_package(tmp_path):
    pkg = component_pkg(tmp_path / "comp.pkg", Comp(version="9.40.1", install_kbytes=5000))
    facts = read_package(pkg)
    assert (facts.kind, facts.identifier, facts.version, facts.install_kbytes) == ("component", "com.okta.mobile",
                                                                                    "9.40.1", 5000)
    assert facts.minimum_os is None and facts.title is None


@needs_bsdtar
@pytest.mark.parametrize("compression", ["gzip", "bzip2", "xz", "none"])
def test_member_encodings(tmp_path, compression):
    pkg = product_pkg(tmp_path / "ov.pkg", Comp(version="9.33.0"), compression=compression)
    expected = {"gzip": "application/x-gzip", "bzip2": "application/x-bzip2", "xz": "application/x-xz",
                "none": "application/octet-stream"}[compression]
    assert f'<encoding style="{expected}"/>' in read_toc(pkg)  # the fixture really uses that encoding
    assert read_package(pkg).version == "9.33.0"


@needs_bsdtar
@pytest.mark.parametrize("toc_checksum, alg_id", [("sha1", 1), ("md5", 2), ("none", 0)])
def test_toc_checksum_algorithms(tmp_path, toc_checksum, alg_id):
    pkg = product_pkg(tmp_path / "ov.pkg", toc_checksum=toc_checksum)
    assert header(pkg)[3] == alg_id
    assert read_package(pkg).identifier == "com.okta.mobile"


@needs_bsdtar
def test_product_with_several_components_picks_okta_verify(tmp_path):
    helper = Comp(identifier="com.okta.mobile.helper", version="1.2", install_kbytes=10, dirname="Helper.pkg",
                  app_path=None)
    pkg = product_pkg(tmp_path / "ov.pkg", helper, Comp(version="9.52.0", install_kbytes=1000))
    facts = read_package(pkg)
    assert facts.identifier == "com.okta.mobile" and facts.version == "9.52.0"
    assert facts.install_kbytes == 1010
    assert {c.identifier for c in facts.components} == {"com.okta.mobile", "com.okta.mobile.helper"}


# ------------------------------------------------------------------------------------------------ refusals


def test_missing_file(tmp_path):
    refused(tmp_path / "nope.pkg", "does not exist")


def test_folder_is_refused(tmp_path):
    (tmp_path / "Old.pkg" / "Contents").mkdir(parents=True)
    refused(tmp_path / "Old.pkg", "folder")


def test_empty_file(tmp_path):
    (tmp_path / "empty.pkg").write_bytes(b"")
    refused(tmp_path / "empty.pkg", "empty")


def test_zip_is_refused(tmp_path):
    z = tmp_path / "OktaVerify.pkg"
    with zipfile.ZipFile(z, "w") as archive:
        archive.writestr("OktaVerify.pkg", b"inner")
    refused(z, "zip archive", "not a flat package")


def test_dmg_is_refused(tmp_path):
    # A UDIF image: data fork, then the 512-byte 'koly' trailer that every .dmg ends with.
    dmg = tmp_path / "OktaVerify.pkg"
    dmg.write_bytes(os.urandom(4096) + b"koly" + struct_udif_rest())
    error = refused(dmg, "disk image")
    assert ".dmg" in (error.hint or "")


def struct_udif_rest() -> bytes:
    import struct

    return struct.pack(">II", 4, 512) + bytes(512 - 12)


def test_random_bytes_are_refused(tmp_path):
    junk = tmp_path / "junk.pkg"
    junk.write_bytes(b"<html>Sign in to Okta</html>")  # what a login wall saves as the download
    refused(junk, "not a flat package")


@needs_bsdtar
@pytest.mark.parametrize("keep", ["header", "toc", "heap"])
def test_truncated(tmp_path, keep):
    pkg = product_pkg(tmp_path / "ov.pkg", payload=os.urandom(50_000), compression="none")
    data = pkg.read_bytes()
    cut = {"header": 20, "toc": 28 + header(pkg)[1] // 2, "heap": len(data) - 1000}[keep]
    pkg.write_bytes(data[:cut])
    refused(pkg, "truncated", f"{cut:,}")


@needs_bsdtar
def test_corrupted_toc_checksum(tmp_path):
    pkg = product_pkg(tmp_path / "ov.pkg")
    data = bytearray(pkg.read_bytes())
    at = heap_start(pkg)  # the TOC's <checksum> sits at heap offset 0
    assert "<offset>0</offset>" in read_toc(pkg)
    data[at:at + 4] = bytes(b ^ 0xFF for b in data[at:at + 4])
    pkg.write_bytes(bytes(data))
    refused(pkg, "damaged", "sha1 checksum")


@needs_bsdtar
def test_tampered_member_fails_its_checksum(tmp_path):
    pkg = product_pkg(tmp_path / "ov.pkg", compression="none")
    data = bytearray(pkg.read_bytes())
    at = member_offset(pkg, "Distribution")
    assert data[at:at + 5] == b"<?xml"
    data[at + 40] ^= 0x01
    pkg.write_bytes(bytes(data))
    refused(pkg, "Distribution fails its sha1 checksum")


@needs_bsdtar
def test_another_product(tmp_path):
    pkg = product_pkg(tmp_path / "Teams.pkg", Comp(identifier="com.microsoft.teams2", version="24215.1007.3082.1590",
                                                   dirname="Teams.pkg"), title="Microsoft Teams")
    error = refused(pkg, "not okta verify", "com.microsoft.teams2", "Microsoft Teams", "com.okta.mobile")
    assert "Okta Verify .pkg" in (error.hint or "")


@needs_bsdtar
def test_another_component_package(tmp_path):
    pkg = component_pkg(tmp_path / "zoom.pkg", Comp(identifier="us.zoom.pkg.videomeeting", version="6.1.0"))
    refused(pkg, "us.zoom.pkg.videomeeting")


@needs_bsdtar
def test_xar_that_is_not_an_installer_package(tmp_path):
    stage = tmp_path / "stage"
    stage.mkdir()
    (stage / "notes.txt").write_text("hello")
    out = tmp_path / "notes.pkg"
    subprocess.run([BSDTAR, "--format", "xar", "-cf", str(out), "-C", str(stage), "notes.txt"], check=True)
    refused(out, "neither a Distribution nor a PackageInfo")


@needs_bsdtar
def test_deeply_nested_toc_is_refused(tmp_path):
    pkg = product_pkg(tmp_path / "ov.pkg")
    nest = "".join(f'<file id="d{i}"><name>d{i}</name><type>directory</type>' for i in range(200)) + "</file>" * 200
    rewrite_toc(pkg, lambda toc: toc.replace("</toc>", nest + "</toc>", 1))
    refused(pkg, "nests folders too deeply")


@needs_bsdtar
def test_app_store_receipt_is_refused(tmp_path):
    pkg = product_pkg(tmp_path / "ov.pkg", extra={"OktaVerify.pkg/Contents/_MASReceipt/receipt": b"receipt"})
    refused(pkg, "Mac App Store")


@needs_bsdtar
def test_app_store_installer_signature_is_refused(tmp_path):
    pkg = product_pkg(tmp_path / "ov.pkg")
    cert = _certificate("3rd Party Mac Developer Installer: Example Corp (ABCDE12345)")
    signature = (f'<signature style="RSA"><offset>20</offset><size>256</size><KeyInfo '
                 f'xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>{cert}'
                 f'</X509Certificate></X509Data></KeyInfo></signature>')
    rewrite_toc(pkg, lambda toc: toc.replace("<toc>", "<toc>" + signature, 1))
    assert "X509Certificate" in read_toc(pkg)
    refused(pkg, "Mac App Store")


@needs_bsdtar
def test_developer_id_signature_is_accepted(tmp_path):
    pkg = product_pkg(tmp_path / "ov.pkg")
    cert = _certificate("Developer ID Installer: Okta, Inc. (B7F62B65BN)")
    signature = (f'<signature style="RSA"><offset>20</offset><size>256</size><KeyInfo><X509Data>'
                 f'<X509Certificate>{cert}</X509Certificate></X509Data></KeyInfo></signature>')
    rewrite_toc(pkg, lambda toc: toc.replace("<toc>", "<toc>" + signature, 1))
    facts = read_package(pkg)
    assert facts.signed and facts.identifier == "com.okta.mobile"


def _certificate(common_name: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


@needs_bsdtar
def test_unreadable_file(tmp_path):
    if os.geteuid() == 0:
        pytest.skip("root reads any file; permission errors cannot be provoked")
    pkg = product_pkg(tmp_path / "ov.pkg")
    pkg.chmod(0)
    refused(pkg, "permission denied")


# ------------------------------------------------------------------------------------------------ versions


def test_version_key():
    assert version_key("9.19") == version_key("9.19.0") < version_key("9.19.1") < version_key("9.52.0")
    assert version_key("9.9.9") < version_key("9.19")
    assert version_key("10.0.0-beta") > version_key("9.99")


@needs_bsdtar
def test_version_too_old_for_macos_14(tmp_path):
    facts = read_package(product_pkg(tmp_path / "old.pkg", Comp(version="9.18.2")))
    with pytest.raises(PackageError) as info:
        require_okta_verify_version(facts, 14)
    assert "9.18.2" in str(info.value) and "9.19" in str(info.value) and "macOS 14" in str(info.value)
    require_okta_verify_version(facts, 13)  # Platform SSO 1.0 has no such floor


@needs_bsdtar
def test_version_9_19_is_enough_below_26(tmp_path):
    facts = read_package(product_pkg(tmp_path / "ok.pkg", Comp(version="9.19.0")))
    for floor in (14, 15):
        require_okta_verify_version(facts, floor)


@needs_bsdtar
def test_a_9_40_package_is_refused_at_floor_26(tmp_path):
    facts = read_package(product_pkg(tmp_path / "old.pkg", Comp(version="9.40.0")))
    with pytest.raises(PackageError) as info:
        require_okta_verify_version(facts, 26)
    text = str(info.value)
    assert "9.40.0" in text and "9.52" in text and "macOS 26" in text and info.value.exit_code == 2
    require_okta_verify_version(facts, 15)
    require_okta_verify_version(read_package(product_pkg(tmp_path / "new.pkg", Comp(version="9.52.0"))), 26)


@needs_bsdtar
def test_a_package_that_needs_a_newer_macos_than_the_floor_is_refused(tmp_path):
    facts = read_package(product_pkg(tmp_path / "ov.pkg", Comp(version="9.52.0"), minimum_os="14.4"))
    with pytest.raises(PackageError) as info:
        require_okta_verify_version(facts, 14)
    text = str(info.value)
    assert "macOS 14.4" in text and "floor macOS 14" in text and "macos_min = 15" in text
    assert info.value.exit_code == 2
    require_okta_verify_version(facts, 15)  # at or above the package's own minimum: fine


# ------------------------------------------------------------------------------------------------ pkginfo


@needs_bsdtar
def test_pkginfo_round_trips(tmp_path):
    facts = read_package(product_pkg(tmp_path / "OktaVerify-9.52.0.pkg", Comp(install_kbytes=200_000)))
    raw = pkginfo_plist(facts, minimum_os=14)
    assert raw.startswith(b"<?xml")  # WS1 wants XML plists
    info = plistlib.loads(raw)
    assert info["name"] == "Okta Verify" and info["version"] == "9.52.0"
    assert info["receipts"] == [{"packageid": "com.okta.mobile", "version": "9.52.0", "installed_size": 200_000}]
    assert info["installed_size"] == 200_000
    assert info["installer_item_hash"] == sha256(tmp_path / "OktaVerify-9.52.0.pkg")
    assert info["installer_item_location"] == "OktaVerify-9.52.0.pkg"
    assert info["installer_item_size"] == facts.size_bytes // 1024
    assert info["minimum_os_version"] == "14.0"  # stricter than the package's own 13.0
    assert info["installs"][0]["path"] == "/Applications/Okta Verify.app"
    assert info["installs"][0]["CFBundleIdentifier"] == "com.okta.mobile"
    assert info["uninstall_method"] == "uninstall_script"  # removepackages leaves the daemons and plugin
    assert info["uninstall_script"].startswith("#!/bin/sh")
    assert "installer_type" not in info  # munki: absent means an Apple flat package
    assert pkginfo_plist(facts, minimum_os=14) == raw  # deterministic


@needs_bsdtar
def test_pkginfo_minimum_os_from_package(tmp_path):
    facts = read_package(product_pkg(tmp_path / "ov.pkg", minimum_os="14.4"))
    assert plistlib.loads(pkginfo_plist(facts, minimum_os=14))["minimum_os_version"] == "14.4"
    assert plistlib.loads(pkginfo_plist(facts, name="OktaVerify"))["name"] == "OktaVerify"
    bare = read_package(component_pkg(tmp_path / "comp.pkg"))
    assert "minimum_os_version" not in plistlib.loads(pkginfo_plist(bare))


# ------------------------------------------------------------------------------------------------ sample package


@needs_bsdtar
def test_sample_pkg_is_read_by_bsdtar_and_the_reader(tmp_path):
    pkg = make_sample_pkg(tmp_path / "OktaVerify-9.52.0.pkg", payload_size=300_000)
    listing = subprocess.run([BSDTAR, "-tf", str(pkg)], check=True, capture_output=True, text=True).stdout.split()
    assert listing == ["Distribution", "OktaVerify.pkg", "OktaVerify.pkg/PackageInfo", "OktaVerify.pkg/Payload"]
    out = tmp_path / "x"
    out.mkdir()
    # Extraction makes bsdtar verify every member's archived and extracted checksum.
    subprocess.run([BSDTAR, "-xf", str(pkg), "-C", str(out)], check=True, capture_output=True)
    payload = gzip.decompress((out / "OktaVerify.pkg" / "Payload").read_bytes())
    cpio = subprocess.run([BSDTAR, "-tvf", "-"], input=payload, check=True, capture_output=True).stdout.decode()
    assert "./Applications/Okta Verify.app/Contents/Info.plist" in cpio and "300000" in cpio

    facts = read_package(pkg)
    assert (facts.identifier, facts.version, facts.title, facts.minimum_os) == ("com.okta.mobile", "9.52.0",
                                                                                "Okta Verify", "13.0")
    assert facts.install_kbytes >= 300_000 // 1024
    assert facts.sha256 == sha256(pkg)


def test_sample_pkg_without_bsdtar(tmp_path):
    a = make_sample_pkg(tmp_path / "a.pkg", version="9.20.1")
    b = make_sample_pkg(tmp_path / "b.pkg", version="9.20.1")
    assert a.read_bytes() == b.read_bytes()  # deterministic demo fixture
    assert read_package(a).version == "9.20.1"
    with pytest.raises(PackageError, match="com.example.other"):
        read_package(make_sample_pkg(tmp_path / "c.pkg", identifier="com.example.other"))


# ------------------------------------------------------------------------------------------------ memory


@needs_bsdtar
def test_large_package_is_parsed_in_small_memory(tmp_path):
    big = 200 * 1024 * 1024
    payload = tmp_path / "Payload"
    with payload.open("wb") as f:  # sparse: quick to create, still 200 MB for every reader
        f.truncate(big)
    pkg = component_pkg(tmp_path / "big.pkg", Comp(version="9.52.0"), compression="none",
                        payload_file=payload, file_checksum="none")
    assert pkg.stat().st_size > big
    tracemalloc.start()
    try:
        facts = read_package(pkg)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert facts.size_bytes > big and len(facts.sha256) == 64
    assert peak < 4 * 1024 * 1024, f"reader peaked at {peak:,} bytes for a {facts.size_bytes:,}-byte package"


# ------------------------------------------------------------------------------------------------ the step


def _context(package: Path, macos_min: int = 14) -> Context:
    config = parse_config({"rollout": {"package": str(package), "macos_min": macos_min}})
    return Context(config, secrets=None)


async def test_step_inspect_reports_the_facts(tmp_path):
    pkg = make_sample_pkg(tmp_path / "OktaVerify.pkg", version="9.52.0", payload_size=10_000)
    step = PackagePreflight()
    change = await step.inspect(_context(pkg))
    assert change.kind is ChangeKind.NONE
    assert change.outputs == {
        "identifier": "com.okta.mobile", "version": "9.52.0", "sha256": sha256(pkg), "size_bytes": pkg.stat().st_size,
        "path": str(pkg), "install_kbytes": read_package(pkg).install_kbytes, "minimum_os": "13.0",
    }
    seen = []
    outputs = await step.apply(_context(pkg), Progress(lambda fraction, message, **_: seen.append(fraction)))
    assert outputs == dict(change.outputs) and seen[-1] == 1.0


async def test_step_refuses_old_version_for_macos_14(tmp_path):
    pkg = make_sample_pkg(tmp_path / "OktaVerify.pkg", version="9.10.0", payload_size=1000)
    with pytest.raises(PackageError, match=r"9\.10\.0.*9\.19"):
        await PackagePreflight().inspect(_context(pkg, 14))
    change = await PackagePreflight().inspect(_context(pkg, 13))
    assert change.outputs["version"] == "9.10.0"


async def test_step_sees_a_replaced_file(tmp_path):
    pkg = make_sample_pkg(tmp_path / "OktaVerify.pkg", version="9.52.0", payload_size=1000)
    step, ctx = PackagePreflight(), _context(pkg)
    assert (await step.inspect(ctx)).outputs["version"] == "9.52.0"
    shutil.move(make_sample_pkg(tmp_path / "new.pkg", version="9.53.1", payload_size=2000), pkg)
    assert (await step.inspect(ctx)).outputs["version"] == "9.53.1"


async def test_step_without_a_package(tmp_path):
    ctx = Context(parse_config({"rollout": {"macos_min": 14}}), secrets=None)
    with pytest.raises(PackageError, match="No Okta Verify package"):
        await PackagePreflight().inspect(ctx)


def test_uninstall_script_removes_what_the_homebrew_cask_removes(tmp_path):
    """Every LaunchDaemon, path and receipt of the `okta-verify` cask's uninstall stanza, the login plugin's
    mechanisms out of system.login.console before its bundle goes, and a script that sh accepts."""
    import subprocess

    from odatui.macos.uninstall import LAUNCH_DAEMONS, PATHS, uninstall_script

    script = uninstall_script()
    for label in LAUNCH_DAEMONS:
        assert f"launchctl bootout system/{label} " in script
    for path in PATHS:
        assert f'rm -rf "{path}"' in script
    assert "/Library/Security/SecurityAgentPlugins/OktaDAAuthPlugin.bundle" in PATHS
    assert "pkgutil --forget com.okta.mobile" in script
    assert script.index("authorizationdb write system.login.console") < script.index("OktaDAAuthPlugin.bundle")
    target = tmp_path / "uninstall.sh"
    target.write_text(script)
    assert subprocess.run(["sh", "-n", str(target)], capture_output=True).returncode == 0
