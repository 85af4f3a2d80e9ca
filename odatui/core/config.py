"""The rollout's answers: `[okta]`, `[ws1]`, `[rollout]` from TOML, with `ODATUI_<TABLE>__<FIELD>` env overrides.

Values may be empty while the wizard is still collecting them; `Config.missing(...)` names what a command still
needs. Every rule gives one message per field that names the fix. Secrets are never part of this model.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from odatui.core.config_tables import OktaConfig, RolloutConfig, Ws1Config
from odatui.core.config_waves import Wave, waves_of
from odatui.core.errors import ConfigError, UsageError
from odatui.core.files import CONFIG_LIMIT, atomic_writer, read_text_bounded, write_error
from odatui.core.paths import default_config_path

# Keys that look like secrets: refused in the file so nobody is tempted to keep a token next to the answers.
SECRET_KEYS = {"api_token", "private_key", "password", "tenant_code", "client_secret", "token", "secret",
               "scep_challenge"}


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
            if dotted == "ws1.smart_group" and (self.ws1.smart_groups or self.rollout.waves):
                continue  # the list of waves stands in for the single group
            if getattr(getattr(self, table), name) in ("", [], None):
                out.append(dotted)
        return out

    def waves(self) -> list[Wave]:
        """The rollout's waves in order, from `[[rollout.waves]]` or `[ws1] smart_groups` (odatui.core.config_waves)."""
        return waves_of(self)

    @model_validator(mode="after")
    def _one_wave_form(self) -> Config:
        if self.rollout.waves and self.ws1.smart_groups:
            raise ValueError("rollout.waves and ws1.smart_groups both list waves; keep [[rollout.waves]] and drop "
                             "ws1.smart_groups")
        return self

    def target_key(self) -> str:
        """One run state per target: Okta org host + WS1 organization group."""
        okta = self.okta.host or "no-okta"
        group = self.ws1.group_id or "no-ws1"
        return re.sub(r"[^A-Za-z0-9.\-]+", "_", f"{okta}__{group}")

    def to_toml_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)  # TOML has no null: an unset start is left out


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
                name = f"{key}.{field}"
                from odatui.core.domain import SECRETS

                hint = (f"remove it and run `odatui secrets set {name}` (or set ODATUI_{key.upper()}__{field.upper()})"
                        if name in SECRETS else
                        "remove it; secrets go in the keychain: `odatui secrets set NAME` with NAME one of "
                        + ", ".join(SECRETS))
                raise ConfigError(f"{source}: {name} is a secret and never belongs in the config file", hint=hint)
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
    data = (b"# odatui answers file: re-run unattended with `odatui apply --config THIS_FILE`. No secrets here.\n"
            + tomli_w.dumps(config.to_toml_dict()).encode("utf-8"))
    if len(data) > CONFIG_LIMIT:  # never write what load_config refuses
        raise UsageError(f"the config would be {len(data):,} bytes, over the {CONFIG_LIMIT >> 20} MiB limit odatui "
                         f"reads; {path} was not changed", hint="shorten the longest value")
    with atomic_writer(path, what="config file") as fh:
        fh.write(data)
    return path
