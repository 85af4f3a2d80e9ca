"""Profiles: valid against Apple's YAML schema per macOS floor, plist round trips, WS1 fragments, lint, signing.

Signing is checked with the real `openssl` binary against a throwaway CA → intermediate → leaf chain.
"""

from __future__ import annotations

import copy
import datetime as dt
import plistlib
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from odatui.core.errors import OdatuiError, UsageError
from odatui.macos.lint import lint
from odatui.macos.lint_base import errors
from odatui.macos.mobileconfig import (
    load_signing_identity,
    parse_ws1_custom_settings,
    profile,
    sign,
    to_xml,
    ws1_custom_settings,
)
from odatui.macos.payloads import PssoSettings, all_payloads

try:
    from apple_schema import AppleSchema, vendor_profiles_dir
except ImportError:  # tests/ imported as a package
    from tests.apple_schema import AppleSchema, vendor_profiles_dir

HOST = "acme.okta.com"
CLIENT_ID = "0oa1b2c3d4e5f6g7h8i9"
FLOORS = (13, 14, 15, 26)

needs_schema = pytest.mark.skipif(
    not vendor_profiles_dir().is_dir(), reason=f"Apple schema not found at {vendor_profiles_dir()} (../shared/vendor)"
)
needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl binary not on PATH")


def settings(floor: int = 14, **kw) -> PssoSettings:
    kw.setdefault("user_principal_name", "{EmailAddress}")
    return PssoSettings(org_host=kw.pop("host", HOST), client_id=CLIENT_ID, macos_min=floor, **kw)


def full_profile(floor: int = 14, **kw) -> dict:
    s = settings(floor, **kw)
    return profile(s, list(all_payloads(s).values()), name="Okta DPS")


@pytest.fixture(scope="module")
def schema() -> AppleSchema:
    if not vendor_profiles_dir().is_dir():
        pytest.skip(f"Apple schema not found at {vendor_profiles_dir()} (../shared/vendor)")
    return AppleSchema()


# ---- Apple schema ---------------------------------------------------------------------------------------------


@needs_schema
@pytest.mark.parametrize("floor", FLOORS)
def test_every_generated_profile_is_valid_for_its_macos_floor(schema, floor):
    s = settings(floor, enable_registration_during_setup=floor == 26)
    payloads = all_payloads(s)
    candidates = [profile(s, list(payloads.values()), name="all")]
    candidates += [profile(s, [p], name=kind, kind=kind) for kind, p in payloads.items()]
    for candidate in candidates:
        report = schema.validate_profile(plistlib.loads(to_xml(candidate)), macos=f"{floor}.0", channel="device")
        assert report.errors == [], str(report)
        if floor == 26:
            # newer than Apple's 15.1 snapshot: a warning, never an error
            assert [w.path.rsplit(".", 1)[-1] for w in report.warnings] in ([], ["EnableRegistrationDuringSetup"])
        else:
            assert report.warnings == [], str(report)


@needs_schema
def test_macos14_profile_is_invalid_on_macos13_and_on_the_user_channel(schema):
    on_13 = schema.validate_profile(full_profile(14), macos="13.0")
    assert any(e.path.endswith(".PlatformSSO") and "introduced in macOS 14.0" in e.message for e in on_13.errors)
    user = schema.validate_profile(full_profile(14), macos="14.0", channel="user")
    assert [e.path.rsplit(".", 1)[-1] for e in user.errors] == ["UseSharedDeviceKeys"]


@needs_schema
def test_macos13_profile_warns_that_top_level_authentication_method_is_deprecated_on_14(schema):
    report = schema.validate_profile(full_profile(13), macos="14.0")
    assert report.errors == []
    assert [w.message for w in report.warnings] == ["deprecated in macOS 14.0"]


@needs_schema
def test_validator_catches_type_range_presence_and_duplicate_mistakes(schema):
    bad = full_profile(15)
    sso = bad["PayloadContent"][1]
    sso["Type"] = "redirect"
    sso["PayloadVersion"] = "1"
    sso["PlatformSSO"]["LoginFrequency"] = 100
    sso["PlatformSSO"]["UseSharedDeviceKeys"] = 1
    del sso["ExtensionIdentifier"]
    bad["PayloadScope"] = "user"
    bad["PayloadContent"][2]["PayloadUUID"] = bad["PayloadContent"][3]["PayloadUUID"]
    bad["PayloadContent"][0]["Configuration"][0]["AssociatedDomains"] = "authsrv:acme.okta.com"
    bad["PayloadContent"].append({"PayloadType": "com.example.unknown", "PayloadVersion": 1})
    report = schema.validate_profile(bad, macos="15.0")
    text = str(report)
    for expected in (
        "TopLevel.PayloadScope: 'user' is not one of ['System', 'User']",
        ".Type: 'redirect' is not one of ['Credential', 'Redirect']",
        ".PayloadVersion: type str, the schema wants <integer>",
        ".LoginFrequency: 100 is below the minimum 3600",
        ".UseSharedDeviceKeys: type int, the schema wants <boolean>",
        ".ExtensionIdentifier: required key is missing",
        "PayloadContent[3].PayloadUUID: duplicate of PayloadContent[2]",
        ".AssociatedDomains: type str, the schema wants <array>",
        "unknown payload type 'com.example.unknown'",
    ):
        assert expected in text, f"{expected!r} not reported:\n{text}"


@needs_schema
def test_validator_reports_policy_keys_newer_than_the_floor(schema):
    p = full_profile(14)
    p["PayloadContent"][1]["PlatformSSO"]["FileVaultPolicy"] = ["AttemptAuthentication", "Sometimes"]
    report = schema.validate_profile(p, macos="14.0")
    messages = [str(e) for e in report.errors]
    assert any("FileVaultPolicy: introduced in macOS 15.0" in m for m in messages)
    assert any("FileVaultPolicy[1]: 'Sometimes' is not one of" in m for m in messages)


@needs_schema
def test_extensible_sso_cannot_be_installed_by_hand_per_apple(schema):
    # The README's "never by double-click" claim rests on this schema fact.
    macos = schema.payload_macos("com.apple.extensiblesso")
    assert macos["allowmanualinstall"] is False and macos["userapprovedmdm"] is True


# ---- plist and WS1 fragments ----------------------------------------------------------------------------------


@pytest.mark.parametrize("floor", FLOORS)
def test_plist_round_trip(floor):
    p = full_profile(floor)
    data = to_xml(p)
    assert plistlib.loads(data) == p
    assert to_xml(plistlib.loads(data)) == data
    assert p["PayloadScope"] == "System" and p["TargetDeviceType"] == 5


def test_ws1_fragment_is_a_bare_dict_and_reads_back():
    for payload in all_payloads(settings(14)).values():
        text = ws1_custom_settings(payload)
        assert text.startswith("<dict>") and text.endswith("</dict>\n")
        assert "<?xml" not in text and "<plist" not in text and "DOCTYPE" not in text
        assert parse_ws1_custom_settings(text) == [payload]


def test_ws1_parse_accepts_several_fragments_and_a_full_plist():
    payloads = list(all_payloads(settings(13)).values())
    joined = "\n".join(ws1_custom_settings(p) for p in payloads)
    assert parse_ws1_custom_settings(joined) == payloads
    assert parse_ws1_custom_settings(to_xml(payloads[1]).decode()) == [payloads[1]]
    assert parse_ws1_custom_settings("  ") == []


@pytest.mark.parametrize("text", ["<dict><key>a</key>", "<string>x</string>", "<dict><key>a</key><strin>1</strin></dict>"])
def test_ws1_parse_refuses_broken_text(text):
    with pytest.raises(OdatuiError) as info:
        parse_ws1_custom_settings(text)
    assert info.value.hint


# ---- lint -----------------------------------------------------------------------------------------------------


def _sso(p):
    return next(x for x in p["PayloadContent"] if x["PayloadType"] == "com.apple.extensiblesso")


def _domains(p):
    return next(x for x in p["PayloadContent"] if x["PayloadType"] == "com.apple.associated-domains")["Configuration"]


def _ext(p):
    prefs = p["PayloadContent"][3]["PayloadContent"]["com.okta.mobile.auth-service-extension"]
    return prefs["Forced"][0]["mcx_preference_settings"]


def _app(p):
    return p["PayloadContent"][2]["PayloadContent"]["com.okta.mobile"]["Forced"][0]["mcx_preference_settings"]


@pytest.mark.parametrize("floor", FLOORS)
def test_lint_accepts_what_odatui_generates(floor):
    assert lint(full_profile(floor), HOST, CLIENT_ID) == []
    assert lint(full_profile(floor)) == []  # without expectations: internal consistency only


def test_lint_reads_ws1_fragments_back():
    payloads = all_payloads(settings(14))
    read_back = parse_ws1_custom_settings("".join(ws1_custom_settings(p) for p in payloads.values()))
    assert lint(read_back, HOST, CLIENT_ID) == []


MISTAKES = {
    "team-id": lambda p: _sso(p).__setitem__("TeamIdentifier", "7Z1Q9ZWWH4"),
    "associated-domain-missing": lambda p: _domains(p).pop(1),
    "associated-domain-team-prefix": lambda p: _domains(p)[1].__setitem__("ApplicationIdentifier", "com.okta.mobile"),
    "protocol-version-type": lambda p: _ext(p).__setitem__("PlatformSSO.ProtocolVersion", 2.0),
    "shared-device-keys": lambda p: _sso(p)["PlatformSSO"].pop("UseSharedDeviceKeys"),
    "org-host-mismatch": lambda p: _app(p).__setitem__("OktaVerify.OrgUrl", "https://acme.oktapreview.com"),
    "client-id-mismatch": lambda p: _ext(p).__setitem__("OktaVerify.PasswordSyncClientID", "0oaZZZZZZZZZZZZZZZZZ"),
    "client-id-malformed": lambda p: _ext(p).__setitem__("OktaVerify.PasswordSyncClientID", "0oa1b2c3"),
    "scope-user": lambda p: p.__setitem__("PayloadScope", "User"),
    "sso-type": lambda p: _sso(p).__setitem__("Type", "Credential"),
    "auth-method": lambda p: _sso(p)["PlatformSSO"].__setitem__("AuthenticationMethod", "UserSecureEnclaveKey"),
    "protocol-version-shape": lambda p: _ext(p).__setitem__("PlatformSSO.ProtocolVersion", "1.0"),
    "client-id-missing": lambda p: _ext(p).pop("OktaVerify.PasswordSyncClientID"),
    "prefs-missing": lambda p: p["PayloadContent"].pop(2),
    "sso-missing": lambda p: _sso(p).__setitem__("ExtensionIdentifier", "com.okta.mobile.sso"),
    "org-host-admin": lambda p: _sso(p)["URLs"].__setitem__(0, "https://acme-admin.okta.com/device-access/api/v1/nonce"),
}


@pytest.mark.parametrize("code", sorted(MISTAKES))
def test_lint_catches_each_mistake_with_a_readable_fix(code):
    broken = copy.deepcopy(full_profile(14))
    MISTAKES[code](broken)
    findings = lint(broken, HOST, CLIENT_ID)
    assert code in {f.code for f in findings}, findings
    for f in findings:
        assert f.severity == "error"
        assert f.message.endswith(".") and len(f.message.split()) >= 8
        assert any(word in f.message for word in ("Set ", "Add ", "Use ", "Change ", "Copy ")), f.message


def test_lint_names_the_number_and_the_string_for_protocol_version():
    broken = full_profile(14)
    _ext(broken)["PlatformSSO.ProtocolVersion"] = 2.0
    (finding,) = lint(broken, HOST, CLIENT_ID)
    assert "is a float (2.0)" in finding.message and 'the string "2.0"' in finding.message


@pytest.mark.parametrize("where", ["OrgUrl", "sso-url", "authsrv"])
def test_lint_finds_a_host_that_differs_in_any_one_place_even_without_expectations(where):
    broken = full_profile(14)
    if where == "OrgUrl":
        _ext(broken)["OktaVerify.OrgUrl"] = "https://login.acme.com"
    elif where == "sso-url":
        _sso(broken)["URLs"][1] = "https://login.acme.com/oauth2/v1/token"
    else:
        _domains(broken)[0]["AssociatedDomains"] = ["authsrv:login.acme.com"]
    findings = lint(broken)
    assert [f.code for f in findings] == ["org-host-mismatch"]
    assert "login.acme.com" in findings[0].message and HOST in findings[0].message
    assert [f.code for f in lint(broken, HOST, CLIENT_ID)] == ["org-host-mismatch"]


def test_lint_accepts_the_macos13_shape_and_flags_protocol_20_on_it():
    p13 = full_profile(13)
    assert lint(p13, HOST, CLIENT_ID) == []
    _ext(p13)["PlatformSSO.ProtocolVersion"] = "2.0"
    assert [f.code for f in lint(p13, HOST, CLIENT_ID)] == ["protocol-version-shape"]


def test_lint_warns_when_scope_is_missing():
    p = full_profile(14)
    del p["PayloadScope"]
    findings = lint(p, HOST, CLIENT_ID)
    assert [(f.severity, f.code) for f in findings] == [("warning", "scope-missing")]
    assert errors(findings) == []


def test_lint_understands_the_direct_preference_domain_form():
    # Fleet/iMazing style: PayloadType is the preference domain itself
    p = full_profile(14)
    ext_values = dict(_ext(p))
    p["PayloadContent"][3] = {"PayloadType": "com.okta.mobile.auth-service-extension", **ext_values}
    assert lint(p, HOST, CLIENT_ID) == []
    p["PayloadContent"][3]["PlatformSSO.ProtocolVersion"] = 2
    assert [f.code for f in lint(p, HOST, CLIENT_ID)] == ["protocol-version-type"]


# ---- signing --------------------------------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, subject_key, issuer, issuer_key, *, ca: bool, days: int = 30, start_days: int = -1):
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=start_days))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key, password: bytes | None = None) -> bytes:
    encryption = (
        serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def make_pki(folder: Path, *, leaf_key=None, leaf_days: int = 30, leaf_start_days: int = -1) -> dict[str, Path]:
    """root CA → intermediate CA → leaf. Writes root.pem, chain.pem (leaf + intermediate), leaf.key."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = leaf_key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("odatui test root", root_key, "odatui test root", root_key, ca=True, days=365)
    inter = _cert("odatui test intermediate", inter_key, "odatui test root", root_key, ca=True, days=365)
    leaf = _cert("odatui test profile signer", leaf_key, "odatui test intermediate", inter_key, ca=False,
                 days=leaf_days, start_days=leaf_start_days)
    paths = {"root": folder / "root.pem", "chain": folder / "chain.pem", "key": folder / "leaf.key",
             "leaf_only": folder / "leaf.pem"}
    paths["root"].write_bytes(_pem(root))
    paths["chain"].write_bytes(_pem(leaf) + _pem(inter) + _pem(root))  # a root in the file is tolerated
    paths["leaf_only"].write_bytes(_pem(leaf))
    paths["key"].write_bytes(_key_pem(leaf_key))
    paths["_leaf_key"] = leaf_key  # type: ignore[assignment]
    return paths


def openssl_verify(signed: Path, root: Path, out: Path, command: str = "smime") -> subprocess.CompletedProcess:
    return subprocess.run(
        ["openssl", command, "-verify", "-inform", "DER", "-in", str(signed), "-CAfile", str(root),
         "-out", str(out), "-purpose", "any"],
        capture_output=True, text=True, check=False,
    )


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


@needs_openssl
@pytest.mark.parametrize("command", ["smime", "cms"])
def test_signed_profile_verifies_with_openssl_and_unwraps_to_the_same_bytes(pki, tmp_path, command):
    data = to_xml(full_profile(14))
    identity = load_signing_identity(pki["chain"], pki["key"])
    assert [c.subject.rfc4514_string() for c in identity.intermediates] == ["CN=odatui test intermediate"]
    signed = sign(data, identity)
    assert signed[:2] == b"\x30\x82"  # DER SEQUENCE, as Apple DTS describes signed profiles
    path = tmp_path / "signed.mobileconfig"
    path.write_bytes(signed)
    result = openssl_verify(path, pki["root"], tmp_path / "out.plist", command)
    assert result.returncode == 0, result.stderr
    assert "Verification successful" in result.stderr
    assert (tmp_path / "out.plist").read_bytes() == data
    assert plistlib.loads((tmp_path / "out.plist").read_bytes()) == full_profile(14)


@needs_openssl
def test_without_the_intermediate_openssl_cannot_build_the_chain(pki, tmp_path):
    # shows the verification above is real: drop the intermediate and the same check fails
    identity = load_signing_identity(pki["leaf_only"], pki["key"])
    assert identity.intermediates == []
    path = tmp_path / "signed.mobileconfig"
    path.write_bytes(sign(b"<plist/>", identity))
    result = openssl_verify(path, pki["root"], tmp_path / "out")
    assert result.returncode != 0
    assert "unable to get local issuer certificate" in result.stderr


@needs_openssl
def test_signing_with_an_ec_key_verifies(tmp_path):
    paths = make_pki(tmp_path, leaf_key=ec.generate_private_key(ec.SECP384R1()))
    signed = tmp_path / "s.der"
    signed.write_bytes(sign(b"payload", load_signing_identity(paths["chain"], paths["key"])))
    assert openssl_verify(signed, paths["root"], tmp_path / "o").returncode == 0


def test_encrypted_key_needs_its_passphrase(pki, tmp_path):
    encrypted = tmp_path / "enc.key"
    encrypted.write_bytes(_key_pem(pki["_leaf_key"], b"correct horse"))
    with pytest.raises(UsageError, match="is encrypted and no passphrase was given") as info:
        load_signing_identity(pki["chain"], encrypted)
    assert str(encrypted) in info.value.message and "ODATUI_SIGN_KEY_PASSPHRASE" in info.value.hint
    with pytest.raises(UsageError, match="with the given passphrase"):
        load_signing_identity(pki["chain"], encrypted, b"wrong")
    assert load_signing_identity(pki["chain"], encrypted, b"correct horse").cert is not None


def test_refuses_unreadable_not_pem_mismatched_and_unusable_inputs(pki, tmp_path):
    missing = tmp_path / "nope.pem"
    with pytest.raises(UsageError, match="Cannot read the signing certificate") as info:
        load_signing_identity(missing, pki["key"])
    assert str(missing) in info.value.message and "--sign-cert" in info.value.hint

    der = tmp_path / "cert.der"
    der.write_bytes(x509.load_pem_x509_certificate(pki["leaf_only"].read_bytes()).public_bytes(serialization.Encoding.DER))
    with pytest.raises(UsageError, match="is not a PEM certificate") as info:
        load_signing_identity(der, pki["key"])
    assert "openssl x509 -inform DER" in info.value.hint

    with pytest.raises(UsageError, match="cannot be read as a PEM private key"):
        load_signing_identity(pki["chain"], pki["chain"])

    other = tmp_path / "other.key"
    other.write_bytes(_key_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    with pytest.raises(UsageError, match="does not belong to the certificate") as info:
        load_signing_identity(pki["chain"], other)
    assert str(other) in info.value.message and str(pki["chain"]) in info.value.message


def _folder(base: Path, name: str) -> Path:
    (base / name).mkdir()
    return base / name


def test_refuses_expired_and_not_yet_valid_and_ed25519(tmp_path):
    expired = make_pki(_folder(tmp_path, "expired"), leaf_days=-1, leaf_start_days=-10)
    with pytest.raises(UsageError, match="expired on"):
        load_signing_identity(expired["chain"], expired["key"])
    future = make_pki(_folder(tmp_path, "future"), leaf_start_days=5)
    with pytest.raises(UsageError, match="is not valid before"):
        load_signing_identity(future["chain"], future["key"])
    ed = make_pki(_folder(tmp_path, "ed25519"), leaf_key=ed25519.Ed25519PrivateKey.generate())
    with pytest.raises(UsageError, match="RSA or EC"):
        load_signing_identity(ed["chain"], ed["key"])


@pytest.mark.parametrize("floor", [13, 14, 15, 26])
def test_payloads_as_data_equal_what_their_custom_settings_xml_reads_back(floor):
    """ws1.profile compares WS1's copy with the payloads as data instead of parsing its own XML: the two must agree
    for every payload odatui writes (tuples become arrays, nested dicts stay dicts)."""
    from odatui.macos.mobileconfig import parse_ws1_custom_settings, plist_data, ws1_custom_settings
    from odatui.macos.payloads import ScepSettings

    settings = PssoSettings(org_host="acme.okta.com", client_id="0oa1b2c3d4e5f6g7h8i9", macos_min=floor,
                            user_principal_name="{EmailAddress}", enable_registration_during_setup=floor == 26,
                            scep=ScepSettings("https://acme.okta.com/pki/scep/x", "s3cret-challenge") if floor > 13
                            else None)
    payloads = all_payloads(settings)
    assert len(payloads) >= 4
    for payload in payloads.values():
        assert plist_data(payload) == parse_ws1_custom_settings(ws1_custom_settings(payload))[0]
    changed = dict(plist_data(next(iter(payloads.values()))), PayloadVersion=2)
    assert changed != parse_ws1_custom_settings(ws1_custom_settings(next(iter(payloads.values()))))[0]
