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

The calls are grouped by resource, each an attribute over the one transport: `client.apps.create_macos_app(…)`,
`client.groups`, `client.profiles`, `client.rollout`, `client.devices`, `client.certificates`.
"""

from __future__ import annotations

from odatui.core.http import RetryPolicy
from odatui.mdm.ws1.api.apps import AppsApi
from odatui.mdm.ws1.api.auth import BasicAuth, OAuthClientCredentials
from odatui.mdm.ws1.api.base import Ws1Transport
from odatui.mdm.ws1.api.certificates import CertificatesApi
from odatui.mdm.ws1.api.groups import GroupsApi
from odatui.mdm.ws1.api.pacing import DEFAULT_PER_MINUTE
from odatui.mdm.ws1.api.profiles import ProfilesApi
from odatui.mdm.ws1.api.rollout import DevicesApi, RolloutApi


class Ws1Client(Ws1Transport):
    """The whole client: one connection and auth (the transport), and the calls as one object per resource."""

    def __init__(self, api_url: str, auth: BasicAuth | OAuthClientCredentials, *, ca_bundle: str | None = None,
                 policy: RetryPolicy = RetryPolicy(), requests_per_minute: int = DEFAULT_PER_MINUTE) -> None:
        super().__init__(api_url, auth, ca_bundle=ca_bundle, policy=policy, requests_per_minute=requests_per_minute)
        self.apps = AppsApi(self)
        self.groups = GroupsApi(self)
        self.profiles = ProfilesApi(self)
        self.rollout = RolloutApi(self, self.profiles)
        self.devices = DevicesApi(self)
        self.certificates = CertificatesApi(self, self.profiles, self.rollout)

