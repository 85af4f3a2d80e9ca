"""Replace on rename (issue 26), against the sandbox over HTTPS: after a run, a new rollout.profile_name makes
`plan` say `replace` (not `create`), `apply` creates the new profile and then removes the old one odatui created
(through `odatui remove`'s own path), and `verify` fails while two profiles odatui created target the same Macs."""

from __future__ import annotations

import asyncio
import json

import pytest
from rollout import demo_factory, odatui_cli  # noqa: F401 - demo_factory is a fixture

from odatui.core.config import parse_config, save_config
from odatui.core.errors import StepError
from odatui.service.setup import make_engine
from odatui.steps.base import Context
from odatui.mdm.ws1.steps.verify import Verify

NEW = "Okta Platform SSO (2026)"


def _config(session, **rollout):
    data = session.sandbox.config_dict()
    data["rollout"].update({"package": str(session.package), **rollout})
    config = parse_config(data, source="test")
    save_config(config, session.config_path)
    return config


def _profiles(session):
    return sorted((p["name"], p["id"]) for p in session.sandbox.state()["ws1"]["profiles"])


def test_a_renamed_profile_is_replaced_not_duplicated(demo_factory, sandbox_env):
    session = demo_factory()
    _config(session)
    first = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert first.returncode == 0, first.stdout + first.stderr
    [(old_name, old_id)] = _profiles(session)

    renamed = {"ODATUI_ROLLOUT__PROFILE_NAME": NEW}
    plan = odatui_cli("plan", "--json", "--config", str(session.config_path), env=renamed)
    assert plan.returncode == 0, plan.stderr
    row = next(r for r in json.loads(plan.stdout) if r["id"] == "ws1.profile")
    assert row["change"] == "replace", row
    assert old_name in row["summary"] and NEW in row["summary"] and str(old_id) in row["summary"]
    table = odatui_cli("plan", "--config", str(session.config_path), env=renamed)
    assert "replace" in table.stdout and "create the macOS profile" not in table.stdout
    assert _profiles(session) == [(old_name, old_id)]  # plan changed nothing

    applied = odatui_cli("apply", "--yes", "--config", str(session.config_path), env=renamed)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    [(name, new_id)] = _profiles(session)  # exactly one profile, the new one
    assert name == NEW and new_id != old_id
    # Created before the old one went (create_before_destroy): the Macs were never without a profile.
    writes = [(r["method"], r["path"]) for r in session.sandbox.world.requests
              if r["method"] in ("POST", "DELETE") and "profiles" in r["path"]]
    deleted = [n for n, (m, p) in enumerate(writes) if m == "DELETE" and p.endswith(f"/{old_id}")]
    created = [n for n, (m, p) in enumerate(writes) if m == "POST" and p.endswith("/create")]
    assert len(deleted) == 1 and len(created) == 2 and created[1] < deleted[0], writes
    again = odatui_cli("plan", "--json", "--config", str(session.config_path), env=renamed)
    assert next(r for r in json.loads(again.stdout) if r["id"] == "ws1.profile")["change"] == "none"
    # The ledger forgot the old profile and holds the new one: remove lists exactly the new one.
    removal = odatui_cli("remove", "--yes", "--config", str(session.config_path), env=renamed)
    assert removal.returncode == 0, removal.stdout + removal.stderr
    assert f"id {new_id}" in removal.stdout and f"id {old_id}" not in removal.stdout
    assert _profiles(session) == []


def test_verify_fails_while_two_odatui_profiles_target_the_same_macs(demo_factory, sandbox_env):
    session = demo_factory()
    config = _config(session)
    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    engine = make_engine(config, session.secrets)
    state = engine.state

    async def check(created_extra):
        ctx = Context(config, session.secrets, state.outputs())
        ctx.created = {**state.created(), "ws1.profile": [*state.created()["ws1.profile"], *created_extra]}
        try:
            if created_extra:
                # A second profile, as odatui made before a rename it never finished, on the same smart group.
                body = await ctx.ws1().get_profile(int(state.outputs()["ws1.profile"]["profile_id"]))
                body["General"] = {**body["General"], "Name": "Okta Platform SSO (old)"}
                body["General"].pop("ProfileId", None)
                created_extra[0]["id"] = str(await ctx.ws1().create_macos_profile(body))
            return await Verify().inspect(ctx)
        finally:
            await ctx.aclose()

    assert asyncio.run(check([])).kind.value == "none"  # one profile: verify passes
    with pytest.raises(StepError) as failed:
        asyncio.run(check([{"kind": "ws1.profile", "id": "0", "name": "Okta Platform SSO (old)"}]))
    assert "which odatui also created, targets the same smart group" in failed.value.message
    assert "two Platform SSO profiles" in failed.value.message


def test_replace_leaves_an_old_profile_that_no_longer_says_it_is_odatuis(demo_factory, sandbox_env):
    """The old profile is removed through `remove`'s own checks: read back, it must still carry this target's marker
    (issue 27). One whose description another admin rewrote stays, and the step says so (exit 1), not silently."""
    session = demo_factory()
    _config(session)
    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    [(old_name, old_id)] = _profiles(session)
    profile = next(p for p in session.sandbox.world.emulators["ws1"].profiles.values() if p["id"] == old_id)
    profile["body"]["General"]["Description"] = "Platform SSO for the Berlin office (IT team)"  # no marker now
    applied = odatui_cli("apply", "--yes", "--config", str(session.config_path),
                         env={"ODATUI_ROLLOUT__PROFILE_NAME": NEW})
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert f"was not removed" in applied.stdout + applied.stderr
    assert (old_name, old_id) in _profiles(session)  # the other admin's edit is respected
