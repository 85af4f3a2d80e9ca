"""Screens and files that tell the truth (issue 26): the Done screen names every wave and says what a removal left,
a removal resets verify (Resume showed "Verify ✓" after `odatui remove`), each target exports into its own folder,
and the sandbox re-pushes the profile to the Macs of a smart group odatui created (it answered 422)."""

from __future__ import annotations

from types import SimpleNamespace

from rollout import demo_factory, odatui_cli  # noqa: F401 - demo_factory is a fixture
from test_tui_snapshots import make_app, show_done

from odatui.core.config import parse_config, save_config
from odatui.core.state import StateStore
from odatui.tui.results import created_lines


def _config(session, **tables):
    data = session.sandbox.config_dict()
    data["rollout"]["package"] = str(session.package)
    for table, values in tables.items():
        data[table].update(values)
    config = parse_config(data, source="test")
    save_config(config, session.config_path)
    return config


def test_done_lists_every_wave():
    steps = {"preflight.ws1": SimpleNamespace(status="succeeded", glyph="✓", title="WS1", word="done", error=None)}
    outputs = {"preflight.ws1": {"smart_group_name": "Pilot", "smart_group_id": 1, "og_name": "ACME", "og_id": 570,
                                 "smart_groups": [{"id": 1, "name": "Pilot", "devices": 3},
                                                  {"id": 2, "name": "Everyone else", "devices": 27}]}}
    lines = created_lines(steps, outputs)
    assert any("Wave 1: smart group “Pilot” (id 1, 3 devices)" in line for line in lines), lines
    assert any("Wave 2: smart group “Everyone else” (id 2, 27 devices)" in line for line in lines), lines


async def test_done_says_what_a_removal_left_not_rollout_configured():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await show_done(pilot)
        title = app.screen.query_one(".screen-title")
        assert "Rollout configured" in str(title.render())
        app.screen.show_removed(0, "  removed profile 'Okta Platform SSO' (id 88)\n  removed app Okta Verify (id 1201)\n")
        await pilot.pause()
        assert "Removed: what odatui created for this target is gone" in str(title.render())
        created = "\n".join(str(w.render()) for w in app.screen.query(".created-line"))
        assert "removed profile 'Okta Platform SSO' (id 88)" in created and "✓ Workspace ONE profile" not in created
        assert "Rollout: removed" in str(app.screen.query_one("#rollout").render())


def test_two_targets_export_into_two_folders(isolated_home):
    from odatui.service.export import default_dir

    one = parse_config({"okta": {"org_url": "https://acme.okta.com"}, "ws1": {"group_id": "ACME"}})
    two = parse_config({"okta": {"org_url": "https://acme-preview.oktapreview.com"}, "ws1": {"group_id": "ACME"}})
    assert default_dir(one) != default_dir(two)
    assert default_dir(one).parent == default_dir(two).parent  # side by side, under the same export folder


def test_remove_resets_verify_so_resume_shows_no_stale_check(demo_factory, sandbox_env):
    session = demo_factory()
    config = _config(session)
    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    store = StateStore(config.target_key())
    assert store.load().steps["verify"].status == "succeeded"
    removed = odatui_cli("remove", "--yes", "--config", str(session.config_path))
    assert removed.returncode == 0, removed.stdout + removed.stderr
    # The canonical state (the engine may keep it under the tenant's identity): every step that vouched for a
    # removed object, verify included, is pending again.
    states = [StateStore(p.stem).load() for p in store.path.parent.glob("*.json")]
    verify = [s.steps["verify"].status for s in states if "verify" in s.steps]
    assert verify and all(v == "pending" for v in verify), verify


def test_repush_reaches_the_macs_of_a_group_odatui_created(demo_factory, sandbox_env):
    """WS1's install command for Macs of the smart group odatui created (criteria: macOS at or above the floor):
    the sandbox answered 422 "not assigned" for them while the device table listed them with the profile."""
    import asyncio

    from odatui.service.setup import make_engine
    from odatui.steps.base import Context

    session = demo_factory()
    config = _config(session, ws1={"smart_groups": ["Okta PSSO Created"], "create_smart_groups": True})
    applied = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    outputs = make_engine(config, session.secrets).state.outputs()
    ws1 = session.sandbox.world.emulators["ws1"]
    group = next(g for g in ws1.smart_groups if g["name"] == "Okta PSSO Created")
    assert group.get("created_via_api")  # odatui made it
    members = [d.id for d in ws1.sg_devices(group)][:3]
    assert members

    async def push() -> None:
        ctx = Context(config, session.secrets)
        try:
            for device_id in members:
                await ctx.ws1().install_profile(int(outputs["ws1.profile"]["profile_id"]), device_id)
        finally:
            await ctx.aclose()

    asyncio.run(push())  # raises on a 422
    installs = [i for i in ws1.profile_installs if i["device_id"] in members]
    assert len(installs) == len(members)


def test_resume_statuses_come_from_the_live_tenant(demo_factory, sandbox_env):
    """The wizard's Resume asks service.retry.live_statuses: a ✓ for a profile deleted since shows as stale."""
    import asyncio

    from odatui.service.setup import make_engine
    from odatui.service.retry import live_statuses
    from odatui.steps.base import Context

    session = demo_factory()
    config = _config(session)
    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    engine = make_engine(config, session.secrets)
    previous = {sid: rec.status for sid, rec in engine.state.steps.items()}
    assert previous["ws1.profile"] == "succeeded"

    async def delete_profile_by_hand() -> None:
        ctx = Context(config, session.secrets)
        try:
            await ctx.ws1().delete_profile(int(engine.state.outputs()["ws1.profile"]["profile_id"]))
        finally:
            await ctx.aclose()

    same, offline = asyncio.run(live_statuses(engine, previous))
    assert offline is None and same == previous  # nothing changed: every ✓ stands
    asyncio.run(delete_profile_by_hand())
    now, offline = asyncio.run(live_statuses(make_engine(config, session.secrets), previous))
    assert offline is None and now["ws1.profile"] == "stale", now
    assert now["okta.app"] == "succeeded"
