"""Every response the sandbox sends during a whole `apply` — Okta with an API token and as an RSA service app with
DPoP, and WS1 — checked against the vendor specs in ../shared/vendor (Okta management OpenAPI, UEM 2604 swagger):
0 violations. Requests are checked too (both sides of each exchange)."""

from __future__ import annotations

import asyncio

import pytest
from okta_contract import ContractRecorder
from rollout import demo_factory  # noqa: F401 - fixture
from ws1_contract import Ws1Contract, record

from conftest import vendor_path
from odatui.engine.scheduler import Engine
from odatui.mdm import run_order
from odatui.okta.client import OktaClient
from odatui.core.state import StateStore
from odatui.mdm.ws1.api.client import Ws1Client


@pytest.mark.parametrize("okta_auth", ["api_token", "service_app"])
def test_every_response_of_a_whole_apply_is_in_the_vendor_contracts(demo_factory, okta_auth, monkeypatch):
    session = demo_factory()
    sb = session.sandbox
    config = session.config
    if okta_auth == "service_app":
        okta = sb.world.emulators["okta"]
        okta.require_dpop = True  # the service app requires DPoP-bound tokens
        config = config.model_copy(update={"okta": config.okta.model_copy(update={
            "auth": "service_app", "service_app_client_id": okta.service_app_client_id})})
        monkeypatch.setenv("ODATUI_OKTA__PRIVATE_KEY", okta.service_app_key_path.read_text())
    okta_seen = ContractRecorder()
    lists: list[list] = []  # one recording per WS1 client the engine makes

    def factory(kind, ctx):
        if kind == "okta":
            return OktaClient.from_config(ctx.config.okta, ctx.secrets, event_hooks={
                "request": [okta_seen.on_request], "response": [okta_seen.on_response]})
        client = Ws1Client.from_config(ctx.config.ws1, ctx.secrets)
        lists.append(record(client.http))
        return client

    store = StateStore(config.target_key(), sb.data_dir / "runs")
    result = asyncio.run(Engine(config, session.secrets, store, steps=run_order(config), client_factory=factory).run())
    assert result.exit_code == 0
    exchanges = [e for one in lists for e in one]
    assert len(okta_seen.checked) >= 10 and len(exchanges) >= 10  # the recorders really saw the run
    problems = Ws1Contract(vendor_path("ws1", "2604")).problems(exchanges)
    assert problems == [], "\n".join(problems)
    if okta_auth == "service_app":
        tokens = [r["status"] for r in sb.world.requests if r["path"] == "/oauth2/v1/token"]
        assert 400 in tokens and tokens[-1] == 200  # DPoP was really required and met
