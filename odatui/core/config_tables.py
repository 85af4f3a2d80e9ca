"""The three tables of the answers file, `[okta]`, `[ws1]`, `[rollout]`: their fields, defaults and rules."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from odatui.core.config_fields import (
    Table,
    ca_bundle_file,
    https_origin,
    listed_once,
    loopback_needs_ca,
    nonblank,
    okta_group_names,
)
from odatui.core.config_waves import GateConfig, WaveConfig, check_waves
from odatui.core.domain import (  # one definition, shared with the profiles
    CLIENT_ID_RE,
    DEFAULT_CA_NAME,
    DEFAULT_TEMPLATE_NAME,
    MACOS_FLOORS,
    check_scep_url,
    load_ca_certificate,
)
from odatui.core.errors import UsageError
from odatui.core.psso_options import normalise

WS1_TOKEN_URLS = {
    "na": "https://na.uemauth.workspaceone.com/connect/token",
    "emea": "https://emea.uemauth.workspaceone.com/connect/token",
    "apac": "https://apac.uemauth.workspaceone.com/connect/token",
    "uat": "https://uat.uemauth.workspaceone.com/connect/token",
}
class OktaConfig(Table):
    org_url: str = ""
    auth: Literal["api_token", "service_app", "none"] = "api_token"
    service_app_client_id: str = ""
    client_id: str = ""
    app_label: str = "Platform Single Sign-On for macOS"
    app_id: str = ""
    groups: list[str] = []
    ca_bundle: str = ""
    scep_url: str = ""  # Okta Device Access static SCEP URL (Admin Console only: Okta has no API for it)
    # The Okta intermediate CA (PEM) downloaded from Okta's SCEP configuration, deployed in the certificate
    # profile when rollout.scep = "ws1_ca" (Okta, "Static SCEP for macOS with Workspace ONE", steps 2 and 5).
    scep_ca_certificate: str = ""

    @field_validator("scep_ca_certificate")
    @classmethod
    def _scep_ca(cls, v: str) -> str:
        if not v.strip():
            return ""
        try:
            load_ca_certificate(v.strip())
        except UsageError as exc:
            raise ValueError(f"{exc.message.removeprefix('okta.scep_ca_certificate: ')} {exc.hint}") from None
        return v.strip()

    @field_validator("scep_url")
    @classmethod
    def _scep_url(cls, v: str) -> str:
        if not v:
            return v
        try:
            return check_scep_url(v)
        except UsageError as exc:
            raise ValueError(f"{exc.message.removeprefix('okta.scep_url ')} {exc.hint}") from None

    @field_validator("org_url")
    @classmethod
    def _org_url(cls, v: str) -> str:
        if not v:
            return v
        origin, host = https_origin(v, what="Okta org URL")
        m = re.fullmatch(r"([a-z0-9\-]+)-admin\.((?:okta|oktapreview|okta-emea|okta-gov|okta\.mil)[a-z.\-]*)", host)
        if m:
            raise ValueError(f"that is the Admin Console host; use https://{m.group(1)}.{m.group(2)}")
        return origin

    @field_validator("client_id", "service_app_client_id")
    @classmethod
    def _client_id(cls, v: str) -> str:
        if v and not CLIENT_ID_RE.match(v):
            raise ValueError(
                f"{v!r} is not an Okta client ID: it is '0oa' followed by 17 letters or digits "
                "(copy it from the app's Sign On tab)"
            )
        return v

    @field_validator("app_label")
    @classmethod
    def _label(cls, v: str) -> str:
        return nonblank(v, "app label")

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        return okta_group_names(v)

    @field_validator("ca_bundle")
    @classmethod
    def _ca(cls, v: str) -> str:
        return ca_bundle_file(v)

    @property
    def host(self) -> str:
        return self.org_url.removeprefix("https://")

    @model_validator(mode="after")
    def _cross(self) -> OktaConfig:
        loopback_needs_ca(self.org_url, self.ca_bundle, "okta")
        return self


class Ws1Config(Table):
    api_url: str = ""
    auth: Literal["basic", "oauth"] = "basic"
    username: str = ""
    oauth_client_id: str = ""
    oauth_region: Literal["na", "emea", "apac", "uat"] = "na"
    oauth_token_url: str = ""
    group_id: str = ""
    smart_group: str = ""
    # Waves: the smart groups the app and the profile cover, exactly. `smart_group` alone is a one-item list.
    smart_groups: list[str] = []
    # Create a listed smart group that does not exist (macOS devices of the organization group at or above the
    # macOS floor) instead of stopping for the admin.
    create_smart_groups: bool = False

    @field_validator("create_smart_groups", mode="before")
    @classmethod
    def _strict_bool(cls, v: Any) -> bool:
        # Booleans are booleans: pydantic alone would take "yes", "on", 1 or 0. The text "true"/"false" stays
        # accepted because an ODATUI_WS1__CREATE_SMART_GROUPS environment variable can only be text.
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.strip().lower() in ("true", "false"):
            return v.strip().lower() == "true"
        raise ValueError(f"must be true or false (got {v!r}); write create_smart_groups = true")
    # Per wave group, when its Macs may start installing Okta Verify: ISO date-time in the WS1 admin's time zone
    # (the assignment's effective_date, mamv2 AppAssignmentDistributionV2Model). Profiles have no such date.
    start_dates: dict[str, str] = {}
    ca_bundle: str = ""
    # Client-side rate limit: WS1 requests odatui starts in any one minute, shared by everything one command does
    # (odatui.mdm.ws1.api.pacing; the default is Omnissa's Go SDK's). Lower it when other tools share the tenant's budget.
    requests_per_minute: int = 1000
    # rollout.scep = "ws1_ca": the WS1 certificate authority (Generic SCEP, static challenge) and its request
    # template, made by the admin in the console (2604 has no API to create them; found by name through the
    # picklist APIs).
    certificate_authority: str = DEFAULT_CA_NAME
    certificate_template: str = DEFAULT_TEMPLATE_NAME

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not v:
            return v
        origin, host = https_origin(v, what="Workspace ONE API URL")
        m = re.match(r"^cn(\d+)\.(.+)$", host)
        if m:
            raise ValueError(
                f"{host} is the console host; the REST API lives on the matching API host: use https://as{m.group(1)}.{m.group(2)}"
            )
        return origin

    @field_validator("requests_per_minute")
    @classmethod
    def _rate(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"requests_per_minute must be at least 1 (got {v}); the default is 1000")
        return v

    @field_validator("oauth_token_url")
    @classmethod
    def _token_url(cls, v: str) -> str:
        if not v:
            return v
        origin, _ = https_origin(v, what="OAuth token URL")
        path = urlsplit(v.strip() if "://" in v else "https://" + v.strip()).path.rstrip("/")
        # A trailing slash makes the token service answer 404 (public WS1 OAuth samples warn of it;
        # unverified on docs.omnissa.com), so it is dropped.
        return origin + (path or "/connect/token")

    @field_validator("certificate_authority", "certificate_template")
    @classmethod
    def _cert_names(cls, v: str) -> str:
        return nonblank(v, "certificate authority / template name")

    @field_validator("group_id", "smart_group", "username")
    @classmethod
    def _trim(cls, v: str) -> str:
        return v.strip()

    @field_validator("ca_bundle")
    @classmethod
    def _ca(cls, v: str) -> str:
        return ca_bundle_file(v)

    @field_validator("smart_groups")
    @classmethod
    def _waves(cls, v: list[str]) -> list[str]:
        names = [n.strip() for n in v]
        if any(not n for n in names):
            raise ValueError("smart group names must not be empty")
        return listed_once(names, "smart group")

    @field_validator("start_dates")
    @classmethod
    def _starts(cls, v: dict[str, str]) -> dict[str, str]:
        out = {}
        for name, when in v.items():
            try:
                out[name.strip()] = datetime.fromisoformat(str(when).strip()).replace(tzinfo=None).isoformat()
            except ValueError:
                raise ValueError(f"start date of {name!r} is not a date and time like 2026-12-01T09:00 "
                                 f"(got {when!r})") from None
        return out

    @property
    def wave(self) -> list[str]:
        """The smart groups of this rollout, in order: `smart_groups`, else `smart_group` as a one-item list."""
        return list(self.smart_groups) or ([self.smart_group] if self.smart_group else [])

    @property
    def token_url(self) -> str:
        return self.oauth_token_url or WS1_TOKEN_URLS[self.oauth_region]

    @model_validator(mode="after")
    def _cross(self) -> Ws1Config:
        loopback_needs_ca(self.api_url, self.ca_bundle, "ws1")
        unknown = sorted(set(self.start_dates) - set(self.wave))
        if unknown:
            raise ValueError(f"start_dates names {unknown[0]!r}, which is not one of the smart groups; "
                             "list it in smart_groups or drop its start date")
        return self


class RolloutConfig(Table):
    package: str = ""
    macos_min: int = 14
    profile_name: str = "Okta Platform SSO"
    user_principal_name: str = ""
    export_dir: str = ""
    # Floors ≥ 14: "ws1_ca" (default) deploys Okta's Device Access certificate through a WS1 certificate authority
    # and template in its own profile (Okta, "Static SCEP for macOS with Workspace ONE"); "static" puts the SCEP
    # payload with the challenge into the Platform SSO profile (okta.scep_url + okta.scep_challenge; for other
    # MDMs' exports); "elsewhere": the admin deploys that certificate with another profile. Floor 13 needs none.
    scep: Literal["ws1_ca", "static", "elsewhere"] = "ws1_ca"
    psso: dict[str, Any] = {}  # [rollout.psso]: odatui.core.psso_options, gated by macos_min
    waves: list[WaveConfig] = []  # [[rollout.waves]]: a staged rollout (odatui.core.config_waves)
    gate: GateConfig = GateConfig()  # [rollout.gate]: when the next wave gets the profile
    # Set for one run by `odatui apply --advance-wave NAME --yes`; never written to the answers file.
    advance_wave: str = Field("", exclude=True)
    # Set for one run by `odatui apply --allow-downgrade`; never written to the answers file.
    allow_downgrade: bool = Field(False, exclude=True)

    @field_validator("package")
    @classmethod
    def _package(cls, v: str) -> str:
        if not v:
            return v
        path = Path(v).expanduser()
        if not path.is_file():
            raise ValueError(f"no file at {path}; download the Okta Verify .pkg and give its path")
        if not os.access(path, os.R_OK):
            raise ValueError(f"{path} is not readable by this user; fix its permissions (chmod o+r) or copy it")
        return str(path)

    @field_validator("macos_min", mode="before")
    @classmethod
    def _floor(cls, v: Any) -> int:
        try:
            n = int(str(v).strip())
        except ValueError:
            raise ValueError(f"macOS floor must be one of 13, 14, 15, 26 (got {v!r})") from None
        if n not in MACOS_FLOORS:
            raise ValueError(f"macOS floor must be one of 13, 14, 15, 26 (got {n})")
        return n

    @field_validator("profile_name")
    @classmethod
    def _name(cls, v: str) -> str:
        return nonblank(v, "profile name")

    @field_validator("waves")
    @classmethod
    def _waves(cls, v: list[WaveConfig]) -> list[WaveConfig]:
        check_waves(v)
        return v

    @field_validator("psso")
    @classmethod
    def _psso(cls, v: dict[str, Any], info: Any) -> dict[str, Any]:
        try:
            return normalise(v, info.data.get("macos_min"))
        except UsageError as exc:
            raise ValueError(f"{exc.message.removeprefix('rollout.psso.').replace(': ', ' ', 1)}; {exc.hint}") from None
