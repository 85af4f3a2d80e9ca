"""The rollout's answers: `[okta]`, `[ws1]`, `[rollout]` from TOML, with `ODATUI_<TABLE>__<FIELD>` env overrides.

Values may be empty while the wizard is still collecting them; `Config.missing(...)` names what a command still
needs. Every rule gives one message per field that names the fix. Secrets are never part of this model.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from odatui.domain import CLIENT_ID_RE, MACOS_FLOORS, check_scep_url  # one definition, shared with the profiles
from odatui.errors import ConfigError, OdatuiError, UsageError
from odatui.files import CA_LIMIT, CONFIG_LIMIT, atomic_writer, read_bounded, read_text_bounded, write_error
from odatui.paths import default_config_path
from odatui.psso_options import normalise

WS1_TOKEN_URLS = {
    "na": "https://na.uemauth.workspaceone.com/connect/token",
    "emea": "https://emea.uemauth.workspaceone.com/connect/token",
    "apac": "https://apac.uemauth.workspaceone.com/connect/token",
    "uat": "https://uat.uemauth.workspaceone.com/connect/token",
}
# Keys that look like secrets: refused in the file so nobody is tempted to keep a token next to the answers.
SECRET_KEYS = {"api_token", "private_key", "password", "tenant_code", "client_secret", "token", "secret",
               "scep_challenge"}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _https_origin(value: str, *, what: str) -> tuple[str, str]:
    """Normalise a pasted URL to `https://host[:port]`; returns (origin, hostname)."""
    raw = value.strip()
    # urlsplit drops tabs and line breaks anywhere (WHATWG URL rules), so "https://acme\n.evil.com" would silently
    # become another host: refuse every space or control character instead of letting it be rewritten.
    bad = next((c for c in raw if ord(c) <= 0x20 or 0x7F <= ord(c) <= 0x9F), None)
    if bad is not None:
        raise ValueError(f"{what} contains {'a space' if bad == ' ' else f'the control character U+{ord(bad):04X}'} "
                         f"(got {value!r}); give it like https://host.example.com")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    if parts.scheme.lower() != "https":
        raise ValueError(f"{what} must use https (got {parts.scheme}://); use https://{parts.netloc or '…'}")
    if parts.username or parts.password:
        raise ValueError(f"{what} must not contain a user name or password; give just https://host")
    host = (parts.hostname or "").lower()
    if not host or not re.fullmatch(r"[a-z0-9.\-]+|\[?[0-9a-f:]+\]?", host) or ".." in host:
        raise ValueError(f"{what} has no valid host name (got {value!r}); give it like https://host.example.com")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{what} has an invalid port (got {value!r})") from None
    if port == 0 or parts.netloc.endswith(":"):  # port 0 means "any port" to a socket; "host:" drops it silently
        raise ValueError(f"{what} has an invalid port (got {value!r}); give 1–65535 or leave it out")
    # An IPv6 literal keeps its brackets, or "https://::1:8443" would no longer parse as a host and a port.
    netloc = f"[{host}]" if ":" in host else host
    origin = f"https://{netloc}" + (f":{port}" if port and port != 443 else "")
    return origin, host


def _nonblank(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{what} must not be empty")
    return value


class _Table(BaseModel):
    # Unknown keys in the file are caught earlier with a "did you mean" message; env secrets are ignored here.
    model_config = ConfigDict(extra="ignore", validate_assignment=True, str_strip_whitespace=True)


class OktaConfig(_Table):
    org_url: str = ""
    auth: Literal["api_token", "service_app", "none"] = "api_token"
    service_app_client_id: str = ""
    client_id: str = ""
    app_label: str = "Platform Single Sign-On for macOS"
    app_id: str = ""
    groups: list[str] = []
    ca_bundle: str = ""
    scep_url: str = ""  # Okta Device Access static SCEP URL (Admin Console only: Okta has no API for it)

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
        origin, host = _https_origin(v, what="Okta org URL")
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
        return _nonblank(v, "app label")

    @field_validator("groups")
    @classmethod
    def _groups(cls, v: list[str]) -> list[str]:
        cleaned = [g.strip() for g in v]
        if any(not g for g in cleaned):
            raise ValueError("Okta group names must not be empty; remove the blank entry")
        return list(dict.fromkeys(cleaned))

    @field_validator("ca_bundle")
    @classmethod
    def _ca(cls, v: str) -> str:
        return _ca_bundle(v)

    @property
    def host(self) -> str:
        return self.org_url.removeprefix("https://")

    @model_validator(mode="after")
    def _cross(self) -> OktaConfig:
        _loopback_needs_ca(self.org_url, self.ca_bundle, "okta")
        return self


class Ws1Config(_Table):
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
    # Per wave group, when its Macs may start installing Okta Verify: ISO date-time in the WS1 admin's time zone
    # (the assignment's effective_date, mamv2 AppAssignmentDistributionV2Model). Profiles have no such date.
    start_dates: dict[str, str] = {}
    ca_bundle: str = ""

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not v:
            return v
        origin, host = _https_origin(v, what="Workspace ONE API URL")
        m = re.match(r"^cn(\d+)\.(.+)$", host)
        if m:
            raise ValueError(
                f"{host} is the console host; the REST API lives on the matching API host: use https://as{m.group(1)}.{m.group(2)}"
            )
        return origin

    @field_validator("oauth_token_url")
    @classmethod
    def _token_url(cls, v: str) -> str:
        if not v:
            return v
        origin, _ = _https_origin(v, what="OAuth token URL")
        path = urlsplit(v.strip() if "://" in v else "https://" + v.strip()).path.rstrip("/")
        # A trailing slash makes the token service answer 404 (public WS1 OAuth samples warn of it;
        # unverified on docs.omnissa.com), so it is dropped.
        return origin + (path or "/connect/token")

    @field_validator("group_id", "smart_group", "username")
    @classmethod
    def _trim(cls, v: str) -> str:
        return v.strip()

    @field_validator("ca_bundle")
    @classmethod
    def _ca(cls, v: str) -> str:
        return _ca_bundle(v)

    @field_validator("smart_groups")
    @classmethod
    def _waves(cls, v: list[str]) -> list[str]:
        names = [n.strip() for n in v]
        if any(not n for n in names):
            raise ValueError("smart group names must not be empty")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"smart group {dupes[0]!r} is listed twice; list each group once")
        return names

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
        _loopback_needs_ca(self.api_url, self.ca_bundle, "ws1")
        unknown = sorted(set(self.start_dates) - set(self.wave))
        if unknown:
            raise ValueError(f"start_dates names {unknown[0]!r}, which is not one of the smart groups; "
                             "list it in smart_groups or drop its start date")
        return self


class RolloutConfig(_Table):
    package: str = ""
    macos_min: int = 14
    profile_name: str = "Okta Platform SSO"
    user_principal_name: str = ""
    export_dir: str = ""
    # Floors ≥ 14: "static" adds Okta's Device Access SCEP payload (okta.scep_url + okta.scep_challenge);
    # "elsewhere": the admin deploys that certificate with another profile. Floor 13 needs none.
    scep: Literal["static", "elsewhere"] = "static"
    psso: dict[str, Any] = {}  # [rollout.psso]: odatui.macos.psso_options, gated by macos_min
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
        return _nonblank(v, "profile name")

    @field_validator("psso")
    @classmethod
    def _psso(cls, v: dict[str, Any], info: Any) -> dict[str, Any]:
        try:
            return normalise(v, info.data.get("macos_min"))
        except UsageError as exc:
            raise ValueError(f"{exc.message.removeprefix('rollout.psso.').replace(': ', ' ', 1)}; {exc.hint}") from None


def _ca_bundle(v: str) -> str:
    if not v:
        return v
    path = Path(v).expanduser()
    if path.exists() and not path.is_file():  # a FIFO would block the read below, /dev/zero never end
        raise ValueError(f"the CA bundle {path} is not a regular file; give the PEM file of your proxy's or "
                         "sandbox's CA")
    if not path.is_file():
        raise ValueError(f"no CA bundle at {path}; give the PEM file of your proxy's or sandbox's CA")

    try:
        head = read_bounded(path, limit=CA_LIMIT, what="CA bundle")[:65536]
    except OdatuiError as exc:
        raise ValueError(exc.message) from None
    if b"-----BEGIN CERTIFICATE-----" not in head:
        raise ValueError(f"{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return str(path)


def _loopback_needs_ca(url: str, ca_bundle: str, table: str) -> None:
    if url and is_loopback(urlsplit(url).hostname or "") and not ca_bundle:
        raise ValueError(
            f"{url} is a loopback address, used only by the sandbox: set {table}.ca_bundle to the CA file it printed"
        )


class Config(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ODATUI_", env_nested_delimiter="__", env_ignore_empty=True, extra="ignore",
        validate_assignment=True,
    )
    okta: OktaConfig = OktaConfig()
    ws1: Ws1Config = Ws1Config()
    rollout: RolloutConfig = RolloutConfig()

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        # The file's values come in as init kwargs; the environment overrides them (unattended runs, CI).
        return env_settings, init_settings

    def missing(self, *fields: str) -> list[str]:
        """Dotted names from `fields` whose value is still empty."""
        out = []
        for dotted in fields:
            table, name = dotted.split(".")
            if dotted == "ws1.smart_group" and self.ws1.smart_groups:
                continue  # the list of waves stands in for the single group
            if getattr(getattr(self, table), name) in ("", [], None):
                out.append(dotted)
        return out

    def target_key(self) -> str:
        """One run state per target: Okta org host + WS1 organization group."""
        okta = self.okta.host or "no-okta"
        group = self.ws1.group_id or "no-ws1"
        return re.sub(r"[^A-Za-z0-9.\-]+", "_", f"{okta}__{group}")

    def to_toml_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


_KNOWN = {"okta": set(OktaConfig.model_fields), "ws1": set(Ws1Config.model_fields), "rollout": set(RolloutConfig.model_fields)}


def _check_shape(data: dict[str, Any], source: str) -> None:
    for key, table in data.items():
        if key not in _KNOWN:
            guess = difflib.get_close_matches(key, _KNOWN, n=1)
            raise ConfigError(
                f"{source}: unknown table [{key}]",
                hint=f"did you mean [{guess[0]}]?" if guess else "the tables are [okta], [ws1] and [rollout]",
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: {key} must be a table ([{key}]), not a single value")
        for field in table:
            if field in SECRET_KEYS:
                raise ConfigError(
                    f"{source}: {key}.{field} is a secret and never belongs in the config file",
                    hint=f"remove it and run `odatui secrets set {key}.{field}` (or set ODATUI_{key.upper()}__{field.upper()})",
                )
            if field not in _KNOWN[key]:
                guess = difflib.get_close_matches(field, _KNOWN[key], n=1)
                raise ConfigError(
                    f"{source}: unknown key {key}.{field}",
                    hint=f"did you mean {key}.{guess[0]}?" if guess else f"the [{key}] keys are: {', '.join(sorted(_KNOWN[key]))}",
                )


def format_validation_error(exc: ValidationError, source: str) -> ConfigError:
    """One readable line per bad field: `okta.org_url: that is the Admin Console host; use …`."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "literal_error":
            msg = f"must be one of {err['ctx']['expected']} (got {err.get('input')!r})"
        elif err["type"] in ("int_parsing", "int_type"):
            msg = f"must be a whole number (got {err.get('input')!r})"
        elif err["type"] in ("string_type", "list_type"):
            msg = f"has the wrong type: {err['msg'].lower()} (got {err.get('input')!r})"
        env = "ODATUI_" + loc.upper().replace(".", "__")
        if loc and os.environ.get(env):
            msg += f" (from the environment variable {env})"
        lines.append(f"{loc}: {msg}" if loc else msg)
    first, rest = lines[0], lines[1:]
    return ConfigError(f"{source}: {first}" + "".join(f"\n  {line}" for line in rest))


def parse_config(data: dict[str, Any], source: str = "config") -> Config:
    _check_shape(data, source)
    try:
        return Config(**data)
    except ValidationError as exc:
        raise format_validation_error(exc, source) from None
    except SettingsError as exc:
        raise _env_list_error(exc) from None


def _env_list_error(exc: Exception) -> ConfigError:
    """pydantic-settings reads list fields from env vars as JSON; say so for the variable that isn't."""
    for var, value in os.environ.items():
        if not var.startswith("ODATUI_") or "__" not in var:
            continue
        table, _, field = var[len("ODATUI_"):].lower().partition("__")
        if field in _KNOWN.get(table, ()) and field == "groups":
            try:
                ok = isinstance(json.loads(value), list)
            except ValueError:
                ok = False
            if not ok:
                return ConfigError(f"{var} must be a JSON list of names (got {value!r})",
                                   hint=f"""write it like {var}='["Mac Pilot", "Everyone"]'""")
    return ConfigError(f"an ODATUI_* environment variable could not be read: {exc}")


def load_config(path: Path | None = None, *, must_exist: bool = False) -> Config:
    """Read the TOML at `path` (default location when None), apply env overrides, validate."""
    path = Path(path).expanduser() if path else default_config_path()
    data: dict[str, Any] = {}
    try:
        exists = path.exists() or path.is_symlink()
    except OSError as exc:  # e.g. a parent folder that cannot be searched
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror or exc}") from None
    if exists:
        text = read_text_bounded(path, limit=CONFIG_LIMIT, what="config file", error=ConfigError)
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})", hint="fix the line it names, or move the file away and let `odatui` write a new one") from None
        except RecursionError:  # tomllib recurses per nesting level: `a = [[[[…]]]]` thousands deep
            raise ConfigError(f"{path}: not valid TOML (nested too deeply)",
                              hint="an answers file has at most three levels of tables") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    elif must_exist:
        raise ConfigError(f"no config file at {path}", hint="run `odatui` to create one, or pass --config FILE")
    return parse_config(data, source=str(path))


def save_config(config: Config, path: Path | None = None) -> Path:
    """Write the answers file (no secrets: the model has none) atomically, readable by the owner only."""
    path = Path(path).expanduser() if path else default_config_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise write_error(path, exc, "config file") from None
    with atomic_writer(path, what="config file") as fh:
        fh.write(b"# odatui answers file: re-run unattended with `odatui apply --config THIS_FILE`. No secrets here.\n")
        tomli_w.dump(config.to_toml_dict(), fh)
    return path
