"""The exported profiles: the Platform SSO configuration as files any MDM can take (`odatui export`, the wizard).

Writes, for one macOS floor: a combined `.mobileconfig`, one `.mobileconfig` per payload, the Workspace ONE Custom
Settings fragments (`*.ws1.xml`) and a README.txt; with a signing certificate, `*.signed.mobileconfig` copies too.
Everything is built, linted and signed in memory and written to a temporary folder first, so a bad certificate or
a full disk never leaves a half set behind.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path

from odatui.core.errors import OdatuiError, UsageError
from odatui.macos import certificate, mobileconfig
from odatui.macos.lint import lint
from odatui.macos.lint_base import errors
from odatui.macos.sso_profile import ws1_fragments
from odatui.macos.payloads import (
    APP_DOMAIN,
    EXTENSION_DOMAIN,
    KIND_APP_PREFS,
    KIND_DOMAINS,
    KIND_EXT_PREFS,
    KIND_SCEP,
    KIND_SSO,
    SCEP_SUBJECT_CN,
    PssoSettings,
    all_payloads,
)

PASSPHRASE_ENV = "ODATUI_SIGN_KEY_PASSPHRASE"
_COUNT = {4: "four", 5: "five"}

_TITLES = {
    KIND_SCEP: "Okta Device Access certificate (static SCEP; holds the secret key)",
    KIND_DOMAINS: "Associated Domains (authsrv: for Okta Verify)",
    KIND_SSO: "Extensible SSO / Platform SSO (Okta Verify extension)",
    KIND_APP_PREFS: f"Okta Verify settings, preference domain {APP_DOMAIN}",
    KIND_EXT_PREFS: f"Okta Verify settings, preference domain {EXTENSION_DOMAIN}",
}


def file_prefix(settings: PssoSettings) -> str:
    return f"okta-dps-macos{settings.macos_min}"


def certificate_file(settings: PssoSettings) -> str:
    """The separate Device Access certificate profile (static SCEP + Okta's intermediate CA): holds the challenge."""
    return f"{file_prefix(settings)}-{certificate.KIND_CERT_PROFILE}.mobileconfig"


def build_files(settings: PssoSettings, identity: mobileconfig.SigningIdentity | None = None, *,
                scep_elsewhere: bool = False, certificate_apart: bool = False,
                ca_der: bytes | None = None) -> dict[str, bytes]:
    """Every exported file by name → bytes. Pure apart from signing (which stamps a signing time).

    `certificate_apart` (rollout.scep = "ws1_ca"): the SCEP payload goes into its own certificate profile, with the
    Okta intermediate CA (`ca_der`) when given, and not into the Platform SSO files: Okta deploys the certificate
    with a separate profile before the SSO one ("Static SCEP for macOS with Workspace ONE"), so a SCEP failure does
    not roll Platform SSO back with it (fleet-safety.md)."""
    cert_settings = None
    if certificate_apart and settings.scep is not None:
        cert_settings, settings = settings, dataclasses.replace(settings, scep=None)
    payloads = all_payloads(settings)
    prefix = file_prefix(settings)
    floor = f"macOS {settings.macos_min}+"
    combined = mobileconfig.profile(settings, list(payloads.values()), name=f"Okta Desktop Password Sync ({floor})")
    problems = errors(lint(combined, settings.org_host, settings.client_id))
    if problems:  # a bug in the payload builders, never a user mistake: refuse rather than ship it
        raise OdatuiError(
            "The generated profile fails its own checks: " + " ".join(p.message for p in problems),
            hint="Report this as an odatui bug with the settings used.",
        )

    files: dict[str, bytes] = {f"{prefix}.mobileconfig": mobileconfig.to_xml(combined)}
    if cert_settings is not None:
        files[certificate_file(settings)] = mobileconfig.to_xml(certificate.export_profile(cert_settings, ca_der))
    # The fragments ws1.profile sends, from the same builder (odatui.macos.sso_profile): byte for byte the same.
    for (kind, payload), fragment in zip(payloads.items(), ws1_fragments(settings), strict=True):
        single = mobileconfig.profile(settings, [payload], name=f"Okta DPS {floor}: {_TITLES[kind]}", kind=kind)
        files[f"{prefix}-{kind}.mobileconfig"] = mobileconfig.to_xml(single)
        files[f"{prefix}-{kind}.ws1.xml"] = fragment.encode("utf-8")
    if identity is not None:
        for name in [n for n in files if n.endswith(".mobileconfig")]:
            files[name.removesuffix(".mobileconfig") + ".signed.mobileconfig"] = mobileconfig.sign(files[name], identity)
    files["README.txt"] = readme(settings, signed=identity is not None, secret_files=secret_files(settings, files),
                                 scep_elsewhere=scep_elsewhere, certificate_apart=cert_settings is not None
                                 ).encode("utf-8")
    return dict(sorted(files.items()))


def secret_files(settings: PssoSettings, files: dict[str, bytes]) -> list[str]:
    """Names of the files that hold the SCEP secret key or the JIT RegistrationToken: written 0600 (owner only)."""
    apart = certificate_file(settings).removesuffix(".mobileconfig")
    held = {n for n in files if n.startswith(apart + ".")}  # the certificate profile and its signed copy
    # By how each file is built, not by searching its bytes: plistlib writes `&`, `<`, `>` of a challenge as
    # entities, so a byte search would miss it. The combined profile and the SCEP payload's own files (and their
    # signed copies) hold the challenge, the SSO payload's own files the token; the others hold neither.
    prefix = file_prefix(settings)
    kinds = ([KIND_SCEP] if settings.scep is not None else []) + ([KIND_SSO] if settings.registration_token else [])
    if not kinds:
        return sorted(held)
    return sorted(held | {n for n in files if n.startswith((f"{prefix}.", *(f"{prefix}-{k}." for k in kinds)))})


def readme(settings: PssoSettings, *, signed: bool, secret_files: list[str] | None = None,
           scep_elsewhere: bool = False, certificate_apart: bool = False) -> str:
    prefix = file_prefix(settings)
    kinds = [k for k in _TITLES if k != KIND_SCEP or settings.scep is not None]
    per_payload = "\n".join(f"  {prefix}-{kind}.mobileconfig   {_TITLES[kind]}" for kind in kinds)
    fragments = "\n".join(f"  {prefix}-{kind}.ws1.xml" for kind in kinds)
    signed_text = (
        """
Signed copies (*.signed.mobileconfig) are CMS-signed with your certificate. Use them only where a signed file is
wanted (e.g. hand-off to another team); MDMs sign what they push, and most expect the unsigned file on upload.
"""
        if signed
        else ""
    )
    if settings.macos_min == 13:
        scep = ""
    elif certificate_apart:
        held = "\n".join(f"    {name}" for name in secret_files or [])
        scep = (
            f"* Okta's Device Access certificate is a separate profile, {certificate_file(settings)}: the static\n"
            "  SCEP payload with the secret key (and Okta's intermediate CA when you gave okta.scep_ca_certificate).\n"
            "  Deploy it to the same Macs BEFORE the Platform SSO profile. The files holding the secret are\n"
            "  readable by you only (mode 0600); share them only with your MDM and delete them when done:\n"
            f"{held}\n"
            f"  Its subject is CN={SCEP_SUBJECT_CN}; on another MDM replace {{DeviceUid}} with that MDM's\n"
            "  hardware-UUID variable (Jamf $UDID, Fleet %HardwareUUID%). Okta does not renew these certificates:\n"
            "  redeploy before they expire. On Workspace ONE odatui uses a WS1 certificate authority instead.\n"
        )
    elif settings.scep is not None:
        held = "\n".join(f"    {name}" for name in secret_files or [])
        scep = (
            "* The Device Access SCEP payload (Okta's certificate for Platform SSO 2.0) holds the static SCEP secret\n"
            "  key. The files holding it are written readable by you only (mode 0600); keep them that way, share\n"
            "  them only with your MDM, and delete them when done:\n"
            f"{held}\n"
            f"  Its subject is CN={SCEP_SUBJECT_CN}, Workspace ONE's lookup value for the Mac's UDID (its hardware\n"
            "  UUID). On another MDM replace {DeviceUid} with that MDM's hardware-UUID variable (Jamf $UDID,\n"
            "  Fleet %HardwareUUID%). Okta does not renew these certificates: redeploy before they expire.\n"
        )
    else:
        why = ' (rollout.scep = "elsewhere")' if scep_elsewhere else ""
        scep = (
            f"* Platform SSO 2.0 also needs Okta's Device Access SCEP certificate profile, which this export does\n"
            f"  not contain{why}: deploy it to the same Macs with another profile, as Okta documents.\n"
        )
    other = "macOS 14+ (Platform SSO 2.0)" if settings.macos_min == 13 else "macOS 13 (Platform SSO 1.0)"
    return f"""Okta Desktop Password Sync (Platform SSO) configuration for {settings.org_host}
Made by odatui for Macs on macOS {settings.macos_min} and later ({"Platform SSO 1.0" if settings.macos_min == 13 else "Platform SSO 2.0"}).
Org URL {settings.org_url} · client ID {settings.client_id} · PlatformSSO.ProtocolVersion "{settings.protocol_version}"

IMPORTANT
* The Extensible SSO payload installs only through a user-approved MDM (Automated Device Enrollment or
  user-approved enrollment). Double-clicking a .mobileconfig on a Mac will NOT install it.
* Deploy at the device / computer level (PayloadScope System), never as a user profile.
* Use either the combined profile or the per-payload profiles, not both on the same Mac.
* Macs on {other} need their own, separate set: export again with that macOS floor and
  scope each set to its own group of Macs (Okta requires separate instances; users re-enrol after
  moving to Platform SSO 2.0).
{scep}* Install Okta Verify from the .pkg in the Okta Admin Console (not the App Store) on the same Macs, before
  this profile reaches them.

FILES
  {prefix}.mobileconfig   all {_COUNT.get(len(kinds), len(kinds))} payloads in one profile (recommended)
{per_payload}
Workspace ONE Custom Settings fragments (one payload each, no <plist> wrapper):
{fragments}
{signed_text}
WHERE EACH FILE GOES
Jamf Pro     Computers > Configuration Profiles > Upload: {prefix}.mobileconfig. Keep Level "Computer Level",
             scope it to the Macs, save.
Intune       Devices > macOS > Configuration > Create > Templates > Custom: upload {prefix}.mobileconfig,
             Deployment channel "Device channel", assign to a device group.
Kandji       Library > Add new > Custom Profile: upload {prefix}.mobileconfig, assign to a Blueprint.
Workspace ONE  odatui's own `ws1.profile` step does this for you. By hand: Resources > Profiles > Add > macOS >
             Device profile; add a Custom Settings payload and paste each *.ws1.xml file: odatui sends exactly
             these fragments, Associated Domains included (not the native payload).
Other MDMs   upload {prefix}.mobileconfig as a custom device-level profile.
"""


def export(
    settings: PssoSettings,
    out_dir: Path,
    sign_cert: Path | None = None,
    sign_key: Path | None = None,
    *,
    sign_key_passphrase: str | None = None,
    scep_elsewhere: bool = False,
    certificate_apart: bool = False,
    ca_der: bytes | None = None,
) -> list[Path]:
    """Write the export set into `out_dir` (created if needed); returns the written paths, sorted."""
    if (sign_cert is None) != (sign_key is None):
        missing = "--sign-key" if sign_key is None else "--sign-cert"
        raise UsageError(
            f"Signing needs both a certificate and its key; {missing} is missing.",
            hint="Give --sign-cert CERT.pem and --sign-key KEY.pem together, or neither for unsigned files.",
        )
    identity = None
    if sign_cert is not None and sign_key is not None:
        passphrase = sign_key_passphrase.encode("utf-8") if sign_key_passphrase else None
        identity = mobileconfig.load_signing_identity(Path(sign_cert), Path(sign_key), passphrase)

    files = build_files(settings, identity, scep_elsewhere=scep_elsewhere, certificate_apart=certificate_apart,
                        ca_der=ca_der)

    out_dir = Path(out_dir).expanduser()
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{str(out_dir)!r} exists and is not a folder.", hint="Give --out a folder path.")
    blocked = [name for name in files if (out_dir / name).is_dir()]
    if blocked:  # checked up front: a replace that fails half way would leave a mixed set
        raise UsageError(
            f"{str(out_dir / blocked[0])!r} is a folder, so the export cannot write that file.",
            hint="Move that folder away or choose another --out folder.",
        )
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".odatui-export-", dir=out_dir))
    except OSError as exc:
        raise UsageError(
            f"Cannot create the export folder {str(out_dir)!r}: {exc.strerror or exc}.",
            hint="Choose a folder this user can write to with --out.",
        ) from None
    private = set(secret_files(dataclasses.replace(settings, scep=None) if certificate_apart else settings, files))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
            if name in private:
                # Holds the SCEP secret key: owner only. The staging folder (mkdtemp) is 0700, so the file was
                # never readable by others before this chmod; os.replace keeps the mode.
                os.chmod(staging / name, 0o600)
        # Same filesystem, so each replace is atomic; all content already exists before the first one.
        written = []
        for name in files:
            os.replace(staging / name, out_dir / name)
            written.append(out_dir / name)
    except OSError as exc:
        raise UsageError(
            f"Cannot write the export into {str(out_dir)!r}: {exc.strerror or exc}.",
            hint="Check free space and permissions of the --out folder, then run the export again.",
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return sorted(written)


def export_from_values(
    org_url: str,
    client_id: str,
    macos_min: int,
    user_principal_name: str | None,
    out_dir: Path,
    sign_cert: Path | None = None,
    sign_key: Path | None = None,
    *,
    psso: dict | None = None,
    scep: object = None,
    scep_elsewhere: bool = False,
    certificate_apart: bool = False,
    ca_der: bytes | None = None,
) -> list[Path]:
    """For the CLI: config values + okta.app's client ID → files. The key passphrase comes from the environment."""
    try:
        floor = int(macos_min)
    except (TypeError, ValueError):
        raise UsageError(f"macOS floor {macos_min!r} is not a number.", hint="Set rollout.macos_min to 13, 14, 15 or 26.") from None
    settings = PssoSettings.from_org_url(org_url, client_id or "", floor,
                                         user_principal_name=(user_principal_name or None),
                                         psso=dict(psso or {}), scep=scep)
    return export(settings, out_dir, sign_cert, sign_key, sign_key_passphrase=os.environ.get(PASSPHRASE_ENV),
                  scep_elsewhere=scep_elsewhere, certificate_apart=certificate_apart, ca_der=ca_der)
