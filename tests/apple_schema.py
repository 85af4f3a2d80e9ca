"""A validator for configuration profiles against Apple's device-management YAML schema (mdm/profiles/*.yaml).

Checks what the YAML states (docs/schema.md of apple/device-management): presence=required, type (a bool is not
an integer), rangelist, range min/max, format regex, `ANY` keys, array element schemas, and `supportedOS` for
macOS with inheritance (a key inherits its parent's macOS entry and overrides only what it lists): `introduced`
"n/a" or newer than the target → error, `removed` at or before the target → error, `deprecated` → warning,
`userchannel`/`devicechannel` false on the channel used → error. Keys the snapshot does not know (Apple adds
keys after the pinned commit, e.g. macOS 26's EnableRegistrationDuringSetup) are warnings, not errors.
Also: PayloadUUIDs well-formed and unique, PayloadIdentifiers unique.

The YAML files stay in ../shared/vendor (never copied into the project); `vendor_profiles_dir()` finds them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml


def vendor_profiles_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "shared" / "vendor" / "apple" / "mdm" / "profiles"


@dataclass(frozen=True)
class Issue:
    level: str  # "error" | "warning"
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.level.upper()} {self.path}: {self.message}"


@dataclass
class Report:
    issues: list[Issue] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.level == "warning"]

    def __str__(self) -> str:
        return "\n".join(map(str, self.issues)) or "clean"


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "<string>": (str,),
    "<integer>": (int,),
    "<real>": (float,),
    "<boolean>": (bool,),
    "<date>": (datetime,),
    "<data>": (bytes, bytearray),
    "<array>": (list,),
    "<dictionary>": (dict,),
}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in str(text).split("."))


class AppleSchema:
    def __init__(self, profiles_dir: Path | None = None) -> None:
        self.dir = profiles_dir or vendor_profiles_dir()
        self.by_type: dict[str, dict[str, Any]] = {}
        for path in sorted(self.dir.glob("*.yaml")):
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            self.by_type[doc["payload"]["payloadtype"]] = doc
        for needed in ("TopLevel", "CommonPayloadKeys"):
            if needed not in self.by_type:
                raise FileNotFoundError(f"{needed}.yaml missing from {self.dir}")

    def payload_macos(self, payload_type: str) -> dict[str, Any]:
        """The payload-level supportedOS.macOS entry (allowmanualinstall, userapprovedmdm, …)."""
        return dict(self.by_type[payload_type]["payload"]["supportedOS"].get("macOS", {"introduced": "n/a"}))

    # -- entry points -------------------------------------------------------------------------------------------

    def validate_profile(self, profile: Any, macos: str = "14.0", channel: str = "device") -> Report:
        report = Report()
        ctx = _Context(report, _version(macos), channel)
        if not isinstance(profile, dict):
            ctx.error("", f"a profile is a dictionary, got {type(profile).__name__}")
            return report
        top = self.by_type["TopLevel"]
        top_keys = [k for k in top["payloadkeys"] if k["key"] != "PayloadContent"]
        os_entry = top["payload"]["supportedOS"].get("macOS", {})
        ctx.check_dict(profile, top_keys, os_entry, "TopLevel", allow_extra=("PayloadContent",))
        content = profile.get("PayloadContent")
        if not isinstance(content, list):
            ctx.error("TopLevel.PayloadContent", "required array of payload dictionaries is missing")
            content = []
        for index, payload in enumerate(content):
            self._validate_payload(ctx, payload, f"PayloadContent[{index}]")
        self._unique(ctx, profile, content)
        return report

    def validate_payload(self, payload: Any, macos: str = "14.0", channel: str = "device") -> Report:
        report = Report()
        ctx = _Context(report, _version(macos), channel)
        self._validate_payload(ctx, payload, "payload")
        self._unique(ctx, None, [payload] if isinstance(payload, dict) else [])
        return report

    # -- internals ----------------------------------------------------------------------------------------------

    def _validate_payload(self, ctx: _Context, payload: Any, path: str) -> None:
        if not isinstance(payload, dict):
            ctx.error(path, f"a payload is a dictionary, got {type(payload).__name__}")
            return
        payload_type = payload.get("PayloadType")
        schema = self.by_type.get(payload_type)
        if schema is None or payload_type in ("TopLevel", "CommonPayloadKeys"):
            ctx.error(f"{path}.PayloadType", f"unknown payload type {payload_type!r} (not in the Apple schema)")
            return
        path = f"{path}({payload_type})"
        os_entry = schema["payload"]["supportedOS"].get("macOS", {"introduced": "n/a"})
        ctx.check_os(os_entry, path)
        specific = {k["key"]: k for k in schema["payloadkeys"]}
        common = [k for k in self.by_type["CommonPayloadKeys"]["payloadkeys"] if k["key"] not in specific]
        ctx.check_dict(payload, common + list(specific.values()), os_entry, path)

    @staticmethod
    def _unique(ctx: _Context, profile: dict | None, payloads: list) -> None:
        seen_uuid: dict[str, str] = {}
        seen_id: dict[str, str] = {}
        items = ([("TopLevel", profile)] if profile else []) + [
            (f"PayloadContent[{i}]", p) for i, p in enumerate(payloads) if isinstance(p, dict)
        ]
        for where, item in items:
            value = item.get("PayloadUUID")
            if isinstance(value, str):
                try:
                    uuid.UUID(value)
                except ValueError:
                    ctx.error(f"{where}.PayloadUUID", f"{value!r} is not a UUID")
                if value.upper() in seen_uuid:
                    ctx.error(f"{where}.PayloadUUID", f"duplicate of {seen_uuid[value.upper()]}")
                seen_uuid.setdefault(value.upper(), where)
            ident = item.get("PayloadIdentifier")
            if isinstance(ident, str):
                if ident in seen_id:
                    ctx.error(f"{where}.PayloadIdentifier", f"duplicate of {seen_id[ident]} (must be unique)")
                seen_id.setdefault(ident, where)


class _Context:
    def __init__(self, report: Report, target: tuple[int, ...], channel: str) -> None:
        self.report, self.target, self.channel = report, target, channel

    def error(self, path: str, message: str) -> None:
        self.report.issues.append(Issue("error", path, message))

    def warning(self, path: str, message: str) -> None:
        self.report.issues.append(Issue("warning", path, message))

    def check_os(self, os_entry: dict[str, Any], path: str) -> None:
        introduced = str(os_entry.get("introduced", "0"))
        target = ".".join(map(str, self.target))
        if introduced == "n/a":
            self.error(path, "not supported on macOS")
            return
        if _version(introduced) > self.target:
            self.error(path, f"introduced in macOS {introduced}, but the profile targets macOS {target}")
        if "removed" in os_entry and _version(os_entry["removed"]) <= self.target:
            self.error(path, f"removed in macOS {os_entry['removed']}")
        if "deprecated" in os_entry and _version(os_entry["deprecated"]) <= self.target:
            self.warning(path, f"deprecated in macOS {os_entry['deprecated']}")
        if os_entry.get(f"{self.channel}channel") is False:
            self.error(path, f"not supported on the {self.channel} channel")

    @staticmethod
    def inherit(parent_os: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        override = (spec.get("supportedOS") or {}).get("macOS")
        return {**parent_os, **override} if override else parent_os

    def check_dict(
        self,
        value: dict[str, Any],
        keys: list[dict[str, Any]],
        parent_os: dict[str, Any],
        path: str,
        allow_extra: tuple[str, ...] = (),
    ) -> None:
        named = {k["key"]: k for k in keys if k["key"] != "ANY"}
        any_spec = next((k for k in keys if k["key"] == "ANY"), None)
        for spec in named.values():
            if spec.get("presence") == "required" and spec["key"] not in value:
                os_entry = self.inherit(parent_os, spec)
                if str(os_entry.get("introduced", "0")) != "n/a":
                    self.error(f"{path}.{spec['key']}", "required key is missing")
        for key, item in value.items():
            sub_path = f"{path}.{key}"
            if key in named:
                self.check_value(item, named[key], parent_os, sub_path)
            elif any_spec is not None:
                self.check_value(item, any_spec, parent_os, sub_path)
            elif key not in allow_extra:
                self.warning(sub_path, "key not in the Apple schema snapshot (newer than it, or misspelt)")

    def check_value(self, value: Any, spec: dict[str, Any], parent_os: dict[str, Any], path: str) -> None:
        os_entry = self.inherit(parent_os, spec)
        if spec.get("supportedOS"):
            self.check_os(os_entry, path)
        elif os_entry.get(f"{self.channel}channel") is False:
            self.error(path, f"not supported on the {self.channel} channel")
        kind = spec.get("type", "<any>")
        if kind != "<any>":
            wanted = _PY_TYPES[kind]
            if not isinstance(value, wanted) or (kind in ("<integer>", "<real>") and isinstance(value, bool)):
                self.error(path, f"type {type(value).__name__}, the schema wants {kind}")
                return
        if "rangelist" in spec and not isinstance(value, (list, dict)) and value not in spec["rangelist"]:
            self.error(path, f"{value!r} is not one of {spec['rangelist']}")
        bounds = spec.get("range") or {}
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if "min" in bounds and value < bounds["min"]:
                self.error(path, f"{value} is below the minimum {bounds['min']}")
            if "max" in bounds and value > bounds["max"]:
                self.error(path, f"{value} is above the maximum {bounds['max']}")
        if "format" in spec and isinstance(value, str) and not re.fullmatch(spec["format"], value):
            self.error(path, f"{value!r} does not match the format {spec['format']!r}")
        subkeys = spec.get("subkeys") or []
        if kind == "<array>" and subkeys:
            for index, element in enumerate(value):
                element_spec = {k: v for k, v in subkeys[0].items() if k != "supportedOS"}
                self.check_value(element, element_spec, os_entry, f"{path}[{index}]")
        elif kind == "<dictionary>" and subkeys:
            self.check_dict(value, subkeys, os_entry, path)
