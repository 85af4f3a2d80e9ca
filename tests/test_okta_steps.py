"""The Okta steps against the sandbox over HTTPS: preflight checks, the app-absent → admin adds it → found flow,
candidates, client ID cross-check, idempotent assignment (no second PUT), auth none, and every error code as an
admin sentence."""

from __future__ import annotations

import ssl

import httpx
import pytest

from odatui.core.config import parse_config
from odatui.core.errors import UsageError, ConfigError, NeedsAction, StepError
from odatui.core.http import RetryPolicy
from odatui.okta.client import OktaApiError, OktaClient
from odatui.core.secrets import SecretStore
from odatui.steps.base import ChangeKind, Context, Progress
from odatui.steps.okta import STEPS
from odatui.steps.okta_app import OktaApp
from odatui.steps.okta_assign import OktaAssign
from odatui.steps.okta_common import ADD_APP_ACTION, admin_error
from odatui.steps.okta_preflight import PreflightOkta


def context(sb, okta_auth="api_token", page_size=200, **okta) -> Context:
    data = sb.config_dict(okta_auth)
    data["okta"].update(okta)
    config = parse_config(data, source="test")

    def factory(kind, ctx):
        return OktaClient.from_config(ctx.config.okta, ctx.secrets, page_size=page_size,
                                      policy=RetryPolicy(attempts=3, base=0.01, cap=0.02))

    return Context(config, SecretStore(use_keychain=False), client_factory=factory)


def admin(sb, path, **body):
    return httpx.post(f"{sb.url}{path}", json=body, verify=ssl.create_default_context(cafile=str(sb.ca_path)))


async def run(step, ctx):
    change = await step.inspect(ctx)
    outputs = await step.apply(ctx, Progress())
    ctx.outputs[step.id] = outputs
    return change, outputs


def test_step_ids():
    assert [s.id for s in STEPS] == ["preflight.okta", "okta.app", "okta.assign"]
    # okta.assign waits for preflight.ws1: each wave's Okta groups are checked against its Macs' users.
    assert OktaAssign.needs == ("okta.app", "preflight.ws1") and OktaApp.needs == ("preflight.okta",)


@pytest.mark.parametrize("mode", ["api_token", "service_app"])
async def test_full_okta_branch_then_idempotent_rerun(sandbox, sandbox_env, monkeypatch, mode):
    if mode == "service_app":
        monkeypatch.setenv("ODATUI_OKTA__PRIVATE_KEY", sandbox.okta_service_app()[1].read_text())
    ctx = context(sandbox, mode, groups=["Mac Pilot", "Everyone"])
    try:
        change, pre = await run(PreflightOkta(), ctx)
        assert change.kind is ChangeKind.NONE and pre["pipeline"] == "idx" and pre["okta_verify"] == "ACTIVE"
        change, app = await run(OktaApp(), ctx)
        assert app["label"] == "Platform Single Sign-On for macOS" and app["client_id"].startswith("0oa")
        assert app["org_host"] == ctx.config.okta.host and app["manual"] is False
        change, assigned = await run(OktaAssign(), ctx)
        assert change.kind is ChangeKind.CREATE
        assert assigned["assigned"] == ["Mac Pilot", "Everyone"] and set(assigned["group_ids"]) == {"Mac Pilot", "Everyone"}
        puts = [r for r in sandbox.world.requests if r["method"] == "PUT"]
        assert len(puts) == 2
        # second run: nothing to do, no write request
        change = await OktaAssign().inspect(ctx)
        assert change.kind is ChangeKind.NONE and change.outputs["group_ids"] == assigned["group_ids"]
        await OktaAssign().apply(ctx, Progress())
    finally:
        await ctx.aclose()
    assert [r for r in sandbox.world.requests if r["method"] == "PUT"] == puts  # the re-run wrote nothing
    assert len(sandbox.state()["okta"]["group_assignments"]) == 2


async def test_absent_app_needs_action_until_admin_adds_it(sandbox_factory, sandbox_env):
    sb = sandbox_factory(psso_app="absent")
    ctx = context(sb, page_size=2)
    step = OktaApp()
    try:
        change = await step.inspect(ctx)
        assert change.kind is ChangeKind.NEEDS_ACTION
        assert change.action == ADD_APP_ACTION
        assert "Applications → Browse App Catalog" in change.action and "Add integration" in change.action
        with pytest.raises(NeedsAction) as info:
            await step.apply(ctx, Progress())
        assert info.value.exit_code == 3 and "Browse App Catalog" in str(info.value)
        # labels with the same prefix make the q search span several pages of 2
        for label in ("Platform Single Sign-On for macOS (old test)", "Platform Single Sign-On for macOS 2",
                      "Platform Single Sign-On for macOS 3"):
            admin(sb, "/_sandbox/okta/psso-app", label=label)
        assert (await step.inspect(ctx)).kind is ChangeKind.NEEDS_ACTION
        created = admin(sb, "/_sandbox/okta/psso-app").json()
        change = await step.inspect(ctx)
        assert change.kind is ChangeKind.NONE and change.outputs["app_id"] == created["id"]
        assert (await step.apply(ctx, Progress()))["client_id"] == created["id"]
    finally:
        await ctx.aclose()
    app_queries = [r for r in sb.world.requests if r["path"] == "/api/v1/apps"]
    assert any("after=" in r["query"] for r in app_queries)


async def test_former_name_is_found_and_several_candidates_need_a_choice(sandbox_factory, sandbox_env):
    sb = sandbox_factory(psso_app="absent")
    former = admin(sb, "/_sandbox/okta/psso-app", label="Desktop Password Sync").json()
    ctx = context(sb)
    try:
        change = await OktaApp().inspect(ctx)
        assert change.outputs["app_id"] == former["id"] and change.outputs["label"] == "Desktop Password Sync"
        current = admin(sb, "/_sandbox/okta/psso-app").json()
        change = await OktaApp().inspect(ctx)
        assert change.kind is ChangeKind.NEEDS_ACTION
        assert former["id"] in change.action and current["id"] in change.action and "okta.app_id" in change.action
    finally:
        await ctx.aclose()
    chosen = context(sb, app_id=current["id"])
    try:
        assert (await OktaApp().inspect(chosen)).outputs["app_id"] == current["id"]
    finally:
        await chosen.aclose()


async def test_inactive_app_is_activated_not_added_again(sandbox_factory, sandbox_env):
    sb = sandbox_factory(psso_app="absent")
    created = admin(sb, "/_sandbox/okta/psso-app", status="INACTIVE").json()
    ctx = context(sb)
    try:
        change = await OktaApp().inspect(ctx)
        assert change.kind is ChangeKind.UPDATE and "INACTIVE" in change.summary
        assert change.action != ADD_APP_ACTION and "catalog" not in change.summary.lower()
        outputs = await OktaApp().apply_change(ctx, Progress(), change)
    finally:
        await ctx.aclose()
    assert outputs["app_id"] == created["id"] and outputs["client_id"] == created["id"]
    psso = [a for a in sb.state()["okta"]["apps"] if a["label"] == "Platform Single Sign-On for macOS"]
    assert [(a["id"], a["status"]) for a in psso] == [(created["id"], "ACTIVE")]  # the same app, now active
    posts = [r["path"] for r in sb.world.requests if r["method"] == "POST" and r["path"].startswith("/api/")]
    assert posts == [f"/api/v1/apps/{created['id']}/lifecycle/activate"]


async def test_inactive_app_with_read_only_credentials_says_activate_it(sandbox_factory, sandbox_env):
    sb = sandbox_factory(psso_app="absent")
    admin(sb, "/_sandbox/okta/psso-app", status="INACTIVE")
    admin(sb, "/_sandbox/okta/settings", token_read_only=True)
    ctx = context(sb)
    try:
        change = await OktaApp().inspect(ctx)
        with pytest.raises(NeedsAction) as info:
            await OktaApp().apply_change(ctx, Progress(), change)
    finally:
        await ctx.aclose()
    text = str(info.value)
    assert "Activate" in text and "INACTIVE" in text and "Browse App Catalog" not in text
    psso = [a for a in sb.state()["okta"]["apps"] if a["label"] == "Platform Single Sign-On for macOS"]
    assert [a["status"] for a in psso] == ["INACTIVE"]


async def test_non_oidc_app_is_used_with_a_warning_never_add_from_catalog(sandbox_factory, sandbox_env):
    sb = sandbox_factory(psso_app="absent")
    created = admin(sb, "/_sandbox/okta/psso-app", signOnMode="SAML_2_0").json()
    assert created["signOnMode"] == "SAML_2_0"
    ctx = context(sb)
    try:
        change = await OktaApp().inspect(ctx)
    finally:
        await ctx.aclose()
    assert change.kind is ChangeKind.NONE and change.outputs["app_id"] == created["id"]
    assert any(d.startswith("warning:") and "SAML_2_0" in d for d in change.details)
    assert change.action != ADD_APP_ACTION


def test_sandbox_psso_app_route_refuses_unknown_states(sandbox):
    assert admin(sandbox, "/_sandbox/okta/psso-app", status="DELETED").status_code == 400
    assert admin(sandbox, "/_sandbox/okta/psso-app", signOnMode="NOPE").status_code == 400


async def test_typed_client_id_mismatch_names_both(sandbox, sandbox_env):
    ctx = context(sandbox, client_id="0oa" + "X" * 17)
    try:
        with pytest.raises(StepError) as info:
            await OktaApp().inspect(ctx)
        actual = [a for a in sandbox.state()["okta"]["apps"] if a["label"] == "Platform Single Sign-On for macOS"][0]["client_id"]
        assert "0oaXXXXXXXXXXXXXXXXX" in str(info.value) and actual in str(info.value)
    finally:
        await ctx.aclose()


async def test_missing_group_is_an_error_naming_it(sandbox, sandbox_env):
    ctx = context(sandbox, groups=["Mac Pilot", "Mac Pilots"])
    try:
        _, app = await run(OktaApp(), ctx)
        with pytest.raises(UsageError) as info:  # bad input: exit 2, naming the field
            await OktaAssign().inspect(ctx)
    finally:
        await ctx.aclose()
    assert '"Mac Pilots" does not exist' in str(info.value) and "okta.groups" in str(info.value)
    assert sandbox.state()["okta"]["group_assignments"] == []


async def test_existing_assignment_is_left_alone(sandbox, sandbox_env):
    ctx = context(sandbox, groups=["Mac Pilot"])
    try:
        _, app = await run(OktaApp(), ctx)
        client = ctx.okta()
        pilot = await client.group_by_name("Mac Pilot")
        await client.assign_group(app["app_id"], pilot["id"], priority=5)
        change = await OktaAssign().inspect(ctx)
        await OktaAssign().apply(ctx, Progress())
    finally:
        await ctx.aclose()
    assert change.kind is ChangeKind.NONE
    assert sandbox.state()["okta"]["group_assignments"][0]["priority"] == 5
    assert len([r for r in sandbox.world.requests if r["method"] == "PUT"]) == 1


async def test_auth_none_is_a_checklist_with_the_typed_client_id(sandbox):
    ctx = context(sandbox, "none")
    try:
        change, pre = await run(PreflightOkta(), ctx)
        assert pre["credentials"] is None and any("no API access" in d for d in change.details)
        app_change = await OktaApp().inspect(ctx)
        assign_change = await OktaAssign().inspect(ctx)
    finally:
        await ctx.aclose()
    typed = ctx.config.okta.client_id
    assert app_change.kind is ChangeKind.NONE
    assert app_change.outputs == {"client_id": typed, "org_host": ctx.config.okta.host, "app_id": None,
                                  "label": "Platform Single Sign-On for macOS", "manual": True}
    assert any("Browse App Catalog" in d for d in app_change.details)
    assert any(typed in d for d in app_change.details)
    assert assign_change.kind is ChangeKind.NONE and "Mac Pilot" in assign_change.details[0]
    paths = {r["path"] for r in sandbox.world.requests}
    # No API call without API access: only the two public well-known files (org metadata, and the
    # apple-app-site-association that the readiness check reads).
    assert paths == {"/.well-known/okta-organization", "/.well-known/apple-app-site-association"}


async def test_auth_none_without_client_id_is_a_config_error(sandbox):
    data = sandbox.config_dict("none")
    data["okta"].pop("client_id", None)
    ctx = Context(parse_config(data), SecretStore(use_keychain=False))
    with pytest.raises(ConfigError, match="okta.client_id is required"):
        await OktaApp().inspect(ctx)


async def test_preflight_classic_org_fails_with_reason(sandbox, sandbox_env):
    admin(sandbox, "/_sandbox/okta/settings", pipeline="v1")
    ctx = context(sandbox)
    try:
        with pytest.raises(StepError) as info:
            await PreflightOkta().inspect(ctx)
    finally:
        await ctx.aclose()
    assert "Classic Engine" in str(info.value) and "Identity Engine" in str(info.value)


async def test_preflight_okta_verify_inactive(sandbox, sandbox_env):
    admin(sandbox, "/_sandbox/okta/settings", authenticator_status="INACTIVE")
    ctx = context(sandbox)
    try:
        with pytest.raises(StepError) as info:
            await PreflightOkta().inspect(ctx)
    finally:
        await ctx.aclose()
    assert "Okta Verify authenticator is inactive" in str(info.value)
    assert "Security → Authenticators" in info.value.hint


async def test_preflight_mentions_custom_domain(sandbox_factory, sandbox_env):
    sb = sandbox_factory(custom_domain="login.acme.example")
    ctx = context(sb)
    try:
        change = await PreflightOkta().inspect(ctx)
    finally:
        await ctx.aclose()
    assert change.outputs["custom_domain"] == "login.acme.example"
    assert "same host must be used everywhere" in " ".join(change.details)
    # Using another host than the custom domain is a readiness warning, said once (not a detail line as well).
    assert any("okta.org_url = https://login.acme.example" in w for w in change.warnings)
    assert not any("okta.org_url = https://login.acme.example" in d for d in change.details)


async def test_preflight_untrusted_tls_names_ca_bundle(sandbox, sandbox_env):
    ctx = context(sandbox)
    # a client that does not trust the sandbox CA, as odatui would be behind an unknown TLS-inspecting proxy
    ctx._client_factory = lambda kind, c: OktaClient(sandbox.url, api_token="x",
                                                       policy=RetryPolicy(attempts=1))
    try:
        with pytest.raises(StepError) as info:
            await PreflightOkta().inspect(ctx)
    finally:
        await ctx.aclose()
    assert "not trusted" in str(info.value) and "ca_bundle" in info.value.hint


@pytest.mark.parametrize("settings,mode,code,sentence", [
    ({}, "bad_token", "E0000011", "Okta rejected the API token"),
    ({"token_read_only": True}, "api_token", "E0000006", "The API token may not assign group"),
    ({"pipeline": "v1"}, "authenticators", "E0000015", "not licensed"),
    ({"granted_scopes": ["okta.apps.read"]}, "service_app", "invalid_scope", "not granted every scope"),
    ({"require_dpop": True, "clock_skew_seconds": 3600}, "service_app", "invalid_dpop_proof", "DPoP proof"),
])
async def test_error_codes_become_admin_sentences(sandbox, sandbox_env, monkeypatch, settings, mode, code, sentence):
    admin(sandbox, "/_sandbox/okta/settings", **settings)
    if mode == "bad_token":
        monkeypatch.setenv("ODATUI_OKTA__API_TOKEN", "revoked-token-value")
    if mode == "service_app":
        monkeypatch.setenv("ODATUI_OKTA__PRIVATE_KEY", sandbox.okta_service_app()[1].read_text())
    ctx = context(sandbox, "service_app" if mode == "service_app" else "api_token")
    client = ctx.okta()
    try:
        with pytest.raises(OktaApiError) as raw:
            if mode == "api_token":
                [app] = await client.apps_by_label("Platform Single Sign-On for macOS")
                group = await client.group_by_name("Mac Pilot")
                await client.assign_group(app["id"], group["id"])
            elif mode == "authenticators":
                await client.authenticators()
            else:
                await client.check_credentials()
    finally:
        await ctx.aclose()
    assert raw.value.error_code == code
    err = admin_error(raw.value, ctx.config.okta)
    assert sentence in str(err) and err.hint and code in str(err)
    assert "revoked-token-value" not in str(err)


def test_invalid_client_and_rate_limit_sentences():
    cfg = parse_config({"okta": {"org_url": "https://acme.okta.com", "auth": "service_app"}}).okta
    err = admin_error(OktaApiError(401, "invalid_client", "The client_assertion signature is invalid."), cfg)
    assert "private_key_jwt" in str(err) and "public key registered" in err.hint
    err = admin_error(OktaApiError(429, "E0000047", "API call exceeded rate limit"), cfg)
    assert "rate limit" in str(err) and err.retryable


async def test_revoked_token_in_a_step_raises_the_sentence(sandbox, monkeypatch):
    monkeypatch.setenv("ODATUI_OKTA__API_TOKEN", "revoked-token-value")
    ctx = context(sandbox)
    try:
        with pytest.raises(StepError) as info:
            await PreflightOkta().inspect(ctx)
    finally:
        await ctx.aclose()
    assert "Okta rejected the API token" in str(info.value) and "E0000011" in str(info.value)
    assert "odatui secrets set okta.api_token" in info.value.hint
