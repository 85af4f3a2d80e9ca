"""The application layer (odatui.service) both faces call: the one retry rule, the rollout ids, and the wizard
staying clear of steps, clients and the sandbox at run time (the import contracts check the static side)."""

from __future__ import annotations

import subprocess
import sys

from odatui.core.config import Config
from odatui.core.secrets import SecretStore
from odatui.mdm.ws1.devices import PER_DEVICE_MAX, ids_from_outputs
from odatui.service.retry import retry_ids, with_waiting
from odatui.service.setup import make_engine
from odatui.core.state import FAILED, SKIPPED, SUCCEEDED, RunState, StepRecord


def engine(tmp_path):
    return make_engine(Config(), SecretStore(use_keychain=False), directory=tmp_path)


def test_what_a_retry_takes_along_is_the_waiting_steps_in_run_order(tmp_path):
    eng = engine(tmp_path)
    done = {"preflight.okta", "preflight.ws1", "preflight.package", "ws1.upload"}
    again = with_waiting(eng, ["okta.app"], lambda sid: sid in done)
    assert again[0] == "okta.app"
    assert set(eng.descendants("okta.app")) - done <= set(again)  # everything waiting on it comes along…
    assert not done & set(again)  # …and nothing already done
    assert again == [sid for sid in eng.order if sid in again]


def test_retry_ids_from_the_state_file_the_same_rule(tmp_path):
    eng = engine(tmp_path)
    state = RunState(target="t")
    for sid in eng.order:
        state.steps[sid] = StepRecord(status=SUCCEEDED)
    state.steps["ws1.upload"] = StepRecord(status=FAILED, last_error="HTTP 500")
    state.steps["ws1.assign"] = StepRecord(status=SKIPPED, summary="needs ws1.upload, which failed")
    ids = retry_ids(eng, state)
    assert ids[:2] == ["ws1.upload", "ws1.assign"]
    assert "okta.app" not in ids and "preflight.okta" not in ids
    assert ids == with_waiting(eng, ["ws1.upload", "ws1.assign"],
                               lambda sid: state.steps[sid].status == SUCCEEDED)


def test_rollout_ids_need_preflight_ws1_and_add_up_every_wave():
    assert ids_from_outputs({}) is None
    assert ids_from_outputs({"preflight.ws1": {"smart_group_id": 7}}) is None  # no organization group yet
    ids = ids_from_outputs({"preflight.ws1": {"og_id": "3", "smart_group_id": 7, "smart_groups": [
        {"id": 7, "name": "wave 1", "devices": 5}, {"id": "9", "name": "wave 2", "devices": PER_DEVICE_MAX}]},
        "ws1.profile": {"profile_id": 11}})
    assert ids["og_id"] == 3 and ids["smart_group_ids"] == [7, 9]
    assert ids["smart_group_devices"] == 5 + PER_DEVICE_MAX  # over the per-device limit: bulk states
    assert ids["profile_id"] == 11 and ids["app_id"] is None


def test_the_wizard_loads_no_step_client_or_sandbox_module():
    probe = ("import sys, odatui.tui.app, odatui.tui.session, odatui.tui.launch\n"
             "print(sorted(m for m in sys.modules if m.startswith(('odatui.steps', 'odatui.okta', 'odatui.mdm.ws1.api',"
             " 'odatui.sandbox', 'odatui.macos', 'odatui.engine', 'odatui.service'))))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
