"""Split hosts: the sandbox's Okta org, WS1 API and WS1 token service each on their own port, as three hosts are for
real. A whole apply works with each client pointed at its own host, and a config that mixes them up fails with one
readable sentence naming the setting to fix."""

from __future__ import annotations

import asyncio

import pytest

from odatui.mdm import run_order
from odatui.core.config import parse_config
from odatui.engine.scheduler import Engine
from odatui.core.errors import OdatuiError
from odatui.sandbox.samplepkg import make_sample_pkg
from odatui.core.secrets import SecretStore
from odatui.core.state import StateStore
from odatui.steps.base import Context
from odatui.steps.okta_preflight import PreflightOkta
from odatui.mdm.ws1.steps import STEPS as WS1_STEPS


@pytest.fixture
def split(sandbox_factory):
    return sandbox_factory(split_hosts=True)


def config(sb, tmp_path, **tables):
    data = sb.config_dict()
    package = tmp_path / "OktaVerify-9.52.0.pkg"
    make_sample_pkg(package, version="9.52.0")
    data["rollout"]["package"] = str(package)
    for table, values in tables.items():
        data[table].update(values)
    return parse_config(data, source="test")


def test_each_client_uses_its_own_host_and_apply_succeeds(split, sandbox_env, tmp_path):
    assert len({split.url, split.okta_url, split.ws1_url, split.ws1_token_url}) == 4
    cfg = config(split, tmp_path, ws1={"auth": "oauth", "oauth_client_id": "sandbox-oauth-client"})
    assert cfg.okta.org_url == split.okta_url and cfg.ws1.api_url == split.ws1_url
    assert cfg.ws1.token_url == f"{split.ws1_token_url}/connect/token"
    store = StateStore(cfg.target_key(), tmp_path / "runs")
    result = asyncio.run(Engine(cfg, SecretStore(use_keychain=False), store, steps=run_order(cfg)).run())
    assert result.exit_code == 0
    refused = [r for r in split.world.requests if r["status"] == 404 and r["path"] != "/api/mdm/smartgroups/search"]
    assert refused == []  # no call went to the wrong host


async def test_okta_org_url_pointing_at_the_ws1_host_names_the_setting(split, sandbox_env, tmp_path):
    cfg = config(split, tmp_path, okta={"org_url": split.ws1_url})
    ctx = Context(cfg, SecretStore(use_keychain=False))
    try:
        with pytest.raises(OdatuiError) as info:
            await PreflightOkta().inspect(ctx)
    finally:
        await ctx.aclose()
    assert "not an Okta API answer" in str(info.value) and "okta.org_url" in (info.value.hint or "")


async def test_ws1_api_url_pointing_at_the_okta_org_names_the_setting(split, sandbox_env, tmp_path):
    cfg = config(split, tmp_path, ws1={"api_url": split.okta_url})
    ctx = Context(cfg, SecretStore(use_keychain=False))
    try:
        with pytest.raises(OdatuiError) as info:
            await WS1_STEPS[0].inspect(ctx)
    finally:
        await ctx.aclose()
    assert "ws1.api_url" in (info.value.hint or "") and "Okta" in (info.value.hint or "")


async def test_ws1_token_url_pointing_at_the_api_host_names_the_setting(split, sandbox_env, tmp_path):
    cfg = config(split, tmp_path, ws1={"auth": "oauth", "oauth_client_id": "sandbox-oauth-client",
                                       "oauth_token_url": f"{split.ws1_url}/connect/token"})
    ctx = Context(cfg, SecretStore(use_keychain=False))
    try:
        with pytest.raises(OdatuiError) as info:
            await WS1_STEPS[0].inspect(ctx)
    finally:
        await ctx.aclose()
    text = f"{info.value} {info.value.hint}"
    assert "404" in text and "token" in text.lower()
