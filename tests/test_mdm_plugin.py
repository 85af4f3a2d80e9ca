"""The MDM as a plug-in (issue 25): Workspace ONE implements the `Mdm` Protocol member for member, the run order and
the client kinds come from it, and its wizard page matches the config it writes."""

from __future__ import annotations

import inspect
import subprocess
import sys

from odatui.core.config import Config
from odatui.mdm import Mdm, for_config, run_order, step_ids
from odatui.mdm.ws1 import Ws1


def _members(cls: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(value) for name, value in vars(cls).items()
            if callable(value) and not name.startswith("_")}


def test_ws1_implements_every_member_of_the_protocol_with_the_same_signature():
    wanted = _members(Mdm)
    got = _members(Ws1)
    assert set(wanted) <= set(got), sorted(set(wanted) - set(got))
    for name, signature in wanted.items():
        assert str(got[name]) == str(signature), name
    assert {"id", "label", "client"} <= set(vars(Ws1))
    assert isinstance(for_config(Config()), Ws1)


def test_the_run_order_is_each_sides_preflight_then_okta_then_the_mdm_with_verify_last():
    assert step_ids() == (
        "preflight.okta", "preflight.ws1", "preflight.package",
        "okta.app", "okta.assign", "ws1.upload", "ws1.assign", "ws1.certificate", "ws1.profile", "verify")
    assert [s.id for s in run_order(Config())] == list(step_ids())


def test_the_step_framework_names_no_mdm_client_until_the_plug_in_adds_its_own():
    probe = ("import odatui.steps.base as b; before = sorted(b.CLIENTS)\n"
             "import odatui.mdm as m; m.run_order()\n"
             "print(before, sorted(b.CLIENTS), b.CLIENTS['ws1'].module)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["['okta']", "['okta',", "'ws1']", "odatui.mdm.ws1.api.client"]


def test_the_wizard_page_names_fields_the_config_has():
    page = Ws1().wizard_page()
    config = Config()
    table = getattr(config, Ws1.id)
    ids = [f.id for f in page.fields]
    assert len(ids) == len(set(ids))
    assert page.preflight in step_ids()
    for spec in page.fields:
        prefix, name = spec.key.split(".", 1)
        assert prefix == Ws1.id, spec.key
        if spec.kind != "secret":
            assert name in type(table).model_fields, spec.key
        if spec.group:
            auth = next(f for f in page.fields if f.kind == "auth")
            assert spec.group in {value for _, value in auth.choices}, spec.key
