"""Waves that really stage (issue 21): distinct membership, the profile follows each wave, health gates between waves.

Against the sandbox over real HTTPS: a Pilot wave created from 5 serials and the "Okta PSSO Macs" wave; the sandbox
installs Okta Verify and the profile with its clock, so gates open only when the Macs got there. The gate rules
themselves are checked one by one on typed counts (odatui.mdm.ws1.steps.wave_gate.decide).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from rollout import demo_factory, odatui_cli  # noqa: F401 - demo_factory is a fixture
from ws1_contract import sandbox_requests

from odatui.core.config import parse_config, save_config
from odatui.core.config_waves import GateConfig, Wave
from odatui.core.errors import ConfigError, UsageError
from odatui.cli.runner import cmd_apply
from odatui.service.setup import make_engine
from odatui.sandbox.samplepkg import make_sample_pkg
from odatui.service.waves import wave_status
from odatui.core.state import StateStore
from odatui.mdm.ws1.steps.wave_gate import Prerequisite, WaveCounts, decide
from odatui.tui.screens.done import wave_table
from odatui.cli.waves import render

PILOT_GROUP, MACS = "DPS Pilot Macs", "Okta PSSO Macs"
NOW = datetime(2026, 12, 10, 9, 0, tzinfo=UTC)


# ------------------------------------------------------------------------------------------------ helpers
def healthy_serials(session, n=5):
    """Macs of the rollout group that will install everything: Apple silicon, macOS 14+, online, approved MDM."""
    fleet = session.sandbox.world.emulators["ws1"].fleet
    macs = [d for d in fleet.members() if d.arch == "arm64" and int(d.os_version.split(".")[0]) >= 14
            and d.user_approved and not d.profile_fails and fleet.delay(d, "app") is not None
            and fleet.delay(d, "profile") is not None]
    return [d.serial for d in macs[:n]]


def waves_config(session, serials, *, gate=None, package=None, pilot_okta=("Mac Pilot",), start=None):
    data = session.sandbox.config_dict()
    data["ws1"].pop("smart_group")
    data["rollout"]["package"] = str(package or session.package)
    pilot = {"name": "Pilot", "smart_group": PILOT_GROUP, "create": True, "serials": list(serials),
             "okta_groups": list(pilot_okta)}
    if start:
        pilot["start"] = start
    data["rollout"]["waves"] = [pilot, {"name": MACS, "smart_group": MACS, "okta_groups": ["Mac Pilot Wave 2"]}]
    if gate:
        data["rollout"]["gate"] = gate
    config = parse_config(data, source="test")
    save_config(config, session.config_path)
    return config


def apply(session, config):
    engine = make_engine(config, session.secrets)
    return asyncio.run(engine.run()), engine


def ws1(session):
    return session.sandbox.state()["ws1"]


def profile_group_names(session):
    state = ws1(session)
    names = {g["id"]: g["name"] for g in state["smart_groups"]}
    [profile] = state["profiles"]
    return sorted(names[int(s["SmartGroupId"])] for s in profile["body"]["General"]["AssignedSmartGroups"])


def advance_clock(session, seconds):
    # The sandbox's admin route (POST /_sandbox/ws1/clock) does exactly this; no test sleeps.
    session.sandbox.world.emulators["ws1"].fleet.advance(seconds)


def outputs(config, step):
    return StateStore(config.target_key()).load().outputs()[step]


# ------------------------------------------------------------------------------------------------ the scenario
def test_two_waves_stage_the_profile_behind_their_gates(demo_factory, sandbox_env):
    session = demo_factory()
    serials = healthy_serials(session)
    config = waves_config(session, serials)

    result, engine = apply(session, config)
    assert result.exit_code == 0, engine.state.steps
    state = ws1(session)
    # The Pilot group holds exactly the 5 Macs asked for, as explicit devices (CriteriaType UserDevice).
    [pilot] = [g for g in state["smart_groups"] if g["name"] == PILOT_GROUP]
    fleet = session.sandbox.world.emulators["ws1"].fleet
    assert pilot["criteria_type"] == "UserDevice"
    assert sorted(fleet.by_id[i].serial for i in pilot["device_ids"]) == sorted(serials)
    # Okta Verify is assigned to both waves; the profile to none (no Mac has Okta Verify yet).
    uuids = {g["uuid"]: g["name"] for g in state["smart_groups"]}
    [rules] = state["assignment_rules"]
    assert sorted(uuids[r["distribution"]["smart_groups"][0]] for r in rules["assignments"]) == sorted([PILOT_GROUP, MACS])
    assert profile_group_names(session) == []
    first = {w["wave"]: w for w in outputs(config, "ws1.profile")["waves"]}
    assert first["Pilot"]["gate"] == "gated" and first["Pilot"]["reason"].startswith("Okta Verify on 0% < 90%")
    assert first[MACS]["gate"] == "waiting"
    assert "wave 'Pilot' gated: Okta Verify on 0% < 90%" in engine.state.steps["ws1.profile"].summary
    # plan says which wave moves next (nothing yet), and the wizard's Done screen shows the same waves as a table.
    plan = {r.step_id: r for r in asyncio.run(make_engine(config, session.secrets).plan())}
    assert "wave 'Pilot' gated: Okta Verify on 0% < 90%" in plan["ws1.profile"].change.summary
    table = wave_table(StateStore(config.target_key()).load().outputs())
    assert table.splitlines()[1].startswith("Pilot") and "gated: Okta Verify on 0% < 90%" in table

    # Time passes: Okta Verify reaches the Pilot Macs. The next apply moves Pilot only.
    advance_clock(session, 1300)
    plan = {r.step_id: r for r in asyncio.run(make_engine(config, session.secrets).plan())}
    assert "for wave 'Pilot'; wave 'Okta PSSO Macs' gated" in plan["ws1.profile"].change.summary
    result, engine = apply(session, config)
    assert result.exit_code == 0, engine.state.steps
    assert profile_group_names(session) == [PILOT_GROUP]
    assert engine.state.steps["verify"].status == "succeeded"
    second = {w["wave"]: w for w in outputs(config, "ws1.profile")["waves"]}
    assert second[MACS]["gate"] == "gated" and second[MACS]["reason"] == "wave 'Pilot' has not had the profile yet"

    waves = asyncio.run(wave_status(config, session.secrets))
    assert [w["wave"] for w in waves] == ["Pilot", MACS]
    assert waves[0]["gate"] == "open" and waves[0]["devices"] == 5 and waves[0]["okta_verify_installed"] == 5
    # Registered: by serial, from Okta's Devices API (the sandbox's fleet registers once the profile installs).
    assert waves[0]["registered"] == 0  # the profile was assigned a moment ago: nothing installed yet
    advance_clock(session, 1300)
    waves = asyncio.run(wave_status(config, session.secrets))
    registered = {d["profile"]["serialNumber"] for d in session.sandbox.world.emulators["okta"].org_routes._fleet_devices()}
    assert waves[0]["registered"] == len(registered & set(serials)) > 0 and waves[0]["profile_installed"] == 5
    # Now that Pilot has it, the big wave waits on its own Okta Verify share (offline Macs never install).
    assert waves[1]["gate"] == "gated" and waves[1]["reason"].startswith("Okta Verify on ")
    assert json.loads(json.dumps(waves)) == waves  # what `odatui waves --json` prints
    table = render(waves)
    assert "Pilot" in table and "gated" in table and waves[1]["reason"] in table
    cli = odatui_cli("waves", "--json", "--config", str(session.config_path))
    assert cli.returncode == 0, cli.stderr
    printed = json.loads(cli.stdout)["waves"]
    assert [(w["wave"], w["gate"]) for w in printed] == [("Pilot", "open"), (MACS, "gated")]
    assert all(w["reason"] for w in printed)


def test_advance_wave_opens_one_gate_and_is_recorded(demo_factory, sandbox_env):
    session = demo_factory()
    # Every eligible Mac must have Okta Verify: offline Macs in the big wave keep its gate shut.
    config = waves_config(session, healthy_serials(session), gate={"okta_verify_installed": 1.0})
    apply(session, config)
    advance_clock(session, 1300)
    apply(session, config)
    advance_clock(session, 600)
    result, engine = apply(session, config)
    assert result.exit_code == 0 and profile_group_names(session) == [PILOT_GROUP]
    gated = {w["wave"]: w for w in outputs(config, "ws1.profile")["waves"]}[MACS]
    assert gated["gate"] == "gated" and gated["reason"].startswith("Okta Verify on ") and "< 100%" in gated["reason"]

    config.rollout.advance_wave = MACS  # what `odatui apply --advance-wave 'Okta PSSO Macs' --yes` sets
    result, engine = apply(session, config)
    assert result.exit_code == 0
    assert profile_group_names(session) == sorted([PILOT_GROUP, MACS])
    record = outputs(config, "ws1.profile")["overrides"][MACS]
    assert record["by"] and record["at"].endswith("Z") and record["gate"].startswith("Okta Verify on ")


def test_advance_wave_needs_yes_without_a_terminal(demo_factory, sandbox_env):
    session = demo_factory()
    waves_config(session, healthy_serials(session))
    before = odatui_cli("waves", "--config", str(session.config_path))
    assert before.returncode == 2 and "no waves to look at yet" in before.stderr
    n = session.sandbox.world.requests_total
    run = odatui_cli("apply", "--advance-wave", MACS, "--config", str(session.config_path))
    assert run.returncode == 2, run.stderr
    assert "--yes" in run.stderr and "Traceback" not in run.stderr
    assert session.sandbox.world.requests_total == n  # nothing sent
    unknown = odatui_cli("apply", "--advance-wave", "Nope", "--yes", "--config", str(session.config_path))
    assert unknown.returncode == 2 and "'Nope' is not a gated wave" in unknown.stderr


def test_cmd_apply_refuses_advance_wave_without_yes_in_process(demo_factory, sandbox_env, monkeypatch):
    session = demo_factory()
    waves_config(session, healthy_serials(session))
    monkeypatch.setattr("sys.stdin", SimpleNamespace(isatty=lambda: False))
    with pytest.raises(UsageError, match="--advance-wave changes the tenant"):
        cmd_apply(SimpleNamespace(config=str(session.config_path), advance_wave=MACS, yes=False, only=None,
                                  from_step=None, allow_downgrade=False))


# ------------------------------------------------------------------------------------------------ membership
def test_created_group_read_back_catches_a_dropped_mac(demo_factory, sandbox_env):
    session = demo_factory()
    session.sandbox.world.emulators["ws1"].settings["smartgroup_drop_additions"] = 1
    config = waves_config(session, healthy_serials(session))
    result, engine = apply(session, config)
    assert result.exit_code == 1
    error = engine.state.steps["preflight.ws1"].last_error
    assert f"Smart group {PILOT_GROUP!r}" in error and "created other Macs than the wave's serials: missing" in error
    assert sandbox_requests(session.sandbox, "/api/mdm/profiles/platforms/appleosx/create", "POST") == []


def test_existing_group_with_other_members_is_refused(demo_factory, sandbox_env):
    session = demo_factory()
    serials = healthy_serials(session, 6)
    first = waves_config(session, serials[:5])
    apply(session, first)
    changed = waves_config(session, serials[1:6])
    result, engine = apply(session, changed)
    assert result.exit_code == 1
    error = engine.state.steps["preflight.ws1"].last_error
    assert "holds other Macs than the wave's serials" in error and serials[0] in error and serials[5] in error


def test_unknown_serial_is_bad_input_and_nothing_is_sent(demo_factory, sandbox_env):
    session = demo_factory()
    config = waves_config(session, [*healthy_serials(session, 4), "C02ZZZZZZZZZ"])
    result, engine = apply(session, config)
    assert result.exit_code == 2
    error = engine.state.steps["preflight.ws1"].last_error
    assert "rollout.waves 'Pilot': serial C02ZZZZZZZZZ is not a Mac of organization group" in error
    assert [r for r in sandbox_requests(session.sandbox, "/api/(mdm|mam)/.*") if r["method"] != "GET"] == []


def test_missing_okta_group_of_a_wave_is_bad_input_before_ws1_is_touched(demo_factory, sandbox_env):
    session = demo_factory()
    config = waves_config(session, healthy_serials(session), pilot_okta=("DPS Pilot (typo)",))
    result, engine = apply(session, config)
    assert result.exit_code == 2
    assert "rollout.waves 'Pilot' okta_groups: the Okta group \"DPS Pilot (typo)\" does not exist" in \
        engine.state.steps["preflight.ws1"].last_error
    assert sandbox_requests(session.sandbox, "/api/mdm/smartgroups", "POST") == []


# ------------------------------------------------------------------------------------------------ Okta ↔ WS1
def test_wave_users_outside_its_okta_groups_are_named(demo_factory, sandbox_env):
    session = demo_factory()
    serials = healthy_serials(session)
    config = waves_config(session, serials)
    result, engine = apply(session, config)
    assert result.exit_code == 0  # a warning, not a stop
    fleet = session.sandbox.world.emulators["ws1"].fleet
    emails = sorted(d.email for d in fleet.devices if d.serial in serials)
    # The sandbox's "Mac Pilot" group holds other people than the Pilot Macs' enrolled users.
    [line] = [w for w in outputs(config, "okta.assign")["warnings"] if w.startswith("wave 'Pilot'")]
    assert "5 Mac user(s)" in line and "Mac Pilot" in line and emails[0] in line and "and 2 more" in line
    # Three of the five users join the wave's Okta group: the warning names only the other two.
    okta = session.sandbox.world.emulators["okta"]
    pilot_group = okta.seeding.group_by_name("Mac Pilot")
    for email in emails[:3]:
        okta.members[pilot_group["id"]].append(okta.seeding._add_user(email, "Pilot", "User", 0)["id"])
    apply(session, config)
    [line] = [w for w in outputs(config, "okta.assign")["warnings"] if w.startswith("wave 'Pilot'")]
    assert "2 Mac user(s)" in line and emails[3] in line and emails[4] in line and emails[0] not in line
    # The plan shows the same warning.
    plan = {r.step_id: r for r in asyncio.run(make_engine(config, session.secrets).plan())}
    assert any(w.startswith("wave 'Pilot': 2 Mac user(s)") for w in plan["okta.assign"].change.warnings)


# ------------------------------------------------------------------------------------------------ fleet floors
def test_a_940_package_with_a_macos_26_mac_in_a_floor_14_wave_is_refused(demo_factory, sandbox_env):
    session = demo_factory()
    fleet = session.sandbox.world.emulators["ws1"].fleet
    tahoe = [d.serial for d in fleet.members() if d.os_version.startswith("26")][:2]
    serials = healthy_serials(session, 3) + tahoe
    old = session.sandbox.data_dir / "OktaVerify-9.40.0.pkg"
    make_sample_pkg(old, version="9.40.0")
    config = waves_config(session, [s for s in dict.fromkeys(serials)], package=old)
    result, engine = apply(session, config)
    assert result.exit_code == 2
    error = engine.state.steps["ws1.upload"].last_error
    assert "Okta Verify 9.40.0 is too old" in error and "9.52" in error
    counted = sum(g["macos26"] for g in outputs(config, "preflight.ws1")["smart_groups"])
    assert counted >= 2 and f"{counted} macOS 26 Macs in the waves (waves 'Pilot', '{MACS}')" in error
    assert sandbox_requests(session.sandbox, "/api/mam/blobs/uploadblob", "POST") == []


# ------------------------------------------------------------------------------------------------ config
@pytest.mark.parametrize("rollout, message", [
    ({"gate": {"okta_verify_installed": 1.2}}, "rollout.gate.okta_verify_installed: is a share between 0 and 1"),
    ({"gate": {"max_failing": -0.1}}, "rollout.gate.max_failing: is a share between 0 and 1"),
    ({"waves": [{"name": "A", "smart_group": "G"}, {"name": "B", "smart_group": "G"}]}, "both name the smart group"),
    ({"waves": [{"name": "A", "smart_group": "G", "start": "next tuesday"}]}, "is not a date and time like"),
    ({"waves": [{"name": "A", "smart_group": "G", "serials": ["C02ABC123XYZ"]}]}, "lists serials but not create"),
    ({"waves": [{"name": "A", "smart_group": "G", "create": True, "serials": ["not a serial!"]}]},
     "is not a Mac serial number"),
])
def test_bad_wave_config_is_one_line_naming_the_field(rollout, message):
    with pytest.raises(ConfigError) as info:
        parse_config({"rollout": rollout}, source="answers.toml")
    assert message in info.value.message and "\n" not in info.value.message


def test_smart_groups_stay_waves_without_gates():
    config = parse_config({"ws1": {"smart_groups": ["A", "B"], "start_dates": {"B": "2026-12-24T08:00"}},
                           "okta": {"groups": ["G"]}})
    assert [(w.smart_group, w.gated, w.okta_groups) for w in config.waves()] == [("A", False, ("G",)),
                                                                                ("B", False, ("G",))]
    assert config.waves()[1].start == datetime(2026, 12, 24, 8, 0, tzinfo=UTC)


def test_a_past_start_for_a_wave_not_yet_started_is_refused(demo_factory, sandbox_env):
    session = demo_factory()
    config = waves_config(session, healthy_serials(session), start="2020-01-01T09:00:00Z")
    result, engine = apply(session, config)
    assert result.exit_code == 2
    assert "rollout.waves 'Pilot': start 2020-01-01T09:00:00Z is in the past" in engine.state.steps["ws1.assign"].last_error


# ------------------------------------------------------------------------------------------------ each gate
def wave(name, start=None):
    return Wave(name, name, False, (), (), start, gated=True)


def counts(name, *, devices=10, eligible=10, ov=10, cert=None, failing=0, has_profile=False):
    installed = {"Okta Verify": ov} | ({"certificate profile": cert} if cert is not None else {})
    return WaveCounts(name, name, 1, devices=devices, eligible=eligible, installed=installed, failing=failing,
                      has_profile=has_profile)


GATE = GateConfig(okta_verify_installed=0.9, max_failing=0.05)
OV = [Prerequisite("Okta Verify", 0.9)]


def states(waves, cs, prereqs=OV, overrides=None):
    return [(s.state, s.reason) for s in decide(waves, cs, GATE, prereqs, NOW, overrides or {})]


def test_gate_okta_verify_share():
    assert states([wave("P")], [counts("P", ov=8)]) == [("gated", "Okta Verify on 80% < 90% (8 of 10 eligible Macs)")]
    assert states([wave("P")], [counts("P", ov=9)])[0][0] == "open"


def test_gate_start_date():
    later = wave("P", NOW + timedelta(hours=2))
    assert states([later], [counts("P")]) == [("gated", "starts 2026-12-10 11:00 UTC")]
    assert states([wave("P", NOW - timedelta(minutes=1))], [counts("P")])[0][0] == "open"


def test_gate_previous_wave_must_have_the_profile_and_not_be_failing():
    two = [wave("P"), wave("M")]
    assert states(two, [counts("P"), counts("M")])[1] == ("gated", "wave 'P' has not had the profile yet")
    failing = states(two, [counts("P", has_profile=True, failing=1, devices=10), counts("M")])
    assert failing[1] == ("gated", "wave 'P' failing on 10% > 5% (1 of 10 Macs)")
    assert states(two, [counts("P", has_profile=True, failing=0), counts("M")])[1][0] == "open"


def test_gate_a_prerequisite_profile_counts_like_okta_verify():
    prereqs = [*OV, Prerequisite("certificate profile", 0.9, profile_id=7)]
    assert states([wave("P")], [counts("P", cert=5)], prereqs) == [
        ("gated", "certificate profile on 50% < 90% (5 of 10 eligible Macs)")]


def test_gate_no_eligible_macs_and_waiting_waves():
    three = [wave("P"), wave("M"), wave("L")]
    got = states(three, [counts("P", eligible=0, ov=0), counts("M"), counts("L")])
    assert got[0] == ("gated", "no eligible Macs (Apple silicon at or above the floor) in the wave")
    assert got[1] == ("waiting", "waits for wave 'P'") and got[2] == ("waiting", "waits for wave 'P'")


def test_gate_override_opens_exactly_that_gate():
    got = decide([wave("P")], [counts("P", ov=1)], GATE, OV, NOW, {"P": {"by": "ada", "at": "2026-12-10T09:00:00Z"}})
    assert got[0].open and got[0].overridden == {"by": "ada", "at": "2026-12-10T09:00:00Z"}
    assert "opened by hand by ada" in got[0].reason and "Okta Verify on 10% < 90%" in got[0].reason


# ------------------------------------------------------------------------------------------------ the old way
def test_a_wave_whose_profile_arrived_before_okta_verify_shows_it(demo_factory, sandbox_env):
    """[ws1] smart_groups (no gates): the profile goes out with the app, so on many Macs it lands first. The sandbox
    disagrees with that order: those Macs show failing ("profile before Okta Verify") and never register."""
    session = demo_factory()
    data = session.sandbox.config_dict()
    data["rollout"]["package"] = str(session.package)
    config = parse_config(data, source="test")
    save_config(config, session.config_path)
    assert apply(session, config)[0].exit_code == 0
    advance_clock(session, 45)  # profiles (mean 25 s) mostly in, Okta Verify (mean 60 s) mostly not
    [wave] = asyncio.run(wave_status(config, session.secrets))
    assert wave["gate"] == "no gate" and wave["failing_reasons"].get("profile before Okta Verify", 0) > 0
    advance_clock(session, 1300)  # now every online Mac has both
    fleet = session.sandbox.world.emulators["ws1"].fleet
    early = [d for d in fleet.members() if d.okta_registered and d.arch == "arm64" and d.user_approved
             and not d.profile_fails and fleet.delay(d, "profile") is not None and fleet.delay(d, "app") is not None
             and fleet.delay(d, "profile") < fleet.delay(d, "app")]
    registered = {d["profile"]["serialNumber"] for d in session.sandbox.world.emulators["okta"].org_routes._fleet_devices()}
    assert early and not {d.serial for d in early} & registered


def test_the_support_bundle_leaves_out_the_waves_mac_users(demo_factory, sandbox_env, tmp_path):
    import zipfile

    from odatui.service.bundle import build_bundle

    session = demo_factory()
    serials = healthy_serials(session)
    config = waves_config(session, serials)
    apply(session, config)
    state = StateStore(config.target_key()).load().outputs()["preflight.ws1"]["smart_groups"]
    assert len(state[0]["users"]) == 5  # kept locally for the Okta-group check
    out = tmp_path / "bundle.zip"
    build_bundle(out, config=config, secrets=session.secrets, targets=[config.target_key()])
    text = "".join(zipfile.ZipFile(out).read(n).decode() for n in zipfile.ZipFile(out).namelist() if n.startswith("state/"))
    fleet = session.sandbox.world.emulators["ws1"].fleet
    assert "5 users left out of the bundle" in text
    # Only the few a warning names (as readiness names Okta logins) remain; the list itself does not.
    emails = [d.email for d in fleet.devices if d.serial in serials]
    assert sum(1 for e in emails if e in text) <= 3


def test_a_future_start_holds_okta_verify_okta_groups_and_the_gate(demo_factory, sandbox_env):
    """The wave's start is the app rule's effective_date: the sandbox installs nothing before it, odatui assigns the
    wave's Okta groups only once it has passed, and the gate names it."""
    session = demo_factory()
    start = (datetime.now(UTC) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = waves_config(session, healthy_serials(session), start=start)
    result, engine = apply(session, config)
    assert result.exit_code == 0, engine.state.steps
    [rules] = ws1(session)["assignment_rules"]
    dates = sorted(str(r["distribution"].get("effective_date")) for r in rules["assignments"])
    assert dates[0] == start.replace("Z", "")[:19]
    okta = session.sandbox.state()["okta"]
    assert sorted(a["group_name"] for a in okta["group_assignments"]) == ["Mac Pilot Wave 2"]  # Pilot's waits
    advance_clock(session, 1300)
    [pilot, _] = asyncio.run(wave_status(config, session.secrets))
    assert pilot["okta_verify_installed"] == 0 and pilot["reason"].startswith("starts ")
    advance_clock(session, 7200 + 1300)  # past the start, and every Mac's install delay
    [pilot, _] = asyncio.run(wave_status(config, session.secrets))
    assert pilot["okta_verify_installed"] == 5


def test_waves_round_trip_through_the_answers_file(tmp_path):
    from odatui.core.config import load_config

    config = parse_config({"rollout": {"waves": [
        {"name": "Pilot", "smart_group": "P", "create": True, "serials": ["c02abc123xyz"], "okta_groups": ["DPS"],
         "start": "2026-12-10T09:00:00Z"}, {"name": "All", "smart_group": "A"}], "gate": {"max_failing": 0.1}}})
    path = save_config(config, tmp_path / "answers.toml")
    text = path.read_text()
    assert "[[rollout.waves]]" in text and "[rollout.gate]" in text and "null" not in text
    again = load_config(path)
    assert again.waves() == config.waves() and again.rollout.gate.max_failing == 0.1
    assert again.waves()[0].serials == ("C02ABC123XYZ",) and again.waves()[1].start is None
