"""Check WS1 traffic against Omnissa's Swagger 2.0 files (../shared/vendor/ws1/2604/*.json).

`record(http)` hooks an httpx.AsyncClient and keeps every exchange; `Ws1Contract.problems(exchanges)` finds,
for each, the operation by family (mam/mdm/system) and Accept version (`mdmv2.json` for version=2), then checks
path parameter types, query parameters (required, integer, unknown names), the JSON request body against the
body schema, the status against the documented responses and the response body against its schema.

Two deliberate departures, both from field reports (reference/ws1.md):
- uploadblob's spec says multipart/form-data; every working client sends the raw bytes, so the raw body is
  accepted there.
- Swashbuckle renders .NET `object` as `{"type": "object"}`; the real `message` of an error is a string, so a
  property-less `type: object` is read as "any value".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jsonschema

# Errors every WS1 operation can give, documented or not: auth, size, media type, rate limit, server faults.
UNDOCUMENTED_ERRORS = {401, 403, 404, 406, 413, 415, 429, 500, 502, 503, 504}
RAW_BODY_OPERATIONS = {"BlobsV1_UploadBlobAsync"}


@dataclass
class Exchange:
    method: str
    path: str
    query: list[tuple[str, str]]
    version: int
    request_type: str
    request_body: bytes | None  # None when streamed (uploads)
    status: int
    response_body: bytes


def record(http: httpx.AsyncClient) -> list[Exchange]:
    """Start recording the WS1 API calls of `http`; returns the live list."""
    seen: list[Exchange] = []

    async def on_response(response: httpx.Response) -> None:
        request = response.request
        path = request.url.path
        if not path.lower().startswith("/api/"):
            return  # the token endpoint and sandbox admin routes are not part of the API specs
        await response.aread()
        try:
            body: bytes | None = request.content
        except httpx.RequestNotRead:
            body = None
        accept = request.headers.get("accept", "")
        m = re.search(r"version=(\d+)\s*$", accept)
        seen.append(Exchange(request.method, path, parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True),
                             int(m.group(1)) if m else 1, request.headers.get("content-type", ""), body,
                             response.status_code, response.content))

    hooks = http.event_hooks
    hooks.setdefault("response", []).append(on_response)
    http.event_hooks = hooks
    return seen


def _anyfy(node: Any) -> Any:
    if isinstance(node, dict):
        if node.get("type") == "object" and not node.get("properties") and "additionalProperties" not in node \
                and "$ref" not in node:
            return {}
        return {k: _anyfy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_anyfy(v) for v in node]
    return node


class Ws1Contract:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @lru_cache(maxsize=None)  # noqa: B019 - one contract object per test session
    def spec(self, name: str) -> dict[str, Any] | None:
        path = self.folder / f"{name}.json"
        if not path.exists():
            return None
        return _anyfy(json.loads(path.read_text()))

    def operation(self, method: str, path: str, version: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]] | None:
        m = re.match(r"^/api/(mam|mdm|system)(/.*)$", path, re.IGNORECASE)
        if not m:
            return None
        spec = self.spec(f"{m.group(1).lower()}v{version}")
        if spec is None:
            return None
        rest = m.group(2)
        best = None
        for template, ops in spec["paths"].items():
            op = ops.get(method.lower())
            if op is None:
                continue
            names = re.findall(r"{([^}]+)}", template)
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "([^/]+)", re.escape(template)) + "$"
            hit = re.match(pattern, rest, re.IGNORECASE)
            if hit:
                rank = len(names)  # literal segments win over parameters (search vs {id})
                if best is None or rank < best[0]:
                    best = (rank, spec, op, dict(zip(names, hit.groups())))
        return None if best is None else best[1:]

    def validate(self, spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
        root = {**schema, "definitions": spec.get("definitions", {})}
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:160]}"
                for e in jsonschema.Draft4Validator(root).iter_errors(value)]

    def problems(self, exchanges: list[Exchange]) -> list[str]:
        out = []
        for ex in exchanges:
            where = f"{ex.method} {ex.path} v{ex.version} → {ex.status}"
            found = self.operation(ex.method, ex.path, ex.version)
            if found is None:
                out.append(f"{where}: no such operation in the spec for version {ex.version}")
                continue
            spec, op, path_values = found
            out += [f"{where}: {p}" for p in self._request(spec, op, ex, path_values)]
            out += [f"{where}: {p}" for p in self._response(spec, op, ex)]
        return out

    def _request(self, spec: dict[str, Any], op: dict[str, Any], ex: Exchange, path_values: dict[str, str]) -> list[str]:
        out = []
        params = op.get("parameters", [])
        query = {k.lower(): v for k, v in ex.query}
        known = {p["name"].lower() for p in params if p.get("in") == "query"}
        for p in params:
            where, name = p.get("in"), p["name"]
            value = path_values.get(name) if where == "path" else query.get(name.lower()) if where == "query" else None
            if where in ("path", "query"):
                if value is None:
                    if p.get("required"):
                        out.append(f"required {where} parameter {name} missing")
                    continue
                if p.get("type") == "integer" and not re.fullmatch(r"-?\d+", value):
                    out.append(f"{where} parameter {name}={value!r} is not an integer")
                if p.get("type") == "boolean" and value.lower() not in ("true", "false"):
                    out.append(f"{where} parameter {name}={value!r} is not a boolean")
                if p.get("enum") and value not in p["enum"]:
                    out.append(f"{where} parameter {name}={value!r} not in {p['enum']}")
            elif where == "body":
                if ex.request_body is None:
                    if op.get("operationId") not in RAW_BODY_OPERATIONS:
                        out.append("streamed body where a JSON body is expected")
                    continue
                if not ex.request_body:
                    if p.get("required"):
                        out.append("required body missing")
                    continue
                consumes = op.get("consumes") or spec.get("consumes") or ["application/json"]
                if ex.request_type.split(";")[0] not in consumes:
                    out.append(f"content type {ex.request_type!r} not in {consumes}")
                try:
                    body = json.loads(ex.request_body)
                except ValueError:
                    out.append("request body is not JSON")
                    continue
                out += [f"request body {e}" for e in self.validate(spec, p.get("schema") or {}, body)]
        out += [f"unknown query parameter {k!r}" for k in query if k not in known]
        return out

    def _response(self, spec: dict[str, Any], op: dict[str, Any], ex: Exchange) -> list[str]:
        responses = op.get("responses", {})
        if ex.status in (502, 504) and ex.response_body.lstrip().startswith(b"<"):
            return []  # a proxy's HTML page (a sandbox fault), not an answer of the vendor's API
        if not responses:
            return []  # deprecated operations (e.g. mdmv1 profiles/search) document no answers at all
        doc = responses.get(str(ex.status))
        if doc is None:
            if ex.status in UNDOCUMENTED_ERRORS and ex.response_body:
                try:
                    body = json.loads(ex.response_body)
                except ValueError:
                    return ["error answer is not JSON"]
                return [f"error body {e}" for e in self.validate(spec, {"$ref": "#/definitions/BaseExceptionModel"}, body)] \
                    + ([] if isinstance(body, dict) and "errorCode" in body else ["error body has no errorCode"])
            return [f"status {ex.status} is not documented (documented: {sorted(responses)})"]
        schema = doc.get("schema")
        if schema is None:
            return [] if not ex.response_body.strip() else ["body where the spec documents none"]
        try:
            body = json.loads(ex.response_body)
        except ValueError:
            return ["response body is not JSON"]
        return [f"response body {e}" for e in self.validate(spec, schema, body)]


# --------------------------------------------------------------------------------------------- test support
# Small helpers the WS1 test modules share (this is the WS1 tests' support module).


def ws1_config(sb: Any, auth: str = "basic", **changes: Any) -> Any:
    from odatui.core.config_tables import Ws1Config

    data = dict(sb.config_dict()["ws1"], auth=auth)
    if auth == "oauth":
        from odatui.sandbox.server import WS1_OAUTH_CLIENT_ID

        data["oauth_client_id"] = WS1_OAUTH_CLIENT_ID
    data.update(changes)
    return Ws1Config(**data)


def sandbox_secrets(**overrides: str) -> Any:
    from odatui.sandbox.server import OKTA_SCEP_CHALLENGE, WS1_OAUTH_SECRET, WS1_PASSWORD, WS1_TENANT_CODE
    from odatui.core.secrets import SecretStore

    values = {"ws1.password": WS1_PASSWORD, "ws1.tenant_code": WS1_TENANT_CODE, "ws1.client_secret": WS1_OAUTH_SECRET,
              "okta.scep_challenge": OKTA_SCEP_CHALLENGE}
    values.update(overrides)
    return SecretStore(use_keychain=False, values={k: v for k, v in values.items() if v})


def sandbox_requests(sb: Any, path_re: str = ".*", method: str | None = None) -> list[dict[str, Any]]:
    """The sandbox's recorded requests whose path matches `path_re` (and method)."""
    return [r for r in sb.world.requests if re.fullmatch(path_re, r["path"], re.IGNORECASE)
            and (method is None or r["method"] == method)]


def admin(sb: Any, path: str, body: Any) -> Any:
    import ssl

    with httpx.Client(base_url=sb.url, verify=ssl.create_default_context(cafile=str(sb.ca_path))) as c:
        r = c.post(path, json=body)
        r.raise_for_status()
        return r.json()


async def roll_out(client: Any, sb: Any, tmp_path: Any, profiles: tuple[str, ...] = ("P",)) -> tuple[int, int, list[int]]:
    """The app and these profiles assigned to the sandbox's smart group, then a day for the fleet to check in, with
    the client's own calls: (smart group id, app id, profile ids)."""
    from odatui.macos.pkg import read_package
    from odatui.macos.pkginfo import pkginfo_plist
    from odatui.sandbox.samplepkg import make_sample_pkg
    from odatui.sandbox.server import WS1_SMART_GROUP

    pkg = make_sample_pkg(tmp_path / "OktaVerify.pkg", payload_size=1024)
    facts = read_package(pkg)
    app_blob = await client.upload_blob(pkg, file_name="OktaVerify.pkg", og_id=570, module_type="Application")
    meta = await client.upload_blob(pkginfo_plist(facts), file_name="OktaVerify.plist", og_id=570)
    app_id = await client.create_macos_app(570, app_blob_id=app_blob.id, pkginfo_blob_id=meta.id,
                                           version=facts.version, name="Okta Verify")
    app = await client.get_internal_app(app_id)
    sg = [g for g in await client.search_smart_groups(WS1_SMART_GROUP) if g.name == WS1_SMART_GROUP][0]
    await client.put_assignment_rules(app["uuid"], {"assignments": [{"priority": 0, "distribution": {
        "name": "auto", "smart_groups": [sg.uuid], "app_delivery_method": "AUTO"}}], "excluded_smart_groups": []})
    ids = []
    for name in profiles:
        ids.append(await client.create_macos_profile({
            "General": {"Name": name, "ProfileContext": "Device", "AssignmentType": "Auto", "IsActive": True,
                        "ManagedLocationGroupID": 570, "AssignedSmartGroups": [{"SmartGroupId": sg.id}]},
            "CustomSettingsList": [{"CustomSettings": "<dict><key>PayloadType</key><string>x.y</string></dict>"}]}))
    admin(sb, "/_sandbox/ws1/clock", {"advance_s": 100_000})
    return sg.id, app_id, ids
