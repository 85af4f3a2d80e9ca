"""Validate Okta requests and responses against Okta's own OpenAPI 3 contract (`../shared/vendor/okta/
management-minimal.yaml`): the operation is found by method + templated path, the body checked with the spec's
schema (read rules for responses, write rules for requests). Discriminators (Application by `signOnMode`,
Authenticator by `key`) are followed too, since plain JSON Schema ignores them.

Loading the 3.4 MB spec takes a few seconds, so it is parsed once per test session.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any
from urllib.parse import urlsplit

from conftest import vendor_path

# Sandbox-only routes and OAuth endpoints that the Management API contract does not describe.
NOT_IN_CONTRACT = {"/api/v1/users/me", "/oauth2/v1/token"}


@functools.lru_cache(maxsize=1)
def _spec() -> dict[str, Any]:
    import yaml

    path = vendor_path("okta", "management-minimal.yaml")
    with open(path, "rb") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.lru_cache(maxsize=1)
def _path_patterns() -> list[tuple[re.Pattern[str], str]]:
    out = []
    for template in _spec()["paths"]:
        regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        out.append((re.compile(regex), template))
    # Literal paths first, so /api/v1/users/me is not taken for /api/v1/users/{id}.
    out.sort(key=lambda item: item[1].count("{"))
    return out


def operation(method: str, url: str) -> tuple[str, dict[str, Any]]:
    path = urlsplit(url).path
    for regex, template in _path_patterns():
        if regex.match(path):
            op = _spec()["paths"][template].get(method.lower())
            if op is None:
                raise AssertionError(f"{method} {template} is not an operation in the Okta contract")
            return template, op
    raise AssertionError(f"{path} is not a path in the Okta contract")


def _resolve(obj: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in obj:
        node: Any = _spec()
        for part in obj["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        obj = node
    return obj


def _validator(schema: dict[str, Any], *, read: bool):
    from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator, oas30_format_checker

    cls = OAS30ReadValidator if read else OAS30WriteValidator
    # $refs point into the whole document; carrying `components` along makes them resolvable.
    return cls(dict(schema, components=_spec()["components"]), format_checker=oas30_format_checker)


def _check(schema: dict[str, Any], instance: Any, *, read: bool, where: str) -> None:
    errors = sorted(_validator(schema, read=read).iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        raise AssertionError(f"{where}: {first.message} at {'/'.join(map(str, first.path)) or '(root)'}"
                             f" ({len(errors)} error(s))")
    _check_discriminated(schema, instance, read=read, where=where)


def _check_discriminated(schema: dict[str, Any], instance: Any, *, read: bool, where: str) -> None:
    schema = _resolve(schema)
    if schema.get("type") == "array" and isinstance(instance, list):
        for i, item in enumerate(instance):
            _check_discriminated(schema.get("items", {}), item, read=read, where=f"{where}[{i}]")
        return
    disc = schema.get("discriminator")
    if disc and isinstance(instance, dict):
        target = disc.get("mapping", {}).get(instance.get(disc["propertyName"]))
        if target:
            errors = list(_validator({"$ref": target}, read=read).iter_errors(instance))
            if errors:
                raise AssertionError(f"{where} as {target.rsplit('/', 1)[-1]}: {errors[0].message} at "
                                     f"{'/'.join(map(str, errors[0].path)) or '(root)'}")


def validate_response(method: str, url: str, status: int, body: Any) -> str:
    """Check a response against the contract; returns the operationId."""
    template, op = operation(method, url)
    responses = op.get("responses", {})
    entry = responses.get(str(status)) or responses.get("default")
    if entry is None and status >= 400:
        # The contract lists only some error statuses per operation (no 401 anywhere); all share `Error`.
        _check({"$ref": "#/components/schemas/Error"}, body, read=True, where=f"{method} {template} → {status}")
        return op["operationId"]
    if entry is None:
        raise AssertionError(f"{method} {template} has no {status} response in the contract "
                             f"(it has {', '.join(responses)})")
    entry = _resolve(entry)
    media = (entry.get("content") or {}).get("application/json")
    if media is None:
        if body not in (None, b"", ""):
            raise AssertionError(f"{method} {template} {status}: the contract has no JSON body, got {body!r:.80}")
        return op["operationId"]
    _check(media["schema"], body, read=True, where=f"{method} {template} → {status}")
    return op["operationId"]


def validate_request(method: str, url: str, body: Any) -> str:
    """Check a request body (None when none was sent) against the contract; returns the operationId."""
    template, op = operation(method, url)
    request_body = op.get("requestBody")
    if request_body is None:
        if body not in (None, b"", ""):
            raise AssertionError(f"{method} {template} takes no body, got {body!r:.80}")
        return op["operationId"]
    request_body = _resolve(request_body)
    if body is None:
        if request_body.get("required"):
            raise AssertionError(f"{method} {template} requires a body")
        return op["operationId"]
    _check(request_body["content"]["application/json"]["schema"], body, read=False, where=f"{method} {template} (request)")
    return op["operationId"]


class ContractRecorder:
    """httpx event hooks that validate every Okta exchange a client makes (used by the client tests)."""

    def __init__(self) -> None:
        self.checked: list[str] = []

    async def on_request(self, request) -> None:
        path = request.url.path
        if path in NOT_IN_CONTRACT:
            return
        raw = request.content
        body = json.loads(raw) if raw else None
        self.checked.append(validate_request(request.method, str(request.url), body))

    async def on_response(self, response) -> None:
        path = response.request.url.path
        if path in NOT_IN_CONTRACT or response.status_code in (411, 502):
            return
        await response.aread()
        body = response.json() if response.content else None
        self.checked.append(validate_response(response.request.method, str(response.request.url),
                                              response.status_code, body))
