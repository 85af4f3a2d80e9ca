"""Workspace ONE errors: the one exception type every failed WS1 call raises, and how an answer becomes one.

WS1 error bodies carry errorCode, message and activityId (Workspace ONE UEM REST API, "Error codes":
https://docs.omnissa.com/); 401/1005 is explained and never retried (retrying can lock a directory account).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import httpx

from odatui.core.errors import ApiError


class Ws1ApiError(ApiError):
    """Any failed Workspace ONE call. `status` is None when no HTTP answer came back (network); `error_code`
    (also `code`) is WS1's numeric errorCode, `api_message` its message, `operation` what odatui was doing."""

    def __init__(self, status: int | None, error_code: int | None, message: str, activity_id: str | None = None,
                 *, hint: str | None = None, retryable: bool | None = None, what: str = "") -> None:
        head = f"Workspace ONE {what + ': ' if what else ''}"
        code = f" (HTTP {status}" + (f", errorCode {error_code}" if error_code is not None else "") + ")" \
            if status is not None else ""
        text = f"{head}{message}{code}"
        if activity_id:
            text += f" [activityId {activity_id}]"
        super().__init__(text, status=status, code=error_code, operation=what, hint=hint, retryable=retryable)
        self.error_code = error_code
        self.api_message = message
        self.activity_id = activity_id


def error_for(response: httpx.Response, what: str, auth_kind: str) -> Ws1ApiError:
    """The Ws1ApiError for an error answer, with the hint that fits WS1's errorCode and the auth in use."""
    status = response.status_code
    data = json_or_none(response)
    if data is None:
        kind = response.headers.get("content-type", "").split(";")[0] or "no content type"
        looks_html = b"<html" in response.content[:2048].lower() or kind == "text/html"
        return Ws1ApiError(status, None, f"{what}: the answer is not JSON ({kind})",
                           hint="an HTML page usually comes from a proxy, a login portal or the console host: "
                                "check that ws1.api_url is the API host (as…, not cn…) and the proxy settings"
                           if looks_html else None, what="")
    if isinstance(data, dict) and "errorSummary" in data and str(data.get("errorCode", "")).startswith("E0"):
        # Okta's error body (E0000022 …): the request went to an Okta org, not to Workspace ONE.
        return Ws1ApiError(status, None, f"{what}: an Okta org answered, not Workspace ONE "
                           f"({data.get('errorSummary')})", retryable=False,
                           hint="ws1.api_url points at an Okta org: set it to the Workspace ONE API host "
                                "(e.g. https://as1234.awmdm.com, from Groups & Settings > System > Advanced > "
                                "Site URLs > REST API URL)", what="")
    code = data.get("errorCode") if isinstance(data, dict) else None
    message = data.get("message") if isinstance(data, dict) else None
    message = message if isinstance(message, str) else json.dumps(message) if message else str(data)[:200]
    activity = data.get("activityId") if isinstance(data, dict) else None
    hint = None
    retryable = None
    if status == 401 and code == 1005:
        if auth_kind == "basic":
            hint = ("the user name, password or REST API key (aw-tenant-code) was refused. Common causes: the "
                    "API user is a directory (AD/LDAP) account — use a basic (local) admin account — or the "
                    "tenant code is wrong or was generated below the Customer organization group. odatui does "
                    "not retry, because repeated failures can lock a directory account")
        else:
            hint = "the OAuth token was refused; check that the OAuth client is bound to an admin role with API access"
        retryable = False
    elif code == 7000:
        hint = "the app does not exist any more or is not visible to this admin (another organization group?)"
        retryable = False
    elif code == 200011:
        # PUT assignment-rules, 500: "Application publish failed, Please republish the Application" (UEM 2604
        # MAM API v2 swagger). The rules are saved; only the publish to devices failed.
        hint = ("Workspace ONE saved the assignment but could not publish it to devices. Run `odatui retry` "
                "(odatui saves and publishes again), or in the UEM console open Apps → Native → Internal → "
                "Okta Verify and choose Save & Publish")
        retryable = False
    elif code in (1011, 5093) or (status == 403 and code in (11, 403)):
        # "User doesn't have sufficient permissions to perform this operation." (UEM 2604 swagger, 1011).
        hint = ("the WS1 admin odatui signs in as lacks a permission for this call: give its role the Apps and "
                "Devices & Users → Profiles edit rights (or use an admin with the Console Administrator role) "
                "at the organization group in ws1.group_id, then run `odatui retry`")
        retryable = False
    elif code == 5143:
        # "The given organization group is not accessible" (UEM 2604 MAM API v2 swagger).
        hint = ("the admin cannot reach this organization group: check ws1.group_id and that the admin's role is "
                "assigned at that group or one above it")
        retryable = False
    elif status == 401:
        retryable = False
    return Ws1ApiError(status, code if isinstance(code, int) else None, f"{what}: {message}",
                       activity if isinstance(activity, str) else None, hint=hint, retryable=retryable)



def shape_guard(fn):
    """A field of the wrong type deep in an answer (a proxy, another UEM release) becomes one readable
    Ws1ApiError instead of a KeyError/TypeError escaping to the admin."""
    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        try:
            return await fn(*args, **kwargs)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            raise Ws1ApiError(None, None, f"the answer to {fn.__name__.replace('_', ' ')} has an unexpected shape "
                              f"({type(exc).__name__}: {exc})", retryable=False,
                              hint="a proxy may be rewriting answers, or the tenant runs an UEM release odatui "
                                   "does not know; send `odatui bundle` to support") from None
    return wrapper



def not_found(exc: Ws1ApiError) -> bool:
    return "not found" in exc.api_message.lower()


def json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None
