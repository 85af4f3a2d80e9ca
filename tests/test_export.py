"""`odatui export`: golden files for one sample org, determinism, signing with openssl, no half sets.

Regenerate the golden files after an intended change with:
    ODATUI_UPDATE_GOLDEN=1 /tmp/venv/bin/python -m pytest tests/test_export.py -q
"""

from __future__ import annotations

import os
import plistlib
import shutil
from pathlib import Path

import pytest

from odatui.core.errors import UsageError
from odatui.service.profiles import export, export_from_values
from odatui.macos.lint import lint
from odatui.macos.mobileconfig import parse_ws1_custom_settings
from odatui.macos.payloads import PssoSettings, ScepSettings

try:
    from test_mobileconfig import make_pki, openssl_verify
except ImportError:  # tests/ imported as a package
    from tests.test_mobileconfig import make_pki, openssl_verify

GOLDEN = Path(__file__).parent / "golden"
# read at import: conftest's autouse fixture removes every ODATUI_* variable before each test runs
UPDATE_GOLDEN = os.environ.get("ODATUI_UPDATE_GOLDEN") == "1"
CLIENT_ID = "0oa1b2c3d4e5f6g7h8i9"
# A made-up secret key for the golden files (never a real one); the SCEP URL's shape follows Okta's /pki/ path.
GOLDEN_CHALLENGE = "golden-sample-scep-secret"
GOLDEN_SCEP = ScepSettings("https://acme.okta.com/pki/scep/golden", GOLDEN_CHALLENGE)
SAMPLES = {
    "acme-macos14": dict(org_url="https://acme.okta.com", macos_min=14, user_principal_name="{EmailAddress}",
                         scep=GOLDEN_SCEP),
    "acme-macos13": dict(org_url="https://acme.okta.com", macos_min=13, user_principal_name=None),
    "acme-macos26": dict(org_url="https://acme.okta.com", macos_min=26, user_principal_name="{EmailAddress}",
                         scep=GOLDEN_SCEP, psso={"registration_during_setup": True,
                                                 "file_vault_policy": ["AttemptAuthentication"]}),
}


def _export(tmp_path: Path, sample: str, **kw) -> list[Path]:
    values = SAMPLES[sample]
    extra = {k: values[k] for k in ("scep", "psso") if k in values}
    return export_from_values(values["org_url"], CLIENT_ID, values["macos_min"], values["user_principal_name"],
                              tmp_path / sample, **extra, **kw)


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_export_matches_the_golden_files_byte_for_byte(tmp_path, sample):
    written = _export(tmp_path, sample)
    golden = GOLDEN / sample
    if UPDATE_GOLDEN:
        shutil.rmtree(golden, ignore_errors=True)
        golden.mkdir(parents=True)
        for path in written:
            shutil.copyfile(path, golden / path.name)
    assert golden.is_dir(), f"no golden files in {golden}; run with ODATUI_UPDATE_GOLDEN=1"
    assert sorted(p.name for p in written) == sorted(p.name for p in golden.iterdir())
    for path in written:
        assert path.read_bytes() == (golden / path.name).read_bytes(), f"{path.name} differs from the golden copy"


def test_golden_set_is_what_the_brief_lists():
    names = sorted(p.name for p in (GOLDEN / "acme-macos14").iterdir())
    assert names == sorted(
        ["README.txt", "okta-dps-macos14.mobileconfig"]
        + [f"okta-dps-macos14-{kind}.{ext}"
           for kind in ("device-access-scep", "associated-domains", "sso-extension", "prefs-com.okta.mobile",
                        "prefs-com.okta.mobile.auth-service-extension")
           for ext in ("mobileconfig", "ws1.xml")]
    )


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_exported_files_read_back_and_lint_clean(tmp_path, sample):
    written = {p.name: p for p in _export(tmp_path, sample)}
    prefix = f"okta-dps-macos{SAMPLES[sample]['macos_min']}"
    combined = plistlib.loads(written[f"{prefix}.mobileconfig"].read_bytes())
    assert combined["PayloadScope"] == "System"
    assert lint(combined, "acme.okta.com", CLIENT_ID) == []
    fragments = [p.read_text() for n, p in sorted(written.items()) if n.endswith(".ws1.xml")]
    read_back = [payload for text in fragments for payload in parse_ws1_custom_settings(text)]
    assert sorted(p["PayloadUUID"] for p in read_back) == sorted(p["PayloadUUID"] for p in combined["PayloadContent"])
    assert lint(read_back, "acme.okta.com", CLIENT_ID) == []
    singles = [plistlib.loads(p.read_bytes()) for n, p in written.items() if n.endswith(".mobileconfig") and n != f"{prefix}.mobileconfig"]
    kinds = 4 + ("scep" in SAMPLES[sample] and SAMPLES[sample]["macos_min"] >= 14)
    assert len(singles) == kinds == len(combined["PayloadContent"])
    assert len({s["PayloadIdentifier"] for s in singles} | {combined["PayloadIdentifier"]}) == kinds + 1


def test_re_export_gives_identical_bytes(tmp_path):
    first = {p.name: p.read_bytes() for p in _export(tmp_path / "one", "acme-macos14")}
    second = {p.name: p.read_bytes() for p in _export(tmp_path / "two", "acme-macos14")}
    assert first == second


def test_readme_says_where_files_go_and_that_double_click_does_not_install(tmp_path):
    text = (tmp_path / "acme-macos14" / "README.txt").read_text() if _export(tmp_path, "acme-macos14") else ""
    for needle in ("Jamf Pro", "Intune", "Kandji", "Workspace ONE", "user-approved MDM", "Double-clicking",
                   "okta-dps-macos14.mobileconfig", "macOS 13 (Platform SSO 1.0) need their own"):
        assert needle in text, needle


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl binary not on PATH")
def test_signed_export_verifies_with_openssl(tmp_path):
    pki = make_pki(tmp_path)
    written = {p.name: p for p in _export(tmp_path, "acme-macos14", sign_cert=pki["chain"], sign_key=pki["key"])}
    signed = sorted(n for n in written if n.endswith(".signed.mobileconfig"))
    assert len(signed) == 6
    for name in signed:
        out = tmp_path / "unwrapped"
        result = openssl_verify(written[name], pki["root"], out)
        assert result.returncode == 0, result.stderr
        assert out.read_bytes() == written[name.replace(".signed.mobileconfig", ".mobileconfig")].read_bytes()
    assert "Signed copies" in written["README.txt"].read_text()


def test_signing_key_passphrase_comes_from_the_environment(tmp_path, monkeypatch):
    from cryptography.hazmat.primitives import serialization

    pki = make_pki(tmp_path)
    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(pki["_leaf_key"].private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret-pass")))
    with pytest.raises(UsageError, match="encrypted and no passphrase"):
        _export(tmp_path, "acme-macos14", sign_cert=pki["chain"], sign_key=encrypted)
    assert not (tmp_path / "acme-macos14").exists()
    monkeypatch.setenv("ODATUI_SIGN_KEY_PASSPHRASE", "s3cret-pass")
    written = _export(tmp_path, "acme-macos14", sign_cert=pki["chain"], sign_key=encrypted)
    assert any(p.name.endswith(".signed.mobileconfig") for p in written)
    assert not any(b"s3cret-pass" in p.read_bytes() for p in written)


def test_bad_certificate_writes_nothing(tmp_path):
    pki = make_pki(tmp_path)
    out = tmp_path / "out"
    not_pem = tmp_path / "cert.txt"
    not_pem.write_text("hello")
    settings = PssoSettings("acme.okta.com", CLIENT_ID, 14)
    with pytest.raises(UsageError) as info:
        export(settings, out, not_pem, pki["key"])
    assert str(not_pem) in info.value.message and info.value.hint
    assert not out.exists()


def test_a_write_failure_half_way_leaves_no_files(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    real_write = Path.write_bytes
    calls = []

    def failing_write(self, data):
        calls.append(self.name)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", failing_write)
    with pytest.raises(UsageError, match="No space left on device") as info:
        export(PssoSettings("acme.okta.com", CLIENT_ID, 14), out)
    assert "--out" in info.value.hint
    assert list(out.iterdir()) == []  # nothing moved in, staging folder removed


def test_a_folder_in_the_way_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "out"
    (out / "README.txt").mkdir(parents=True)
    with pytest.raises(UsageError, match="is a folder"):
        export(PssoSettings("acme.okta.com", CLIENT_ID, 14), out)
    assert [p.name for p in out.iterdir()] == ["README.txt"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(sign_cert=Path("c.pem")), "--sign-key is missing"),
        (dict(sign_key=Path("k.pem")), "--sign-cert is missing"),
    ],
)
def test_cert_and_key_go_together(tmp_path, kwargs, match):
    with pytest.raises(UsageError, match=match):
        export(PssoSettings("acme.okta.com", CLIENT_ID, 14), tmp_path / "out", **kwargs)


def test_out_path_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(UsageError, match="is not a folder"):
        export(PssoSettings("acme.okta.com", CLIENT_ID, 14), target)


@pytest.mark.parametrize(
    ("org_url", "client_id", "macos_min", "match"),
    [
        ("https://acme.okta.com", CLIENT_ID, "fourteen", "is not a number"),
        ("https://acme-admin.okta.com", CLIENT_ID, 14, "Admin Console"),
        ("https://acme.okta.com", "", 14, "client ID"),
    ],
)
def test_export_from_values_refuses_bad_values(tmp_path, org_url, client_id, macos_min, match):
    with pytest.raises(UsageError, match=match):
        export_from_values(org_url, client_id, macos_min, None, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_export_from_values_for_the_sandbox_keeps_the_port(tmp_path):
    written = export_from_values("https://127.0.0.1:8443", CLIENT_ID, "26", "", tmp_path / "out")
    combined = plistlib.loads((tmp_path / "out" / "okta-dps-macos26.mobileconfig").read_bytes())
    assert lint(combined, "127.0.0.1:8443", CLIENT_ID) == []
    assert len(written) == 10


# ------------------------------------------------------------------------------------------------ PSSO 2.0 as Okta
# requires it: SCEP payload, floor-gated [rollout.psso] keys, Apple's schema, 0600 for files with the secret key


def _schema():
    try:
        from apple_schema import AppleSchema, vendor_profiles_dir
    except ImportError:
        from tests.apple_schema import AppleSchema, vendor_profiles_dir
    if not vendor_profiles_dir().is_dir():
        pytest.skip("Apple schema not found (../shared/vendor)")
    return AppleSchema()


@pytest.mark.parametrize("floor, psso, keys", [
    (14, {}, set()),
    (15, {"file_vault_policy": ["AttemptAuthentication"], "unlock_policy": ["AllowTouchIDOrWatchForUnlock"],
          "offline_grace_period": 86400}, {"FileVaultPolicy", "UnlockPolicy", "OfflineGracePeriod"}),
    (26, {"registration_during_setup": True}, {"EnableRegistrationDuringSetup"}),
])
def test_combined_profile_holds_scep_and_validates_against_apples_schema(tmp_path, floor, psso, keys):
    written = {p.name: p for p in export_from_values("https://acme.okta.com", CLIENT_ID, floor, "{EmailAddress}",
                                                     tmp_path, psso=psso, scep=GOLDEN_SCEP)}
    combined = plistlib.loads(written[f"okta-dps-macos{floor}.mobileconfig"].read_bytes())
    types = [p["PayloadType"] for p in combined["PayloadContent"]]
    assert types == ["com.apple.security.scep", "com.apple.associated-domains", "com.apple.extensiblesso",
                     "com.apple.ManagedClient.preferences", "com.apple.ManagedClient.preferences"]
    scep = combined["PayloadContent"][0]["PayloadContent"]
    assert scep["URL"] == "https://acme.okta.com/pki/scep/golden" and scep["Challenge"] == GOLDEN_CHALLENGE
    assert (scep["Keysize"], scep["Key Usage"], scep["KeyIsExtractable"], scep["AllowAllAppsAccess"]) == (2048, 1, False, True)
    psso_dict = combined["PayloadContent"][2]["PlatformSSO"]
    assert keys <= set(psso_dict)
    report = _schema().validate_profile(combined, macos=f"{floor}.0", channel="device")
    assert report.errors == [], [str(i) for i in report.errors]
    if floor == 26:
        assert "/v1/auth/device-sign" in " ".join(combined["PayloadContent"][2]["URLs"])


def test_files_with_the_scep_secret_are_0600_and_the_readme_says_so(tmp_path):
    written = {p.name: p for p in _export(tmp_path, "acme-macos14")}
    private = {n for n, p in written.items() if GOLDEN_CHALLENGE.encode() in p.read_bytes()}
    assert private == {"okta-dps-macos14.mobileconfig", "okta-dps-macos14-device-access-scep.mobileconfig",
                       "okta-dps-macos14-device-access-scep.ws1.xml"}
    for name, path in written.items():
        mode = path.stat().st_mode & 0o777
        assert (mode == 0o600) == (name in private), (name, oct(mode))
    readme = written["README.txt"].read_text()
    assert "0600" in readme and all(n in readme for n in private) and GOLDEN_CHALLENGE not in readme


def test_a_challenge_with_xml_special_characters_is_still_kept_0600(tmp_path):
    """plistlib writes & < > as entities: the files holding the challenge are known by how they are built."""
    import dataclasses

    scep = dataclasses.replace(GOLDEN_SCEP, challenge="ab&c<d>e")
    export_from_values("https://acme.okta.com", CLIENT_ID, 14, None, tmp_path / "out", scep=scep)
    written = {p.name: p for p in (tmp_path / "out").iterdir()}
    holders = {n for n, p in written.items() if b"ab&amp;c&lt;d&gt;e" in p.read_bytes()}
    assert holders >= {"okta-dps-macos14.mobileconfig", "okta-dps-macos14-device-access-scep.mobileconfig"}
    for name, path in written.items():
        mode = path.stat().st_mode & 0o777
        assert (mode == 0o600) == (name in holders), (name, oct(mode))


def test_floor_14_with_a_floor_15_key_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(UsageError) as info:
        export_from_values("https://acme.okta.com", CLIENT_ID, 14, None, tmp_path / "out",
                           psso={"file_vault_policy": ["AttemptAuthentication"]}, scep=GOLDEN_SCEP)
    assert "rollout.psso.file_vault_policy" in info.value.message and "macOS 15" in info.value.message
    assert info.value.exit_code == 2 and not (tmp_path / "out").exists()
