"""Okta's Device Access certificate through a Workspace ONE certificate authority (rollout.scep = "ws1_ca"), against
the sandbox over real HTTPS: the console step odatui asks for, the separate certificate profile created before the
Platform SSO profile, the challenge that never leaves the WS1 console, a wrong challenge failing only the
certificate profile on the Macs, renewal, migration of an embedded SCEP payload, removal, the export for other
MDMs and bad input."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import plistlib
import ssl
import stat
from types import SimpleNamespace

import httpx
import pytest
from apple_schema import AppleSchema
from rollout import demo_factory, odatui_cli  # noqa: F401 - demo_factory is a fixture

from conftest import vendor_path
from odatui.core.config import parse_config, save_config
from odatui.core.errors import OdatuiError
from odatui.macos import certificate
from odatui.macos.payloads import PssoSettings, ScepSettings
from odatui.cli.remove import cmd_remove
from odatui.service.setup import make_engine
from odatui.mdm.ws1.emulator.cert_authorities import SCEP_ENTITY_KEYS, CertificateAuthorities
from odatui.sandbox.credentials import OKTA_SCEP_CHALLENGE
from odatui.service.devices import ids_from_outputs, list_devices
from odatui.service.status import rollout_status
from odatui.service.profiles import build_files, certificate_file, export_from_values
from odatui.core.state import StateStore
from odatui.mdm.ws1.api.device_rows import FAILED, INSTALLED, PENDING, judge_certificate

CA, TEMPLATE = "Okta Device Access", "Okta Device Access"
CERT_PROFILE = "Okta Platform SSO - Device Access certificate"
CLIENT_ID = "0oa1b2c3d4e5f6g7h8i9"


@pytest.fixture
def session(demo_factory, sandbox_env):  # noqa: F811 - the fixture imported above
    return demo_factory()


def config_for(session, **rollout):
    data = session.sandbox.config_dict()
    data["rollout"].update({"package": str(session.package), "scep": "ws1_ca", **rollout})
    config = parse_config(data, source="test")
    save_config(config, session.config_path)
    return config


def apply(session, config):
    return asyncio.run(make_engine(config, session.secrets).run())


def _tls(session):
    return ssl.create_default_context(cafile=str(session.sandbox.ca_path))


def add_ca(session, **body):
    """The admin adds the CA and its template in the WS1 console (the sandbox's admin route)."""
    with httpx.Client(verify=_tls(session)) as client:
        r = client.post(session.sandbox.url + "/_sandbox/ws1/certificate-authorities",
                        json={"name": CA, "templates": [TEMPLATE], **body})
    assert r.status_code == 201, r.text
    return r.json()


def advance(session, seconds):
    with httpx.Client(verify=_tls(session)) as client:
        client.post(session.sandbox.url + "/_sandbox/ws1/clock", json={"advance_s": seconds}).raise_for_status()


def requests_log(session):
    with httpx.Client(verify=_tls(session)) as client:
        return client.get(session.sandbox.url + "/_sandbox/requests").json()["requests"]


def profiles(session):
    return {p["name"]: p for p in session.sandbox.state()["ws1"]["profiles"]}


def custom_types(profile):
    return [plistlib.loads(f'<plist version="1.0">{e["CustomSettings"]}</plist>'.encode())["PayloadType"]
            for e in profile["body"].get("CustomSettingsList") or []]


# ------------------------------------------------------------------------------------------ done when 1


def test_without_the_ca_exit_3_names_the_console_clicks_then_two_profiles_certificate_first(session):
    config = config_for(session)
    result = apply(session, config)
    assert result.exit_code == 3
    record = StateStore(config.target_key()).load().steps["ws1.certificate"]
    for words in ("Generic SCEP", "Static", "{DeviceUid}", "2048", "Signing", "Automatic Certificate Renewal ON",
                  "Publish Private Key OFF", "Security → Device Integrations", CA):
        assert words in record.last_error, words
    assert result.summary["ws1.profile"] == "skipped" and profiles(session) == {}  # no SSO profile without it

    ca = add_ca(session)
    assert apply(session, config).exit_code == 0
    found = profiles(session)
    assert set(found) == {CERT_PROFILE, "Okta Platform SSO"}
    cert, sso = found[CERT_PROFILE], found["Okta Platform SSO"]
    assert cert["id"] < sso["id"]  # created first (ids grow with each create)
    creates = [r["n"] for r in requests_log(session) if r["path"].endswith("/appleosx/create")]
    assert len(creates) == 2
    assert cert["body"]["ScepList"] == [{
        "CredentialSource": certificate.CREDENTIAL_SOURCE, "CertificateAuthorityId": ca["id"],
        "CertificateTemplateId": ca["templates"][0]["id"], "Name": "Okta Device Access certificate",
        "AllowExportFromKeyChain": False}]
    assert cert["body"]["General"]["ProfileContext"] == "Device"
    assert cert["body"]["General"]["AllowRemoval"] == "Never"  # removal protection (Fleet's Okta example)
    assert "com.apple.security.scep" not in custom_types(sso) and not sso["body"].get("ScepList")
    # The challenge never left the WS1 console: not in the state, not in any recorded request.
    state_text = json.dumps(session.sandbox.state())
    assert OKTA_SCEP_CHALLENGE not in state_text and OKTA_SCEP_CHALLENGE not in json.dumps(requests_log(session))
    outputs = StateStore(config.target_key()).load().outputs()["ws1.certificate"]
    assert outputs["certificate_profile_id"] == cert["id"] and outputs["certificate_profile_uuid"] == cert["uuid"]

    # A second run changes nothing.
    before = session.sandbox.world.requests_total
    assert apply(session, config).exit_code == 0
    writes = [r for r in requests_log(session) if r["n"] > before and r["method"] in ("POST", "PUT", "DELETE")
              and not r["path"].endswith("/token")]
    assert writes == []


def test_a_template_that_does_not_exist_needs_action_naming_the_field(session):
    add_ca(session, templates=["Some other template"])
    config = config_for(session)
    assert apply(session, config).exit_code == 3
    error = StateStore(config.target_key()).load().steps["ws1.certificate"].last_error
    assert "no request template named 'Okta Device Access' (ws1.certificate_template)" in error
    assert profiles(session) == {}


# ------------------------------------------------------------------------------------------ done when 2


def test_a_wrong_challenge_fails_only_the_certificate_profile_and_status_says_which_macs_and_why(session):
    add_ca(session, challenge="not-what-okta-generated")
    config = config_for(session)
    assert apply(session, config).exit_code == 0  # odatui cannot see the challenge: the Macs find out
    advance(session, 3600)
    ws1 = session.sandbox.world.emulators["ws1"]
    found = profiles(session)
    cert_p, sso_p = ws1.profiles[found[CERT_PROFILE]["id"]], ws1.profiles[found["Okta Platform SSO"]["id"]]
    reached = [d for d in ws1.fleet.members() if ws1.fleet.reached(d, "profile", sso_p["assigned_at"])
               and not d.profile_fails]
    assert reached
    assert all(ws1.profile_installed(sso_p, d) and not ws1.profile_installed(cert_p, d)
               and ws1.profile_failed(cert_p, d) for d in reached)

    ids = ids_from_outputs(StateStore(config.target_key()).load().outputs())
    rows = []
    summary = asyncio.run(list_devices(config, session.secrets, ids, lambda r, p: rows.extend(r)))
    by_id = {r.id: r for r in rows}
    for device in reached:
        row = by_id[device.id]
        assert row.profile == INSTALLED and row.certificate == FAILED
        assert any("rejected the challenge" in reason and CA in reason for reason in row.reasons), row.reasons
    # Every Mac the certificate profile reached, the ones whose SSO profile broke for other reasons included.
    assert summary.certificate[FAILED] == sum(ws1.fleet.reached(d, "profile", cert_p["assigned_at"])
                                              for d in ws1.fleet.members())

    # Bulk only (the default at scale): the Macs without the certificate are still named, with what to run.
    rows = []
    asyncio.run(list_devices(config, session.secrets, ids, lambda r, p: rows.extend(r), per_device=False))
    lacking = {r.id for r in rows if r.certificate == PENDING}
    assert {d.id for d in reached} <= lacking
    by_id = {r.id: r for r in rows}
    for device in reached:  # the SSO profile installed, the certificate profile not: it most likely failed
        assert "certificate profile most likely failed" in " ".join(by_id[device.id].reasons)
        assert "--device ID" in " ".join(by_id[device.id].reasons)
    assert all("no Device Access certificate" in " ".join(r.reasons) for r in rows if r.id in lacking)

    # The install share a wave's gate reads: the SSO profile on Macs, the certificate profile on none.
    outputs = StateStore(config.target_key()).load().outputs()
    roll = asyncio.run(rollout_status(config, session.secrets, outputs, okta=False))
    assert roll["certificate_installed"] == 0 and roll["profile_installed"] > 0

    # Without the certificate no Mac can register for Desktop Password Sync (Okta's registered devices).
    okta = session.sandbox.world.emulators["okta"]
    assert okta.org_routes._fleet_devices() == []

    # The admin fixes the challenge in the CA: the Macs get the certificate.
    add_ca(session)
    advance(session, 1)
    assert all(ws1.profile_installed(cert_p, d) for d in reached)
    roll = asyncio.run(rollout_status(config, session.secrets, outputs, okta=False))
    assert roll["certificate_installed"] >= len(reached)
    advance(session, 2)  # a new listing second: the Okta side sees the certificates
    assert okta.org_routes._fleet_devices()


def test_judge_certificate_by_ca_and_template_names_not_by_guessing():
    now = dt.datetime(2026, 12, 6, tzinfo=dt.UTC).timestamp()
    names = (TEMPLATE, "ACME WS1 CA")
    theirs = {"Name": "okta-fastpass", "IssuedBy": "Okta CA", "ExpiresOn": "2027-12-01T00:00:00", "Status": "Active"}
    ours = {"Name": TEMPLATE, "IssuedBy": "ACME WS1 CA", "ExpiresOn": "2026-12-20T00:00:00", "Status": "Active"}
    assert judge_certificate(True, True, None, names, now) == (INSTALLED, None, None)  # bulk: the profile says it
    state, _, reason = judge_certificate(True, True, [theirs], names, now)
    assert state == "absent" and "no certificate from" in reason  # another "Okta" certificate is not ours
    state, expires, reason = judge_certificate(True, True, [theirs, ours], names, now)
    assert (state, expires) == (INSTALLED, "2026-12-20T00:00:00") and "expires in 14 days" in reason
    expired = {**ours, "ExpiresOn": "2026-11-01T00:00:00"}
    assert judge_certificate(True, True, [expired], names, now)[0] == FAILED
    assert judge_certificate(False, False, None, names, now)[2].endswith("not assigned to this Mac")


# ------------------------------------------------------------------------------------------ renewal


def test_the_template_renews_before_expiry_and_without_renewal_the_certificate_expires():
    cas = CertificateAuthorities(OKTA_SCEP_CHALLENGE)
    renewing = cas.add(CA, [TEMPLATE], OKTA_SCEP_CHALLENGE, 570)
    manual = cas.add("No renewal", [{"name": "Manual", "auto_renewal": False}], OKTA_SCEP_CHALLENGE, 570)
    device = SimpleNamespace(id=10001)
    wall = dt.datetime(2026, 12, 6, tzinfo=dt.UTC).timestamp()
    later = 400 * 86400  # past the one-year lifetime
    fresh = cas.certificate(renewing, next(iter(renewing.templates.values())), device, 0.0, later, wall)
    stale = cas.certificate(manual, next(iter(manual.templates.values())), device, 0.0, later, wall)
    assert fresh["Status"] == "Active" and fresh["ExpiresOn"] > dt.datetime.fromtimestamp(wall, dt.UTC).isoformat()
    assert stale["Status"] == "Expired"


def test_renewal_in_the_sandbox_keeps_every_mac_certified_a_year_on(session):
    add_ca(session)
    config = config_for(session)
    assert apply(session, config).exit_code == 0
    advance(session, 400 * 86400)
    ids = ids_from_outputs(StateStore(config.target_key()).load().outputs())
    rows = []
    asyncio.run(list_devices(config, session.secrets, ids, lambda r, p: rows.extend(r)))
    installed = [r for r in rows if r.certificate == INSTALLED]
    assert installed and all(r.certificate_expires for r in installed)
    assert not any("Device Access certificate failed" in " ".join(r.reasons) for r in rows)


# ------------------------------------------------------------------------------------------ migration, removal


def test_an_sso_profile_with_the_embedded_scep_payload_is_migrated_certificate_profile_first(session):
    static = config_for(session, scep="static")
    assert apply(session, static).exit_code == 0
    sso_id = profiles(session)["Okta Platform SSO"]["id"]
    assert "com.apple.security.scep" in custom_types(profiles(session)["Okta Platform SSO"])
    before = session.sandbox.world.requests_total

    add_ca(session)
    assert apply(session, config_for(session)).exit_code == 0
    found = profiles(session)
    assert found["Okta Platform SSO"]["id"] == sso_id  # updated in place, not replaced
    assert "com.apple.security.scep" not in custom_types(found["Okta Platform SSO"])
    writes = [r["path"] for r in requests_log(session) if r["n"] > before and r["method"] == "POST"
              and "/appleosx/" in r["path"]]
    assert writes == ["/api/mdm/profiles/platforms/appleosx/create", "/api/mdm/profiles/platforms/appleosx/update"]


def test_remove_deletes_the_certificate_profile_too_after_the_sso_profile(session):
    add_ca(session)
    assert apply(session, config_for(session)).exit_code == 0
    ids = {name: p["id"] for name, p in profiles(session).items()}
    before = session.sandbox.world.requests_total
    out = io.StringIO()
    code = cmd_remove(SimpleNamespace(config=str(session.config_path), yes=True, include_adopted=False), out=out)
    assert code == 0, out.getvalue()
    assert CERT_PROFILE in out.getvalue() and profiles(session) == {}
    deletes = [r["path"] for r in requests_log(session) if r["n"] > before and r["method"] == "DELETE"
               and "/mdm/profiles/" in r["path"]]
    assert deletes == [f"/api/mdm/profiles/{ids['Okta Platform SSO']}", f"/api/mdm/profiles/{ids[CERT_PROFILE]}"]


# ------------------------------------------------------------------------------------------ the sandbox disagrees


@pytest.mark.parametrize("change, words", [
    ({"Challenge": "x"}, "Unknown SCEP payload fields: Challenge"),
    ({"CertificateAuthorityId": 999}, "Certificate Authority 999 not found"),
    ({"CertificateAuthorityId": True}, "must be integers"),
    ({"CertificateTemplateId": 999}, "does not belong"),
    ({"CredentialSource": "Upload"}, "CredentialSource"),
])
def test_the_sandbox_refuses_a_native_scep_payload_outside_the_2604_model(sandbox, sandbox_env, change, words):
    from odatui.mdm.ws1.api.client import Ws1Client
    from odatui.mdm.ws1.api.errors import Ws1ApiError

    ws1 = sandbox.world.emulators["ws1"]
    ca = ws1.cas.add(CA, [TEMPLATE], OKTA_SCEP_CHALLENGE, 570)
    ref = certificate.CertificateAuthorityRef(ca.id, CA, next(iter(ca.templates)), TEMPLATE)
    body = certificate.ws1_body(certificate.Org("acme.okta.com"), ref, None, name="x", og_id=570,
                                smart_groups=[])
    body["ScepList"][0].update(change)
    config = parse_config(sandbox.config_dict(), source="test")

    async def go():
        client = Ws1Client.from_config(config.ws1, __import__("odatui.core.secrets", fromlist=["x"]).SecretStore())
        try:
            with pytest.raises(Ws1ApiError) as err:
                await client.profiles.create_macos_profile(body)
            return str(err.value)
        finally:
            await client.aclose()

    assert words in asyncio.run(go())
    assert ws1.profiles == {}


def test_the_sandbox_knows_every_key_of_the_2604_scep_entity():
    swagger = json.loads(vendor_path("ws1", "2604", "mdmv2.json").read_text())
    assert set(swagger["definitions"]["AppleOsXScepPayloadEntity"]["properties"]) == SCEP_ENTITY_KEYS
    assert set(certificate.native_scep_entry(certificate.CertificateAuthorityRef(1, "a", 2, "b"))) <= SCEP_ENTITY_KEYS


# ------------------------------------------------------------------------------------------ export (done when 3)


def _ca_pem(tmp_path, *, ca=True, days=365, name="ca.pem"):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Okta Device Access Intermediate CA")])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=2))
               .not_valid_after(now + dt.timedelta(days=days)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    cert = builder.sign(key, hashes.SHA256())
    path = tmp_path / name
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, cert.public_bytes(serialization.Encoding.DER)


def test_the_export_writes_the_certificate_profile_separately_schema_valid_and_0600(tmp_path):
    scep = ScepSettings("https://acme.okta.com/pki/scep/abc", "s3cret&<key>")
    paths = export_from_values("https://acme.okta.com", CLIENT_ID, 14, "{EmailAddress}", tmp_path / "out",
                               scep=scep, certificate_apart=True)
    names = {p.name: p for p in paths}
    settings = PssoSettings.from_org_url("https://acme.okta.com", CLIENT_ID, 14)
    cert_path = names[certificate_file(settings)]
    assert stat.S_IMODE(os.stat(cert_path).st_mode) == 0o600
    profile = plistlib.loads(cert_path.read_bytes())
    report = AppleSchema().validate_profile(profile, macos="14.0", channel="device")
    assert report.errors == [], str(report)
    assert profile["PayloadRemovalDisallowed"] is True
    assert [p["PayloadType"] for p in profile["PayloadContent"]] == ["com.apple.security.scep"]
    assert profile["PayloadContent"][0]["PayloadContent"]["Challenge"] == "s3cret&<key>"
    # The Platform SSO files hold no SCEP payload and are not private.
    for name, path in names.items():
        if path != cert_path and name.endswith(".mobileconfig"):
            assert b"com.apple.security.scep" not in path.read_bytes(), name
            assert stat.S_IMODE(os.stat(path).st_mode) != 0o600, name
    assert certificate_file(settings) in names["README.txt"].read_text()


def test_the_exported_certificate_profile_carries_okta_intermediate_ca(tmp_path):
    pem, der = _ca_pem(tmp_path)
    scep = ScepSettings("https://acme.okta.com/pki/scep/abc", "secret")
    settings = PssoSettings.from_org_url("https://acme.okta.com", CLIENT_ID, 14, scep=scep)
    files = build_files(settings, certificate_apart=True, ca_der=der)
    profile = plistlib.loads(files[certificate_file(settings)])
    assert [p["PayloadType"] for p in profile["PayloadContent"]] == ["com.apple.security.pkcs1",
                                                                     "com.apple.security.scep"]
    assert profile["PayloadContent"][0]["PayloadContent"] == der  # the CA first, then the certificate


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize("kind, words", [
    ("missing", "no file at"),
    ("not-pem", "is not a PEM certificate"),
    ("not-ca", "is not a CA certificate"),
    ("expired", "is valid only from"),
])
def test_a_bad_ca_certificate_is_one_line_naming_the_field_exit_2_nothing_sent(sandbox, sandbox_env, tmp_path,
                                                                              kind, words):
    if kind == "missing":
        path = tmp_path / "nope.pem"
    elif kind == "not-pem":
        path = tmp_path / "ca.der"
        path.write_bytes(b"\x30\x82 not pem")
    elif kind == "not-ca":
        path, _ = _ca_pem(tmp_path, ca=False)
    else:
        path, _ = _ca_pem(tmp_path, days=-1)
    data = sandbox.config_dict()
    data["okta"]["scep_ca_certificate"] = str(path)
    data["rollout"]["scep"] = "ws1_ca"
    with pytest.raises(OdatuiError) as err:
        parse_config(data, source="test")
    assert "scep_ca_certificate" in err.value.message and words in err.value.message

    import tomli_w

    cfg_path = tmp_path / "odatui.toml"
    cfg_path.write_text(tomli_w.dumps(data))
    before = sandbox.world.requests_total
    run = odatui_cli("plan", "--config", str(cfg_path))
    assert run.returncode == 2, run.stderr
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    assert "scep_ca_certificate" in lines[0] and "Traceback" not in run.stderr
    assert sandbox.world.requests_total == before  # nothing sent


def test_static_is_an_explicit_choice_with_a_plan_warning_naming_its_risks(session):
    run = odatui_cli("plan", "--json", "--config", str(config_for(session, scep="static") and session.config_path))
    assert run.returncode == 0, run.stderr
    profile = next(r for r in json.loads(run.stdout) if r["id"] == "ws1.profile")
    warning = next(w for w in profile["warnings"] if "rollout.scep" in w)
    for risk in ("rolls back the whole profile", "expires unrenewed", "read the secret", "intermediate CA"):
        assert risk in warning, risk
    run = odatui_cli("plan", "--json", "--config", str(config_for(session) and session.config_path))
    rows = {r["id"]: r for r in json.loads(run.stdout)}
    assert not any("rollout.scep" in w for w in rows["ws1.profile"]["warnings"])
    assert rows["ws1.certificate"]["change"] == "needs-action" and "Generic SCEP" in rows["ws1.certificate"]["action"]


def test_the_wave_gate_counts_the_certificate_profile_as_a_prerequisite():
    from odatui.core.config_waves import GateConfig
    from odatui.mdm.ws1.steps.wave_gate import prerequisites

    outputs = {"ws1.upload": {"app_id": 3001},
               "ws1.certificate": {"certificate_profile_id": 901, "certificate_profile_uuid": "u"}}
    found = {p.label: p for p in prerequisites(GateConfig(), outputs)}
    assert found["certificate profile"].profile_id == 901
    assert "certificate profile" not in {p.label for p in prerequisites(GateConfig(), {"ws1.upload": {}})}


@pytest.mark.parametrize("challenge_ok", [False, True])
def test_a_wave_gets_the_sso_profile_only_once_its_macs_hold_the_certificate(demo_factory, sandbox_env,  # noqa: F811
                                                                             challenge_ok):
    from test_waves import advance_clock, healthy_serials, waves_config

    session = demo_factory()
    add_ca(session, **({} if challenge_ok else {"challenge": "typo"}))
    config = waves_config(session, healthy_serials(session))
    data = config.to_toml_dict()
    data["rollout"]["scep"] = "ws1_ca"
    config = parse_config(data, source="test")
    save_config(config, session.config_path)
    assert apply(session, config).exit_code == 0
    cert = profiles(session)[CERT_PROFILE]  # at once, to every wave: it precedes the gated SSO profile
    assert len(cert["body"]["General"]["AssignedSmartGroups"]) == 2
    advance_clock(session, 1300)  # Okta Verify and the certificate profile reach the Pilot Macs (or fail there)
    assert apply(session, config).exit_code == 0
    waves = {w["wave"]: w for w in StateStore(config.target_key()).load().outputs()["ws1.profile"]["waves"]}
    sso_groups = profiles(session)["Okta Platform SSO"]["body"]["General"]["AssignedSmartGroups"]
    if challenge_ok:
        assert waves["Pilot"]["gate"] != "gated" and len(sso_groups) == 1
    else:
        assert waves["Pilot"]["gate"] == "gated" and "certificate profile on 0%" in waves["Pilot"]["reason"]
        assert sso_groups == []


def test_odatui_export_with_ws1_ca_writes_the_certificate_profile_apart(sandbox, sandbox_env, tmp_path):
    import tomli_w

    pem, der = _ca_pem(tmp_path)
    data = sandbox.config_dict()
    data["okta"].update(client_id=CLIENT_ID, scep_ca_certificate=str(pem))
    data["rollout"]["scep"] = "ws1_ca"
    cfg_path = tmp_path / "odatui.toml"
    cfg_path.write_text(tomli_w.dumps(data))
    run = odatui_cli("export", "--out", str(tmp_path / "out"), "--config", str(cfg_path))
    assert run.returncode == 0, run.stderr
    [cert] = list((tmp_path / "out").glob("*-device-access-certificate.mobileconfig"))
    assert stat.S_IMODE(os.stat(cert).st_mode) == 0o600 and f"{cert.name} (0600" in run.stdout
    profile = plistlib.loads(cert.read_bytes())
    assert [p["PayloadType"] for p in profile["PayloadContent"]] == ["com.apple.security.pkcs1",
                                                                     "com.apple.security.scep"]
    assert profile["PayloadContent"][0]["PayloadContent"] == der
    assert profile["PayloadContent"][1]["PayloadContent"]["Challenge"] == OKTA_SCEP_CHALLENGE
    for other in (tmp_path / "out").glob("*.mobileconfig"):
        if other != cert:
            assert OKTA_SCEP_CHALLENGE.encode() not in other.read_bytes(), other.name


def test_the_wizard_run_polls_until_the_admin_adds_the_ca_then_carries_on(session):
    from odatui.core.events import StepNeedsAction

    config = config_for(session)
    engine = make_engine(config, session.secrets, interactive=True, poll_interval=(0.2, 0.5))
    seen = []

    def on_event(event):
        if isinstance(event, StepNeedsAction) and event.step_id == "ws1.certificate":
            seen.append(event)
            if len(seen) == 2:  # polled once without the CA; now the admin adds it in the console
                add_ca(session)

    result = asyncio.run(engine.run(on_event=on_event))
    assert result.exit_code == 0 and all(e.polling for e in seen) and len(seen) == 2
    assert set(profiles(session)) == {CERT_PROFILE, "Okta Platform SSO"}



def test_the_plan_warns_when_okta_intermediate_ca_expires_soon(session, tmp_path):
    add_ca(session)
    soon, _ = _ca_pem(tmp_path, days=10, name="soon.pem")
    later, _ = _ca_pem(tmp_path, days=400, name="later.pem")
    rows = {}
    for name, path in (("soon", soon), ("later", later)):
        data = config_for(session).to_toml_dict()
        data["okta"]["scep_ca_certificate"] = str(path)
        plan = asyncio.run(make_engine(parse_config(data, source="test"), session.secrets).plan())
        rows[name] = next(r for r in plan if r.step_id == "ws1.certificate").change
    assert any("expires in 9 days" in d or "expires in 10 days" in d for d in rows["soon"].details)
    assert not any("expires in" in d for d in rows["later"].details)
    assert any("included (okta.scep_ca_certificate)" in d for d in rows["later"].details)


def test_with_static_scep_a_wrong_secret_rolls_back_the_whole_sso_profile(session):
    """Why ws1_ca exists: the SCEP payload inside the SSO profile takes Platform SSO down with it (fleet-safety.md,
    the `profiled` field report), which the sandbox models."""
    from odatui.core.secrets import SecretStore

    config = config_for(session, scep="static")
    secrets = SecretStore(use_keychain=False, values={"okta.scep_challenge": "reset-in-okta"})  # the rest from env
    assert asyncio.run(make_engine(config, secrets).run()).exit_code == 0
    advance(session, 3600)
    ws1 = session.sandbox.world.emulators["ws1"]
    [sso] = ws1.profiles.values()
    reached = [d for d in ws1.fleet.members() if ws1.fleet.reached(d, "profile", ws1.profile_at(sso, d))]
    assert reached and not any(ws1.profile_installed(sso, d) for d in reached)
    assert all(ws1.profile_failed(sso, d) for d in reached)
