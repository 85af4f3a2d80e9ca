"""A ledger that survives damage and cannot be pointed elsewhere: every object odatui creates carries its marker
(odatui.core.markers) where WS1 keeps a note; `remove` reads each object back and deletes only what carries our marker
and the ledger's name; with the state deleted, `remove --recover` rebuilds the ledger from the markers. Against
the sandbox over real HTTPS, through the real entry point."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rollout import demo_factory, odatui_cli, writes  # noqa: F401 - demo_factory is a fixture


def runs_dir() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "odatui" / "runs"


def canonical_state() -> Path:
    return next(p for p in runs_dir().glob("*.json") if not p.is_symlink() and "okta-" in p.name)


@pytest.fixture
def applied(demo_factory, sandbox_env):  # noqa: F811
    session = demo_factory()
    run = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    return session


def foreign_profile(session, *, name: str, offset: int = 50) -> int:
    """Another admin's profile in the same organization group: no odatui marker in its Description."""
    ws1 = session.sandbox.world.emulators["ws1"]
    ours_id = min(ws1.profiles)  # the one odatui made (others are added after it)
    ours = ws1.profiles[ours_id]
    theirs_id = ours_id + offset
    body = json.loads(json.dumps(ours["body"]))
    body["General"].update({"Name": name, "Description": "Finance Macs: Wi-Fi (owned by the finance IT team)",
                            "ProfileId": theirs_id})
    ws1.profiles[theirs_id] = {**ours, "id": theirs_id, "uuid": f"{ours['uuid'][:-4]}f1f1", "body": body}
    return theirs_id


def test_created_objects_carry_the_marker_where_the_vendor_keeps_a_note(applied):
    ws1 = applied.sandbox.world.emulators["ws1"]
    key = canonical_state().stem
    (profile,) = ws1.profiles.values()
    assert f"[odatui-target:{key}]" in profile["body"]["General"]["Description"]
    rules = [r for rs in ws1.assignment_rules.values() for r in rs.get("assignments") or []]
    assert rules and all(f"[odatui-target:{key}]" in r["distribution"]["description"] for r in rules)
    (app,) = ws1.apps.values()
    assert f"[odatui-target:{key}]" in str(app["pkginfo"])  # munki's `notes` in the pkginfo odatui uploaded


def test_a_ledger_edited_to_name_another_admins_profile_and_okta_assignment_deletes_nothing_of_theirs(applied):
    session = applied
    theirs_same_name = foreign_profile(session, name=session.config.rollout.profile_name)
    theirs_other_name = foreign_profile(session, name="Finance Wi-Fi", offset=51)
    ws1 = session.sandbox.world.emulators["ws1"]
    path = canonical_state()
    state = json.loads(path.read_text())
    okta = session.sandbox.world.emulators["okta"]
    # another admin's Okta assignment: the same group, on another app
    group_id = state["steps"]["okta.assign"]["created"][0]["group_id"]
    other_app = okta.seeding.add_app("Finance Portal", sign_on_mode="BOOKMARK")["id"]
    okta.assignments[other_app][group_id] = {"id": group_id, "priority": 0}

    state["steps"]["ws1.profile"]["created"][0]["id"] = str(theirs_same_name)  # our name, their object
    state["steps"]["ws1.profile"]["created"].append(
        {"kind": "ws1.profile", "id": str(theirs_other_name), "uuid": "x", "name": session.config.rollout.profile_name})
    okta_entry = state["steps"]["okta.assign"]["created"][0]
    okta_entry.update({"app_id": other_app, "id": f"{other_app}:{okta_entry['group_id']}"})
    path.write_text(json.dumps(state))

    before = {pid for pid in ws1.profiles}
    run = odatui_cli("remove", "--yes", "--config", str(session.config_path))
    said = run.stdout + run.stderr
    assert run.returncode == 1 and "Traceback" not in said, said
    assert {theirs_same_name, theirs_other_name} <= set(ws1.profiles), said  # both of theirs are still there
    assert "does not carry odatui's marker" in said and "named 'Finance Wi-Fi'" in said, said
    assert group_id in okta.assignments[other_app], said
    assert "not odatui's app" in said, said
    gone = before - set(ws1.profiles)
    assert gone == set(), gone  # our own profile is not in the edited ledger, so it stays too
    deletes = [w for w in writes(session.sandbox.world.requests) if w.startswith("DELETE /api/mdm/profiles")]
    assert deletes == [], deletes


def test_after_the_state_is_deleted_remove_recover_finds_and_removes_what_odatui_created(applied):
    session = applied
    theirs = foreign_profile(session, name=session.config.rollout.profile_name)  # same name, no marker
    ws1 = session.sandbox.world.emulators["ws1"]
    (ours,) = [pid for pid in ws1.profiles if pid != theirs]
    for p in runs_dir().glob("*"):
        p.unlink()
    plain = odatui_cli("remove", "--yes", "--config", str(session.config_path))
    assert plain.returncode == 0 and "Nothing to remove" in plain.stdout, plain.stdout + plain.stderr
    assert ours in ws1.profiles

    run = odatui_cli("remove", "--yes", "--recover", "--config", str(session.config_path))
    said = run.stdout + run.stderr
    assert run.returncode == 0 and "Traceback" not in said, said
    assert "Recovered from odatui's markers in the tenant: 3 object(s)" in said, said
    assert ours not in ws1.profiles and theirs in ws1.profiles, said
    assert not any(r.get("assignments") for r in ws1.assignment_rules.values()), ws1.assignment_rules
    assert all(a["status"].lower() in ("retired", "deleted") for a in ws1.apps.values()) or not ws1.apps, said
    assert "not recovered:" in said  # smart groups and Okta assignments carry no note: said, not taken


def test_the_sandbox_keeps_no_note_on_a_smart_group(applied):
    """SmartGroupEditV1Model has no description: a marker sent anyway is not stored (the sandbox disagrees)."""
    import httpx

    from odatui.core.http import ssl_context
    from odatui.sandbox.credentials import WS1_PASSWORD, WS1_TENANT_CODE, WS1_USER

    sb = applied.sandbox
    headers = {"Accept": "application/json;version=1", "aw-tenant-code": WS1_TENANT_CODE}
    with httpx.Client(verify=ssl_context(str(sb.ca_path)), timeout=10, auth=(WS1_USER, WS1_PASSWORD)) as c:
        r = c.post(f"{sb.url}/api/mdm/smartgroups", headers=headers,
                   json={"Name": "Marked", "CriteriaType": "All", "ManagedByOrganizationGroupId": "570",
                         "Description": "[odatui-target:x]"})
        assert r.status_code == 200, r.text
        got = c.get(f"{sb.url}/api/mdm/smartgroups/{r.json()['Value']}", headers=headers).json()
    assert got.get("Name") == "Marked" and "[odatui-target:x]" not in json.dumps(got)


# ------------------------------------------------------------------------------------------ leftovers


def _fault(session, rule):
    import httpx

    from odatui.core.http import ssl_context

    with httpx.Client(verify=ssl_context(str(session.sandbox.ca_path)), timeout=10) as c:
        c.post(f"{session.sandbox.url}/_sandbox/faults", json=rule).raise_for_status()


def test_remove_deletes_the_uploaded_blobs_too(applied):
    ws1 = applied.sandbox.world.emulators["ws1"]
    assert len(ws1.blobs) == 2  # the package and its pkginfo
    run = odatui_cli("remove", "--yes", "--config", str(applied.config_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert ws1.blobs == {} and ws1.apps == {}, run.stdout
    assert "removed uploaded file" in run.stdout


def _config_creating_groups(session, tmp_path, names):
    import tomli_w

    data = session.sandbox.config_dict()
    data["rollout"]["package"] = str(session.package)
    data["ws1"].update({"smart_groups": names, "create_smart_groups": True})
    data["ws1"].pop("smart_group", None)
    config = tmp_path / "answers.toml"
    config.write_text(tomli_w.dumps(data))
    return config


def test_the_blobs_of_a_failed_app_create_are_removed(demo_factory, sandbox_env, tmp_path):  # noqa: F811
    session = demo_factory()
    ws1 = session.sandbox.world.emulators["ws1"]
    _fault(session, {"method": "POST", "path": "/api/mam/groups/.*/macos/apps", "status": 400, "times": None,
                     "body": {"errorCode": 7454, "message": "Invalid pkginfo file."}})
    run = odatui_cli("apply", "--yes", "--config", str(session.config_path))
    assert run.returncode != 0 and "ws1.upload" in run.stdout, run.stdout
    assert len(ws1.blobs) == 2 and ws1.apps == {}  # uploaded, then the create failed: two orphans
    removal = odatui_cli("remove", "--yes", "--config", str(session.config_path))
    said = removal.stdout + removal.stderr
    assert removal.returncode == 0, said
    assert ws1.blobs == {}, said


def test_a_smart_group_made_by_a_step_that_failed_is_odatuis_and_removed(demo_factory, sandbox_env,  # noqa: F811
                                                                          tmp_path):
    session = demo_factory()
    config = _config_creating_groups(session, tmp_path, ["Okta PSSO Macs", "Wave Two Macs"])
    ws1 = session.sandbox.world.emulators["ws1"]
    before = {g["id"] for g in ws1.smart_groups}
    # WS1 creates the group, then the read-back is refused: the step fails for good (no retry finds it later)
    _fault(session, {"method": "GET", "path": "/api/mdm/smartgroups/[0-9]+", "status": 403, "times": 1,
                     "body": {"errorCode": 403, "message": "User does not have access to this Smart Group."}})
    run = odatui_cli("apply", "--yes", "--config", str(config))
    assert run.returncode != 0 and "preflight.ws1 FAILED" in run.stdout, run.stdout
    made = {g["id"] for g in ws1.smart_groups} - before
    assert len(made) == 1, ws1.smart_groups
    path = canonical_state()
    created = json.loads(path.read_text())["steps"]["preflight.ws1"]["created"]
    assert {int(e["id"]) for e in created} >= made, created  # odatui's, not "found already there"
    removal = odatui_cli("remove", "--yes", "--config", str(config))
    said = removal.stdout + removal.stderr
    assert removal.returncode == 0, said
    assert not made & {g["id"] for g in ws1.smart_groups}, said


def test_replace_on_rename_takes_the_old_profile_only_when_it_carries_the_marker(applied):
    """Issue 26's rename path removes the old profile through remove's own checks: one whose marker an admin took
    out (or an edited ledger pointing at theirs) stays, and the run says why."""
    session = applied
    ws1 = session.sandbox.world.emulators["ws1"]
    (old_id,) = ws1.profiles
    general = ws1.profiles[old_id]["body"]["General"]
    general["Description"] = "Taken over by the desktop team"  # no marker any more
    renamed = {"ODATUI_ROLLOUT__PROFILE_NAME": "Okta Platform SSO (2026)"}
    run = odatui_cli("apply", "--yes", "--config", str(session.config_path), env=renamed)
    said = run.stdout + run.stderr
    assert old_id in ws1.profiles, said  # the old one stays
    assert "does not carry odatui's marker" in said and "Traceback" not in said, said
