"""One transport for both vendor clients: the Okta and the Workspace ONE client retry through odatui.core.http.send (so a
retry reaches the step's pane the same way for both), and their errors share one ApiError shape. Against the
sandbox over real HTTPS."""

from __future__ import annotations

import pytest

from odatui.core.errors import ApiError
from odatui.core.http import RETRY_LISTENER, RetryPolicy
from odatui.okta.client import OktaApiError, OktaClient
from odatui.sandbox.credentials import OKTA_TOKEN, WS1_PASSWORD, WS1_TENANT_CODE, WS1_USER
from odatui.mdm.ws1.api.auth import BasicAuth
from odatui.mdm.ws1.api.client import Ws1Client
from odatui.mdm.ws1.api.errors import Ws1ApiError

FAST = RetryPolicy(attempts=3, base=0.01, cap=0.02)


def test_okta_and_ws1_errors_have_one_shape():
    okta = OktaApiError(429, "E0000047", "API call exceeded rate limit", operation="list apps")
    ws1 = Ws1ApiError(401, 1005, "Invalid credentials", what="organization group search")
    lost = Ws1ApiError(None, None, "cannot connect")
    assert isinstance(okta, ApiError) and isinstance(ws1, ApiError)
    assert (okta.status, okta.code, okta.operation, okta.retryable) == (429, "E0000047", "list apps", True)
    assert (ws1.status, ws1.code, ws1.operation, ws1.retryable) == (401, 1005, "organization group search", False)
    assert lost.status is None and lost.retryable  # no answer at all: trying again can help
    # The names callers used before the shared base stay.
    assert okta.error_code == "E0000047" and ws1.error_code == 1005 and ws1.api_message == "Invalid credentials"


@pytest.fixture
def heard():
    messages: list[str] = []
    token = RETRY_LISTENER.set(messages.append)
    yield messages
    RETRY_LISTENER.reset(token)


async def test_an_okta_retry_goes_through_the_shared_loop(sandbox_factory, heard):
    sb = sandbox_factory(fault_rules=[{"path": "/api/v1/apps", "fault": "503", "times": 1}])
    async with OktaClient(sb.url, api_token=OKTA_TOKEN, ca_bundle=str(sb.ca_path), policy=FAST) as okta:
        assert await okta.list_apps()
    assert len(heard) == 1 and heard[0].startswith("GET /api/v1/apps: HTTP 503; retry 1/2"), heard


async def test_a_ws1_retry_goes_through_the_shared_loop(sandbox_factory, heard):
    sb = sandbox_factory(fault_rules=[{"path": "/api/system/groups/search", "fault": "503", "times": 1}])
    auth = BasicAuth(WS1_USER, WS1_PASSWORD, WS1_TENANT_CODE)
    async with Ws1Client(sb.url, auth, ca_bundle=str(sb.ca_path), policy=FAST) as ws1:
        assert await ws1.groups.find_org_group("ACME") is not None
    assert len(heard) == 1 and heard[0].startswith("GET /api/system/groups/search: HTTP 503; retry 1/2"), heard


async def test_okta_gives_up_after_the_policy_attempts_with_its_own_error(sandbox_factory, heard):
    sb = sandbox_factory(fault_rules=[{"path": "/api/v1/apps", "fault": "503", "times": None}])
    async with OktaClient(sb.url, api_token=OKTA_TOKEN, ca_bundle=str(sb.ca_path), policy=FAST) as okta:
        with pytest.raises(OktaApiError) as info:
            await okta.list_apps()
    assert info.value.status == 503 and info.value.retryable
    assert len(heard) == FAST.attempts - 1  # every attempt but the last announced its retry
