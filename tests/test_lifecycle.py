"""The rollout lifecycle against the real sandbox over HTTPS: waves of smart groups, smart-group creation, an
Okta Verify upgrade (real xar packages from bsdtar), and `odatui remove` (also killed with SIGKILL and resumed).
Other admins' rules survive every step; the run state's ledger decides what odatui may remove."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from pkgs import Comp, needs_bsdtar, product_pkg
from rollout import REPO, demo_factory, odatui_cli  # noqa: F401 - demo_factory is a fixture
from ws1_contract import sandbox_requests

from odatui.core.config import parse_config, save_config
from odatui.cli.remove import cmd_remove
from odatui.service.setup import make_engine
from odatui.core.state import StateStore
from odatui.mdm.ws1.steps.common import RULE_NAME_PREFIX

PILOT, MACS = "Okta PSSO Pilot", "Okta PSSO Macs"
THEIRS = "Self-service for everyone (another admin)"


def config_for(session, package=None, **changes):
    data = session.sandbox.config_dict()
    data["rollout"]["package"] = str(package or session.package)
    for key, value in changes.items():
        table, name = key.split("__")
        data[table][name] = value
    config = parse_config(data, source="test")
    save_config(config, session.config_path)
    return config


def apply(session, config):
    engine = make_engine(config, session.secrets)
    result = asyncio.run(engine.run())
    return result, engine


def plan(session, config):
    return {r.step_id: r for r in asyncio.run(make_engine(config, session.secrets).plan())}


def remove(session, *, yes=True, include_adopted=False):
    out = io.StringIO()
    args = SimpleNamespace(config=str(session.config_path), yes=yes, include_adopted=include_adopted)
    return cmd_remove(args, out=out), out.getvalue()


def ws1(session):
    return session.sandbox.state()["ws1"]


def groups_by_uuid(state):
    return {g["uuid"]: g["name"] for g in state["smart_groups"]}


def rules_of(state, app_uuid):
    """[(rule name, [smart group names])] of one app, in priority order."""
    names = groups_by_uuid(state)
    for entry in state["assignment_rules"]:
        if entry["app_uuid"] == app_uuid:
            return [(r["distribution"]["name"], [names[u] for u in r["distribution"]["smart_groups"]])
                    for r in entry["assignments"]]
    return []


def active_app(state):
    active = [a for a in state["apps"] if a["status"] == "Active"]
    assert len(active) == 1, state["apps"]
    return active[0]


def profile_groups(state):
    assert len(state["profiles"]) == 1
    return sorted(g["Name"] for g in state["profiles"][0]["body"]["General"]["AssignedSmartGroups"])


def add_their_rule(session, app_uuid, name=THEIRS, method="ON_DEMAND"):
    """Another admin adds a rule (On-Demand unless said) for "All Macs" in the console."""
    from odatui.mdm.ws1.api.client import Ws1Client

    async def go():
        client = Ws1Client.from_config(config_for(session).ws1, session.secrets)
        try:
            all_macs = (await client.search_smart_groups("All Macs"))[0]
            current = await client.get_assignment_rules(app_uuid)
            rules = [{k: v for k, v in r.items() if k not in ("id", "uuid")} for r in current["assignments"]]
            rules.append({"priority": len(rules), "distribution": {"name": name, "smart_groups": [all_macs.uuid],
                                                                   "app_delivery_method": method}})
            await client.put_assignment_rules(app_uuid, {"assignments": rules, "excluded_smart_groups": []})
        finally:
            await client.aclose()

    asyncio.run(go())


@pytest.fixture
def session(demo_factory, sandbox_env):
    return demo_factory()


# --------------------------------------------------------------------------------------------- waves


def test_waves_widen_then_narrow_and_other_admins_rules_survive(session):
    result, _ = apply(session, config_for(session, ws1__smart_groups=[PILOT]))
    assert result.exit_code == 0
    state = ws1(session)
    app = active_app(state)
    add_their_rule(session, app["uuid"])

    widened = config_for(session, ws1__smart_groups=[PILOT, MACS])
    rows = plan(session, widened)
    assert rows["ws1.assign"].change.kind.value == "update" and any(MACS in d for d in rows["ws1.assign"].change.details)
    assert rows["ws1.profile"].change.kind.value == "update"
    assert apply(session, widened)[0].exit_code == 0
    state = ws1(session)
    assert rules_of(state, app["uuid"]) == [(f"{RULE_NAME_PREFIX} {PILOT}", [PILOT]), (f"{RULE_NAME_PREFIX} {MACS}", [MACS]),
                                            (THEIRS, ["All Macs"])]
    assert profile_groups(state) == sorted([PILOT, MACS])

    assert apply(session, config_for(session, ws1__smart_groups=[MACS]))[0].exit_code == 0
    state = ws1(session)
    assert rules_of(state, app["uuid"]) == [(f"{RULE_NAME_PREFIX} {MACS}", [MACS]), (THEIRS, ["All Macs"])]
    assert profile_groups(state) == [MACS]
    assert len(state["apps"]) == 1

    # The single `smart_group` is a one-item list: the same tenant, nothing to do.
    rows = plan(session, config_for(session, ws1__smart_groups=[], ws1__smart_group=MACS))
    assert {rows[s].change.kind.value for s in ("ws1.assign", "ws1.profile")} == {"none"}


def test_a_group_the_admin_already_covered_is_adopted_and_never_removed(session):
    """Narrowing the wave drops only rules odatui added: a group another admin had assigned (Auto) stays."""
    assert apply(session, config_for(session, ws1__smart_groups=[MACS]))[0].exit_code == 0
    app = active_app(ws1(session))
    from odatui.mdm.ws1.api.client import Ws1Client

    async def their_auto_rule_for_pilot():
        client = Ws1Client.from_config(config_for(session).ws1, session.secrets)
        try:
            pilot = [g for g in await client.search_smart_groups(PILOT) if g.name == PILOT][0]
            current = await client.get_assignment_rules(app["uuid"])
            rules = [{k: v for k, v in r.items() if k not in ("id", "uuid")} for r in current["assignments"]]
            rules.append({"priority": len(rules), "distribution": {"name": "Pilot (their rule)",
                                                                   "smart_groups": [pilot.uuid],
                                                                   "app_delivery_method": "AUTO"}})
            await client.put_assignment_rules(app["uuid"], {"assignments": rules, "excluded_smart_groups": []})
        finally:
            await client.aclose()

    asyncio.run(their_auto_rule_for_pilot())
    assert apply(session, config_for(session, ws1__smart_groups=[MACS, PILOT]))[0].exit_code == 0
    assert apply(session, config_for(session, ws1__smart_groups=[MACS]))[0].exit_code == 0
    assert ("Pilot (their rule)", [PILOT]) in rules_of(ws1(session), app["uuid"])


# --------------------------------------------------------------------------------------------- smart group creation


def test_create_smart_groups_creates_exactly_one_then_adopts_it(session):
    wave3 = "Okta PSSO Wave 3"
    off = config_for(session, ws1__smart_groups=[MACS, wave3])
    before = len(ws1(session)["smart_groups"])
    n = session.sandbox.world.requests_total
    result, engine = apply(session, off)
    assert result.exit_code == 3  # needs the admin: the group does not exist and creation is off
    assert "No smart group is named exactly 'Okta PSSO Wave 3'" in engine.state.steps["preflight.ws1"].last_error
    # Nothing written to Workspace ONE (the Okta branch is independent of it and runs as usual).
    assert [r for r in sandbox_requests(session.sandbox, "/api/(mdm|mam)/.*") if r["n"] > n and r["method"] != "GET"] == []

    on = config_for(session, ws1__smart_groups=[MACS, wave3], ws1__create_smart_groups=True)
    assert "create smart group 'Okta PSSO Wave 3' (Apple silicon Macs on macOS 14 or later" \
        in plan(session, on)["preflight.ws1"].change.summary
    assert apply(session, on)[0].exit_code == 0
    state = ws1(session)
    assert len(state["smart_groups"]) == before + 1
    created = [g for g in state["smart_groups"] if g["name"] == wave3]
    # The criteria as Omnissa's terraform provider spells them: the floor as "greater than 13.99", Apple silicon.
    assert len(created) == 1 and created[0]["platforms"] == ["AppleOsX"] and created[0]["cpu_architectures"] == ["Arm64"]
    assert created[0]["operating_systems"] == [{"DeviceType": "AppleOsX", "Operator": "GreaterThan", "Value": "13.99"}]
    assert profile_groups(state) == sorted([MACS, wave3])

    assert apply(session, on)[0].exit_code == 0
    assert len(ws1(session)["smart_groups"]) == before + 1
    assert len(sandbox_requests(session.sandbox, "/api/mdm/smartgroups", "POST")) == 1
    ledger = StateStore(on.target_key()).load().steps["preflight.ws1"]
    assert [e["name"] for e in ledger.created] == [wave3] and [e["name"] for e in ledger.adopted] == [MACS]


# --------------------------------------------------------------------------------------------- upgrade


@needs_bsdtar
def test_upgrade_adds_a_version_moves_the_assignment_and_retires_the_old_one(session, tmp_path):
    old = product_pkg(tmp_path / "OktaVerify-9.52.0.pkg", Comp(version="9.52.0"))
    new = product_pkg(tmp_path / "OktaVerify-9.60.1.pkg", Comp(version="9.60.1"))
    assert apply(session, config_for(session, old))[0].exit_code == 0
    first = active_app(ws1(session))
    add_their_rule(session, first["uuid"])

    rows = plan(session, config_for(session, new))
    assert rows["ws1.upload"].change.summary.startswith("upgrade Okta Verify 9.52.0 → 9.60.1")
    assert apply(session, config_for(session, new))[0].exit_code == 0
    state = ws1(session)
    current = active_app(state)
    assert current["version"] == "9.60.1" and current["bundle_id"] == first["bundle_id"]
    assert {a["version"]: a["status"] for a in state["apps"]} == {"9.52.0": "Retired", "9.60.1": "Active"}
    assert rules_of(state, current["uuid"]) == [(f"{RULE_NAME_PREFIX} {MACS}", [MACS]), (THEIRS, ["All Macs"])]
    assert len(state["profiles"]) == 1

    # Same version again: nothing to do. An older package: refused on its input, nothing written.
    assert apply(session, config_for(session, new))[0].exit_code == 0
    n = session.sandbox.world.requests_total
    result, engine = apply(session, config_for(session, old))
    assert result.exit_code == 2
    assert "9.52.0, which is not newer" in engine.state.steps["ws1.upload"].last_error
    assert [r for r in sandbox_requests(session.sandbox, "/api/.*") if r["n"] > n and r["method"] != "GET"] == []
    assert active_app(ws1(session))["version"] == "9.60.1"

    # With --allow-downgrade the older package becomes the assigned version, and 9.60.1 is retired.
    down = odatui_cli("apply", "--yes", "--allow-downgrade", "--config", str(session.config_path))
    assert down.returncode == 0, down.stdout + down.stderr
    assert "downgrade Okta Verify → 9.52.0: unretire app" in down.stdout  # no duplicate upload of a version
    state = ws1(session)
    assert active_app(state)["version"] == "9.52.0" and len(state["apps"]) == 2
    assert {a["version"]: a["status"] for a in state["apps"]} == {"9.52.0": "Active", "9.60.1": "Retired"}
    assert rules_of(state, active_app(state)["uuid"])[0] == (f"{RULE_NAME_PREFIX} {MACS}", [MACS])
    assert "allow_downgrade" not in session.config_path.read_text()  # a flag for one run: never saved

    # Removing it takes odatui's rules and profile; every version carrying the other admin's rule stays, with it
    # (deleting one would take Okta Verify off their Macs).
    code, out = remove(session)
    assert code == 0 and "KEEP" in out and THEIRS in out, out
    state = ws1(session)
    assert state["profiles"] == [] and len(state["apps"]) == 2
    assert all((THEIRS, ["All Macs"]) in rules_of(state, a["uuid"]) for a in state["apps"])
    assert rules_of(state, active_app(state)["uuid"]) == [(THEIRS, ["All Macs"])]


# --------------------------------------------------------------------------------------------- remove


def test_remove_undoes_apply_is_idempotent_and_apply_works_again(session):
    okta_before = sorted(a["group_name"] for a in session.sandbox.state()["okta"]["group_assignments"])
    config = config_for(session)
    assert apply(session, config)[0].exit_code == 0
    assert session.sandbox.state()["okta"]["group_assignments"]
    add_their_rule(session, active_app(ws1(session))["uuid"])

    code, out = remove(session)
    assert code == 0, out
    assert "profile 'Okta Platform SSO'" in out and "removed" in out
    state = session.sandbox.state()
    assert state["ws1"]["profiles"] == []
    # The app carries the other admin's rule: it stays, with only their rule (issue 23).
    assert len(state["ws1"]["apps"]) == 1 and "KEEP" in out and THEIRS in out
    assert rules_of(state["ws1"], state["ws1"]["apps"][0]["uuid"]) == [(THEIRS, ["All Macs"])]
    assert sorted(a["group_name"] for a in state["okta"]["group_assignments"]) == okta_before
    assert {g["name"] for g in state["ws1"]["smart_groups"]} >= {MACS, PILOT, "All Macs"}  # adopted: kept

    code, out = remove(session)  # again: nothing more goes, the kept app is named again
    assert code == 0 and "kept" in out and "Nothing was removed" in out
    assert len(ws1(session)["apps"]) == 1

    assert apply(session, config)[0].exit_code == 0
    assert len(ws1(session)["profiles"]) == 1 and len(ws1(session)["apps"]) == 1


def test_remove_after_objects_were_deleted_by_hand(session):
    assert apply(session, config_for(session))[0].exit_code == 0
    profile_id = ws1(session)["profiles"][0]["id"]
    del session.sandbox.world.emulators["ws1"].profiles[profile_id]  # an admin deleted it in the console
    code, out = remove(session)
    assert code == 0, out
    assert f"profile 'Okta Platform SSO' (id {profile_id}): already gone (deleted outside odatui)" in out
    assert ws1(session)["apps"] == []
    assert remove(session)[1].count("Nothing to remove") == 1


def test_remove_leaves_adopted_objects_unless_asked(session):
    config = config_for(session)
    assert apply(session, config)[0].exit_code == 0
    store = StateStore(config.target_key())
    state = store.load()  # as if the app and the profile had been there before odatui came
    for sid in ("ws1.upload", "ws1.profile"):
        rec = state.steps[sid]
        rec.adopted, rec.created = rec.created, []
    store.save(state)
    code, out = remove(session)
    assert code == 0 and "Left alone" in out
    assert len(ws1(session)["apps"]) == 1 and len(ws1(session)["profiles"]) == 1
    assert ws1(session)["assignment_rules"][0]["assignments"] == []  # our rule went; it was ours
    code, out = remove(session, include_adopted=True)
    assert code == 0, out
    assert ws1(session)["apps"] == [] and ws1(session)["profiles"] == []


def test_remove_without_yes_and_without_a_terminal_refuses(session):
    assert apply(session, config_for(session))[0].exit_code == 0
    before = session.sandbox.state()
    run = odatui_cli("remove", "--config", str(session.config_path))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "no terminal to confirm at" in run.stderr and "--yes" in run.stderr and "Traceback" not in run.stderr
    assert session.sandbox.state()["ws1"] == before["ws1"]


def test_sigkill_during_remove_then_remove_again_reaches_the_same_end(demo_factory, sandbox_env):
    session = demo_factory(latency_ms=60)
    config_for(session, ws1__smart_groups=[PILOT, MACS], okta__groups=["Mac Pilot"])
    okta_before = sorted(a["group_name"] for a in session.sandbox.state()["okta"]["group_assignments"])
    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    world = session.sandbox.world
    start = world.requests_total
    proc = subprocess.Popen([sys.executable, "-m", "odatui", "remove", "--yes", "--config", str(session.config_path)],
                            cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    deleted = lambda: sandbox_requests(session.sandbox, "/api/.*", "DELETE")  # noqa: E731
    deadline = time.monotonic() + 60
    while not deleted() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    output = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == -signal.SIGKILL, f"remove finished before the kill:\n{output}"
    assert world.requests_total > start
    assert ws1(session)["apps"], "the kill came after everything was removed"

    again = odatui_cli("remove", "--yes", "--config", str(session.config_path))
    assert again.returncode == 0, again.stdout + again.stderr
    state = session.sandbox.state()
    assert state["ws1"]["profiles"] == [] and state["ws1"]["apps"] == [] and state["ws1"]["assignment_rules"] == []
    assert sorted(a["group_name"] for a in state["okta"]["group_assignments"]) == okta_before
    third = odatui_cli("remove", "--yes", "--config", str(session.config_path))
    assert third.returncode == 0 and "Nothing to remove" in third.stdout
    status = json.loads(odatui_cli("status", "--json", "--config", str(session.config_path)).stdout)
    assert status["steps"]["ws1.profile"]["status"] == "pending"


# --------------------------------------------------------------------------------------------- the ledger


def test_state_records_created_versus_adopted_for_every_object(session):
    okta_before = {a["group_name"] for a in session.sandbox.state()["okta"]["group_assignments"]}
    config = config_for(session)
    assert apply(session, config)[0].exit_code == 0
    assert apply(session, config)[0].exit_code == 0  # a re-run finds everything: still odatui's, not adopted
    steps = StateStore(config.target_key()).load().steps
    kinds = {sid: sorted(e["kind"] for e in rec.created) for sid, rec in steps.items() if rec.created}
    # the app and the two files uploaded for it (the package and its pkginfo: `remove` deletes those too)
    assert kinds["ws1.upload"] == ["ws1.app", "ws1.blob", "ws1.blob"] and kinds["ws1.assign"] == ["ws1.rule"]
    assert kinds["ws1.profile"] == ["ws1.profile"]
    okta_created = {e["name"] for e in steps["okta.assign"].created}
    okta_adopted = {e["name"] for e in steps["okta.assign"].adopted}
    assert okta_created == set(config.okta.groups) - okta_before and okta_adopted == set(config.okta.groups) & okta_before
    assert [e["name"] for e in steps["preflight.ws1"].adopted] == [MACS] and not steps["preflight.ws1"].created
    assert all(not rec.intends for rec in steps.values())
    assert "_created" not in steps["ws1.upload"].outputs  # the ledger is kept apart from the outputs
    status = json.loads(odatui_cli("status", "--json", "--config", str(session.config_path)).stdout)
    assert status["steps"]["ws1.profile"]["created"][0]["name"] == "Okta Platform SSO"


def test_an_object_created_just_before_a_crash_is_still_odatuis():
    """Killed between the write and its record: the next run adopts the object, and the intent saved before the
    write makes it odatui's (so `remove` takes it), not the admin's."""
    from odatui.core.state import StepRecord

    rec = StepRecord(intends=[{"kind": "ws1.profile", "name": "Okta Platform SSO"}])
    rec.own(adopted=[{"kind": "ws1.profile", "id": "901", "name": "Okta Platform SSO"},
                     {"kind": "ws1.profile", "id": "902", "name": "Someone else's"}])
    assert [e["id"] for e in rec.created] == ["901"] and [e["id"] for e in rec.adopted] == ["902"]
    rec.intends = []
    rec.own(adopted=[{"kind": "ws1.profile", "id": "901", "name": "Okta Platform SSO"}])
    assert [e["id"] for e in rec.created] == ["901"]  # once created, a later adoption does not flip it
    rec.own(released=[{"kind": "ws1.profile", "id": "901"}])
    assert rec.created == [] and [e["id"] for e in rec.adopted] == ["902"]


def test_sigkill_right_after_the_profile_is_created_then_apply_and_remove_take_it(demo_factory, sandbox_env):
    """The kill lands after WS1 created the profile and before odatui recorded it (the read-back is still in
    flight): the resumed apply adopts it, the saved intent marks it odatui's, and `remove` takes it."""
    session = demo_factory(latency_ms=150)
    config = config_for(session)
    world = session.sandbox.world
    proc = subprocess.Popen([sys.executable, "-m", "odatui", "apply", "--yes", "--config", str(session.config_path)],
                            cwd=REPO, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    created = lambda: sandbox_requests(session.sandbox, "/api/mdm/profiles/platforms/appleosx/create", "POST")  # noqa: E731
    deadline = time.monotonic() + 60
    while not created() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    output = proc.communicate(timeout=30)[0].decode()
    assert proc.returncode == -signal.SIGKILL, output
    rec = StateStore(config.target_key()).load().steps["ws1.profile"]
    assert rec.status == "running" and rec.intends == [{"kind": "ws1.profile", "name": "Okta Platform SSO"}]
    assert len(ws1(session)["profiles"]) == 1 and world.requests_total

    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    rec = StateStore(config.target_key()).load().steps["ws1.profile"]
    assert [e["name"] for e in rec.created] == ["Okta Platform SSO"] and rec.adopted == [] and rec.intends == []
    assert odatui_cli("remove", "--yes", "--config", str(session.config_path)).returncode == 0
    assert ws1(session)["profiles"] == [] and ws1(session)["apps"] == []


def test_start_date_per_group_goes_into_the_assignment_and_a_change_is_an_update(session):
    config = config_for(session, ws1__smart_groups=[PILOT, MACS], ws1__start_dates={MACS: "2026-12-01T09:00"})
    rows = plan(session, config)
    assert rows["ws1.assign"].change is None or "from 2026-12-01 09:00" in " ".join(rows["ws1.assign"].change.details)
    assert apply(session, config)[0].exit_code == 0
    app = active_app(ws1(session))
    rules = {r["distribution"]["name"]: r["distribution"] for e in ws1(session)["assignment_rules"]
             if e["app_uuid"] == app["uuid"] for r in e["assignments"]}
    assert rules[f"{RULE_NAME_PREFIX} {MACS}"]["effective_date"] == "2026-12-01T09:00:00"
    assert "effective_date" not in rules[f"{RULE_NAME_PREFIX} {PILOT}"]

    later = config_for(session, ws1__smart_groups=[PILOT, MACS], ws1__start_dates={MACS: "2026-12-08T09:00"})
    change = plan(session, later)["ws1.assign"].change
    assert change.kind.value == "update" and any("2026-12-08 09:00 (start date changed)" in d for d in change.details)
    assert apply(session, later)[0].exit_code == 0
    assert plan(session, later)["ws1.assign"].change.kind.value == "none"


def test_start_date_for_an_unlisted_group_is_refused_in_one_line(session):
    from odatui.core.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        config_for(session, ws1__smart_groups=[MACS], ws1__start_dates={PILOT: "2026-12-01T09:00"})
    assert "start_dates names 'Okta PSSO Pilot'" in str(err.value)
    with pytest.raises(ConfigError) as err:
        config_for(session, ws1__smart_groups=[MACS], ws1__start_dates={MACS: "next week"})
    assert "not a date and time" in str(err.value)


def test_remove_without_secrets_exits_4_and_changes_nothing(demo_factory, sandbox_env, monkeypatch):
    session = demo_factory()
    config_for(session)
    assert odatui_cli("apply", "--yes", "--config", str(session.config_path)).returncode == 0
    before = session.sandbox.state()["ws1"]
    env = {k: "" for k in os.environ if k.startswith("ODATUI_")}
    run = odatui_cli("remove", "--yes", "--config", str(session.config_path), env=env)
    assert run.returncode == 4, run.stdout + run.stderr
    assert "Traceback" not in run.stderr and session.sandbox.state()["ws1"] == before


def test_remove_on_a_run_state_from_before_the_ledger_takes_nothing_and_says_why(session):
    config = config_for(session)
    assert apply(session, config)[0].exit_code == 0
    store = StateStore(config.target_key())
    state = store.load()
    for rec in state.steps.values():
        rec.created, rec.adopted = [], []
    store.save(state)
    code, out = remove(session)
    assert code == 0 and "predates odatui's record" in out
    assert len(ws1(session)["profiles"]) == 1 and len(ws1(session)["apps"]) == 1
