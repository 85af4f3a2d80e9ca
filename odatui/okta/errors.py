"""Okta errors: the one exception type every failed Okta call raises, and how an answer becomes one (Okta's error
object: https://developer.okta.com/docs/reference/error-codes/; OAuth errors: RFC 6749 §5.2)."""

from __future__ import annotations

import re
from typing import Any

import httpx

from odatui.core.errors import ApiError


class OktaApiError(ApiError):
    """An Okta call failed. `status` 0 means no HTTP answer (network/TLS); `error_code` (also `code`) is Okta's
    `errorCode` (E0000011, …), the OAuth `error` (invalid_client, …), or "non_json" for a body that is not Okta's."""

    def __init__(self, status: int, error_code: str, summary: str, error_id: str = "", *,
                 causes: list[str] | None = None, hint: str | None = None, retryable: bool | None = None,
                 operation: str = "") -> None:
        where = f" ({operation})" if operation else ""
        code = f" {error_code}" if error_code and error_code != "non_json" else ""
        message = f"Okta answered HTTP {status}{code}{where}: {summary}" if status else f"{summary}{where}"
        if causes:
            message += " — " + "; ".join(causes)
        super().__init__(message, status=status, code=error_code, operation=operation, hint=hint,
                         retryable=retryable)
        self.error_code = error_code
        self.summary = summary
        self.error_id = error_id
        self.causes = causes or []
        self.concurrent = False  # a 429 for too many requests in flight, not for the per-minute limit


def raise_for(response: httpx.Response, operation: str) -> None:
    """Raise the OktaApiError an error answer stands for: Okta's errorCode body, an OAuth error, or a foreign
    answer (a proxy, a load balancer) said to be one."""
    if response.status_code < 400:
        return
    body = parse_json(response, operation, strict=False)
    status = response.status_code
    if isinstance(body, dict) and str(body.get("errorCode", "")).startswith("E0"):
        causes = [str(c.get("errorSummary", c)) for c in body.get("errorCauses") or [] if isinstance(c, dict)]
        err = OktaApiError(status, str(body["errorCode"]), str(body.get("errorSummary", "")),
                           str(body.get("errorId", "")), causes=causes, operation=operation)
        # Okta reports a concurrent-limit 429 with X-Rate-Limit-Limit 0
        # (https://developer.okta.com/docs/reference/rl2-monitor/).
        err.concurrent = status == 429 and response.headers.get("X-Rate-Limit-Limit") == "0"
        raise err
    if isinstance(body, dict) and "error" in body:
        raise OktaApiError(status, str(body["error"]), str(body.get("error_description", "")), operation=operation)
    raise OktaApiError(status, "non_json" if body is None else "unknown",
                       describe_foreign(response), operation=operation,
                       hint="a proxy or load balancer may have answered instead of Okta; check okta.org_url "
                       "and any proxy in between")

def parse_json(response: httpx.Response, operation: str, *, strict: bool = True) -> Any:
    ctype = response.headers.get("content-type", "")
    if response.status_code >= 400 and strict:
        raise_for(response, operation)
    if "json" not in ctype:
        if not strict:
            return None
        raise OktaApiError(response.status_code, "non_json", describe_foreign(response), operation=operation,
                           hint="a proxy, captive portal or the wrong host answered; check okta.org_url",
                           retryable=False)
    try:
        return response.json()
    except ValueError:
        if not strict:
            return None
        raise OktaApiError(response.status_code, "non_json", "Okta's answer was not valid JSON",
                           operation=operation) from None


def describe_foreign(response: httpx.Response) -> str:
    ctype = response.headers.get("content-type", "no content type").split(";")[0]
    text = response.text[:2000] if response.content else ""
    title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
    snippet = title.group(1).strip() if title else re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()[:80]
    return f"not an Okta API answer ({ctype}{': ' + snippet if snippet else ''})"

