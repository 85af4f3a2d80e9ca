"""The wizard's session keeps typed secrets through the store's public API: in memory, redacted in logs, never in
the keychain unless Next stores them there."""

from __future__ import annotations

from pathlib import Path

import pytest

from odatui.core.errors import UsageError
from odatui.core.log import REDACTED, redact
from odatui.core.secrets import SecretStore
from odatui.tui.session import Session


def test_remember_keeps_the_value_in_memory_and_redacts_it(monkeypatch):
    monkeypatch.setenv("ODATUI_WS1__PASSWORD", "from-the-environment")
    store = SecretStore(use_keychain=True)
    store.remember("ws1.password", "typed-in-the-wizard-1234")
    assert store._probe is None  # the keychain was not asked
    assert store.get("ws1.password") == "typed-in-the-wizard-1234"  # ahead of the environment
    assert redact("login failed for typed-in-the-wizard-1234") == f"login failed for {REDACTED}"
    store.remember("ws1.password", "")
    assert store.get("ws1.password") == "from-the-environment"


def test_remember_refuses_an_unknown_name():
    with pytest.raises(UsageError, match="unknown secret 'okta.apitoken'") as info:
        SecretStore(use_keychain=False).remember("okta.apitoken", "x" * 20)
    assert "okta.api_token" in info.value.hint


def test_session_keep_goes_through_the_store():
    session = Session()
    session.secrets = SecretStore(use_keychain=False)
    session.keep("okta.api_token", "00typed-token-value")
    assert session.secrets.get("okta.api_token") == "00typed-token-value"
    assert session.secret("okta.api_token") == "00typed-token-value"
    assert session.secret_source("okta.api_token") == "this session only"


def test_the_tui_never_reaches_into_the_store():
    tui = Path(__file__).resolve().parents[1] / "odatui" / "tui"
    offenders = [str(p.relative_to(tui)) for p in tui.rglob("*.py") if "._values" in p.read_text()]
    assert offenders == []


def test_secrets_already_in_the_environment_prefill_and_are_not_stored_again(monkeypatch, tmp_path):
    """An admin who exported ODATUI_* variables is not asked for them again, and Next does not copy them into
    the keychain (the fail backend here would refuse any write, so a write attempt would raise)."""
    monkeypatch.setenv("ODATUI_OKTA__API_TOKEN", "00token-from-the-environment")
    config = tmp_path / "answers.toml"
    config.write_text('[okta]\norg_url = "https://acme.okta.com"\n')
    session = Session(str(config))
    session.load()
    assert session.secret("okta.api_token") == "00token-from-the-environment"
    assert session.secret_source("okta.api_token") == "env ODATUI_OKTA__API_TOKEN"
    assert session.secret("ws1.password") == "" and session.secret_source("ws1.password") == "not set"
    assert session.remember({"okta.api_token": "00token-from-the-environment"}) == []
    # A different value typed over it is the admin's new choice: kept for the session (no keychain here).
    session.remember({"okta.api_token": "00typed-over-the-env-value"})
    assert session.secrets.get("okta.api_token") == "00typed-over-the-env-value"
    assert session.secret_source("okta.api_token") == "this session only"


def test_demo_export_folder_outlives_the_sandbox(isolated_home):
    """The sandbox's folder is temporary; the profiles the demo exported are still there after quitting."""
    from odatui.cli.demo import demo_factory

    session = Session(demo_factory=demo_factory())
    session.load()
    sandbox_dir = Path(session.demo.sandbox.data_dir)
    session.config.okta.client_id = "0oa1b2c3d4e5f6g7h8i9"  # as after okta.app found the app
    paths = session.export_profiles()
    session.close()
    assert paths and all(p.exists() for p in paths)
    assert not sandbox_dir.exists()
    assert all(sandbox_dir not in p.parents for p in paths)


def test_the_real_session_and_the_static_one_implement_the_same_protocol():
    """The wizard's Session and the tests' StaticSession both have every member of WizardSession, with the same
    signatures: a snapshot's session cannot drift from what the app really gets."""
    import inspect

    from support.static_session import StaticSession
    from odatui.tui.session import WizardSession

    members = [name for name in vars(WizardSession) if not name.startswith("_")]
    attributes = list(WizardSession.__annotations__)
    assert {"load", "open_run", "plan", "steps", "device_rows", "close"} <= set(members)
    real = Session()
    static = StaticSession()
    for cls, instance in ((Session, real), (StaticSession, static)):
        for name in attributes:
            assert hasattr(instance, name), f"{cls.__name__} has no attribute {name}"
        for name in members:
            assert callable(getattr(cls, name, None)), f"{cls.__name__} has no method {name}"
            want, got = inspect.signature(getattr(WizardSession, name)), inspect.signature(getattr(cls, name))
            assert list(got.parameters.values()) == list(want.parameters.values()), f"{cls.__name__}.{name}{got}"
            assert inspect.iscoroutinefunction(getattr(cls, name)) == \
                inspect.iscoroutinefunction(getattr(WizardSession, name)), f"{cls.__name__}.{name}: async or not"


def test_the_static_sessions_steps_are_the_products_own(tmp_path):
    """Ids, titles and needs of the fixed plan are the product's steps, in the run's order (no hand-written
    titles): the same as a run opened on those answers lists."""
    import asyncio

    from support.static_session import TITLES, StaticSession
    from odatui.service.run import open_run

    static = StaticSession()
    run = open_run(static.config, static.secrets, directory=tmp_path)
    assert [(v.id, v.title, v.needs) for v in static.steps()] == [(v.id, v.title, v.needs) for v in run.steps]
    assert TITLES == run.titles()
    rows = asyncio.run(static.plan())
    assert [(r.step_id, r.title, tuple(r.needs)) for r in rows] == [(v.id, v.title, v.needs) for v in run.steps]
