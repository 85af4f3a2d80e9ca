"""The payload dicts: the exact keys and values Okta documents, per macOS floor (reference/okta.md §1–2)."""

from __future__ import annotations

import uuid

import pytest

from odatui.core.errors import UsageError
from odatui.macos.payloads import (
    KINDS,
    PssoSettings,
    all_payloads,
    associated_domains,
    okta_verify_app_prefs,
    okta_verify_extension_prefs,
    org_host_from_url,
    sso_extension,
)

CLIENT_ID = "0oa1b2c3d4e5f6g7h8i9"


def settings(floor: int = 14, host: str = "acme.okta.com", **kw) -> PssoSettings:
    return PssoSettings(org_host=host, client_id=CLIENT_ID, macos_min=floor, **kw)


def mcx(payload: dict, domain: str) -> dict:
    return payload["PayloadContent"][domain]["Forced"][0]["mcx_preference_settings"]


def test_sso_extension_macos13_uses_top_level_authentication_method():
    p = sso_extension(settings(13))
    assert p["PayloadType"] == "com.apple.extensiblesso"
    assert p["ExtensionIdentifier"] == "com.okta.mobile.auth-service-extension"
    assert p["TeamIdentifier"] == "B7F62B65BN"
    assert p["Type"] == "Redirect"
    assert p["URLs"] == [
        "https://acme.okta.com/device-access/api/v1/nonce",
        "https://acme.okta.com/oauth2/v1/token",
    ]
    assert p["AuthenticationMethod"] == "Password"
    assert "PlatformSSO" not in p
    assert "RegistrationToken" not in p  # Okta attests registration with its SCEP cert; no token needed


@pytest.mark.parametrize("floor", [14, 15, 26])
def test_sso_extension_macos14_plus_uses_platform_sso_dict(floor):
    p = sso_extension(settings(floor, account_display_name="Acme Okta"))
    assert "AuthenticationMethod" not in p
    assert p["PlatformSSO"] == {
        "AuthenticationMethod": "Password",
        "UseSharedDeviceKeys": True,
        "AccountDisplayName": "Acme Okta",
    }
    assert len(p["URLs"]) == 2


def test_registration_during_setup_adds_key_and_device_sign_url_on_macos26():
    p = sso_extension(settings(26, enable_registration_during_setup=True))
    assert p["PlatformSSO"]["EnableRegistrationDuringSetup"] is True
    assert p["URLs"][-1] == "https://acme.okta.com/v1/auth/device-sign"


@pytest.mark.parametrize("floor", [13, 14, 15])
def test_registration_during_setup_is_refused_below_macos26(floor):
    with pytest.raises(UsageError, match="macOS 26"):
        settings(floor, enable_registration_during_setup=True)


def test_sandbox_port_is_kept_everywhere():
    s = settings(14, host="127.0.0.1:8443")
    assert sso_extension(s)["URLs"][0] == "https://127.0.0.1:8443/device-access/api/v1/nonce"
    domains = [c["AssociatedDomains"] for c in associated_domains(s)["Configuration"]]
    assert domains == [["authsrv:127.0.0.1:8443"], ["authsrv:127.0.0.1:8443"]]
    assert mcx(okta_verify_app_prefs(s), "com.okta.mobile")["OktaVerify.OrgUrl"] == "https://127.0.0.1:8443"


def test_associated_domains_list_both_team_prefixed_app_ids():
    p = associated_domains(settings(13))
    assert p["PayloadType"] == "com.apple.associated-domains"
    assert {c["ApplicationIdentifier"]: c["AssociatedDomains"] for c in p["Configuration"]} == {
        "B7F62B65BN.com.okta.mobile.auth-service-extension": ["authsrv:acme.okta.com"],
        "B7F62B65BN.com.okta.mobile": ["authsrv:acme.okta.com"],
    }


@pytest.mark.parametrize(("floor", "version"), [(13, "1.0"), (14, "2.0"), (15, "2.0"), (26, "2.0")])
def test_okta_verify_preferences(floor, version):
    s = settings(floor, user_principal_name="{EmailAddress}")
    app = okta_verify_app_prefs(s)
    ext = okta_verify_extension_prefs(s)
    assert app["PayloadType"] == ext["PayloadType"] == "com.apple.ManagedClient.preferences"
    # client ID and username are scoped to the extension domain only (Okta O2)
    assert mcx(app, "com.okta.mobile") == {"OktaVerify.OrgUrl": "https://acme.okta.com"}
    values = mcx(ext, "com.okta.mobile.auth-service-extension")
    assert values == {
        "OktaVerify.OrgUrl": "https://acme.okta.com",
        "OktaVerify.PasswordSyncClientID": CLIENT_ID,
        "PlatformSSO.ProtocolVersion": version,
        "OktaVerify.UserPrincipalName": "{EmailAddress}",
    }
    assert type(values["PlatformSSO.ProtocolVersion"]) is str


def test_user_principal_name_is_left_out_when_not_given():
    values = mcx(okta_verify_extension_prefs(settings(14)), "com.okta.mobile.auth-service-extension")
    assert "OktaVerify.UserPrincipalName" not in values


def test_uuids_are_deterministic_per_org_and_unique_per_payload():
    first, again = all_payloads(settings(14)), all_payloads(settings(14))
    assert first == again
    uuids = [p["PayloadUUID"] for p in first.values()]
    assert len(set(uuids)) == len(KINDS) - 1 == 4  # no SCEP payload without SCEP settings
    for value in uuids:
        assert str(uuid.UUID(value)).upper() == value
    other_org = all_payloads(settings(14, host="globex.okta.com"))
    assert not set(uuids) & {p["PayloadUUID"] for p in other_org.values()}
    identifiers = [p["PayloadIdentifier"] for p in first.values()]
    assert len(set(identifiers)) == 4
    assert all(i.startswith("odatui.psso.acme.okta.com.") for i in identifiers)


@pytest.mark.parametrize(
    ("given", "host"),
    [
        ("https://acme.okta.com", "acme.okta.com"),
        ("https://ACME.okta.com/", "acme.okta.com"),
        ("acme.okta.com", "acme.okta.com"),
        ("https://login.acme.com:443", "login.acme.com"),
        ("https://127.0.0.1:8443", "127.0.0.1:8443"),
    ],
)
def test_org_host_from_url(given, host):
    assert org_host_from_url(given) == host


@pytest.mark.parametrize(
    ("given", "match"),
    [("http://acme.okta.com", "not https"), ("https://acme.okta.com/oauth2/default", "has a path")],
)
def test_org_host_from_url_refuses(given, match):
    with pytest.raises(UsageError, match=match):
        org_host_from_url(given)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"org_host": "https://acme.okta.com"}, "not a host name"),
        ({"org_host": "acme-admin.okta.com"}, "Admin Console"),
        ({"client_id": "0oa123"}, "does not look like an Okta client ID"),
        ({"client_id": "1oa1b2c3d4e5f6g7h8i9"}, "does not look like"),
        ({"macos_min": 12}, "not supported"),
        ({"user_principal_name": "  "}, "empty"),
    ],
)
def test_bad_settings_are_refused_with_the_fix(kw, match):
    values = {"org_host": "acme.okta.com", "client_id": CLIENT_ID, "macos_min": 14, **kw}
    with pytest.raises(UsageError, match=match) as info:
        PssoSettings(**values)
    assert info.value.hint


def test_settings_are_frozen():
    s = settings()
    with pytest.raises(AttributeError):
        s.org_host = "evil.example.com"  # type: ignore[misc]
