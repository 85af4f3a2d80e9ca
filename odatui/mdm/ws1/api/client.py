"""Async client for the slice of the Workspace ONE UEM REST API odatui uses (Workspace ONE UEM
REST API: https://docs.omnissa.com/, "Workspace ONE UEM REST API").

What it takes care of, so steps don't have to:
- auth: Basic + `aw-tenant-code`, or OAuth client credentials against the region token URL; the token is
  renewed before its hour runs out, and kept fresh in the background while a long upload runs;
- `Accept: application/json;version=N` per call, and the answer's shape checked: the API silently answers v1
  when the version is lost (a proxy, a trailing semicolon), which must be an error, not a mis-parse;
- one exception type, `Ws1ApiError`, with status, errorCode, message, activityId and a hint; 401/1005 is
  explained and never retried (retrying can lock a directory account);
- uploads streamed from disk with progress, never re-sent blindly once the server may have stored them;
- rollout status paged concurrently with bounded concurrency.
"""

from __future__ import annotations

from odatui.mdm.ws1.api.apps import CHUNK, AppsApi, ProgressFn
from odatui.mdm.ws1.api.auth import BasicAuth, OAuthClientCredentials
from odatui.mdm.ws1.api.base import PAGE_CONCURRENCY, PAGE_SIZE
from odatui.mdm.ws1.api.certificates import CertificatesApi
from odatui.mdm.ws1.api.errors import Ws1ApiError
from odatui.mdm.ws1.api.groups import GroupsApi
from odatui.mdm.ws1.api.models import AppSummary, Blob, OrgGroup, ProfileSummary, RolloutStatus, SmartGroup
from odatui.mdm.ws1.api.rollout import RolloutApi

# The names callers and tests used before the split into auth/models/errors/resource modules.
_BasicAuth = BasicAuth
_OAuth = OAuthClientCredentials


class Ws1Client(GroupsApi, AppsApi, RolloutApi, CertificatesApi):
    """The whole client: one connection and auth (Ws1Base), the calls grouped by resource in their modules."""


__all__ = ["CHUNK", "PAGE_CONCURRENCY", "PAGE_SIZE", "AppSummary", "BasicAuth", "Blob", "OAuthClientCredentials",
           "OrgGroup", "ProfileSummary", "ProgressFn", "RolloutStatus", "SmartGroup", "Ws1ApiError", "Ws1Client"]
