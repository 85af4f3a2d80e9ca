"""Engine semantics (DAG, concurrency, retry, needs-action, secrets, cancellation, coalescing, resume) with small
steps that keep their resources in an in-memory tenant, so each rule is checked in milliseconds."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from odatui.mdm import run_order
from odatui.core.config import Config
from odatui.engine.scheduler import Engine
from odatui.engine.plan import PlanRow
from odatui.core.errors import NeedsAction, SecretsUnavailable, StepError, UsageError
from odatui.core.events import (
    RunFinished,
    StepCancelled,
    StepFailed,
    StepNeedsAction,
    StepProgress,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)
from odatui.core.secrets import SecretStore
from odatui.core.state import StateStore
from odatui.steps.base import Change, ChangeKind, Step


class Tenant:
    """Resources by name; `writes` counts creates so tests can see duplicates and skipped applies."""

    def __init__(self) -> None:
        self.resources: dict[str, int] = {}
        self.writes: list[str] = []
        self.admin_done: set[str] = set()


class Resource(Step):
    """Creates one named resource; `faults` is a list of errors its apply raises first, one per attempt."""

    def __init__(self, sid: str, needs: tuple[str, ...] = (), tenant: Tenant | None = None, *,
                 delay: float = 0.0, faults: list[Exception] | None = None, needs_admin: bool = False,
                 progress_calls: int = 0) -> None:
        self.id = sid
        self.title = f"Resource {sid}"
        self.needs = needs
        self.tenant = tenant
        self.delay = delay
        self.faults = list(faults or [])
        self.needs_admin = needs_admin
        self.progress_calls = progress_calls
        self.inspects = 0

    async def inspect(self, ctx) -> Change:
        self.inspects += 1
        for need in self.needs:
            ctx.output(need, "id")  # the only channel between steps
        if self.needs_admin and self.id not in self.tenant.admin_done:
            return Change(ChangeKind.NEEDS_ACTION, "add it in the console", action="Applications › Add › PSSO")
        if self.id in self.tenant.resources:
            return Change(ChangeKind.NONE, "exists", outputs={"id": self.tenant.resources[self.id]})
        return Change(ChangeKind.CREATE, f"create {self.id}")

    async def apply(self, ctx, progress) -> dict[str, Any]:
        if self.delay:
            await asyncio.sleep(self.delay)
        for i in range(self.progress_calls):
            progress((i + 1) / self.progress_calls, f"{i + 1}")
        if self.faults:
            raise self.faults.pop(0)
        self.tenant.writes.append(self.id)
        self.tenant.resources[self.id] = len(self.tenant.resources) + 1
        return {"id": self.tenant.resources[self.id]}


def chain(tenant: Tenant, **overrides: dict[str, Any]) -> list[Step]:
    """a → b, c (independent) → d needs b and c: the shape of okta/ws1 → verify."""
    shape = {"a": (), "b": ("a",), "c": (), "d": ("b", "c")}
    return [Resource(sid, needs, tenant, **overrides.get(sid, {})) for sid, needs in shape.items()]


def make_engine(tmp_path, steps, **kw) -> Engine:
    store = StateStore("unit-target", tmp_path / "runs")
    kw.setdefault("retry_backoff", (0.001, 0.002))
    return Engine(Config(), SecretStore(use_keychain=False), store, steps=steps, **kw)


def run(engine: Engine, **kw):
    events: list[Any] = []
    result = asyncio.run(engine.run(on_event=events.append, **kw))
    return result, events


def test_full_run_then_rerun_adopts_and_writes_nothing(tmp_path):
    tenant = Tenant()
    result, events = run(make_engine(tmp_path, chain(tenant)))
    assert result.exit_code == 0
    assert result.summary == {s: "succeeded" for s in "abcd"}
    assert sorted(tenant.writes) == ["a", "b", "c", "d"]
    assert isinstance(events[-1], RunFinished) and events[-1].exit_code == 0

    # Resume / second apply: every inspect says NONE, nothing is applied, outputs still flow.
    result, events = run(make_engine(tmp_path, chain(tenant)))
    assert result.exit_code == 0 and len(tenant.writes) == 4
    done = [e for e in events if isinstance(e, StepSucceeded)]
    assert {e.step_id for e in done} == set("abcd") and not any(e.changed for e in done)
    saved = StateStore("unit-target", tmp_path / "runs").load()
    assert saved.steps["d"].status == "succeeded" and saved.steps["a"].outputs == {"id": 1}


def test_dependencies_run_first_and_independent_steps_overlap(tmp_path):
    tenant = Tenant()
    stamps: dict[str, list[float]] = {}

    def note(event):
        if isinstance(event, (StepStarted, StepSucceeded)):
            stamps.setdefault(event.step_id, []).append(time.monotonic())

    steps = chain(tenant, a={"delay": 0.05}, b={"delay": 0.05}, c={"delay": 0.15})
    asyncio.run(make_engine(tmp_path, steps).run(on_event=note))
    assert stamps["b"][0] >= stamps["a"][-1]  # b starts after a finished
    assert stamps["d"][0] >= max(stamps["b"][-1], stamps["c"][-1])
    assert stamps["c"][0] < stamps["a"][-1]  # c ran while a did
    assert stamps["b"][-1] < stamps["c"][-1]  # the a→b branch finished while c was still working


def test_retryable_error_is_retried_until_it_works(tmp_path):
    tenant = Tenant()
    flaky = [StepError("HTTP 503 from WS1", retryable=True), StepError("timed out", retryable=True)]
    result, events = run(make_engine(tmp_path, chain(tenant, c={"faults": flaky})))
    assert result.exit_code == 0
    failed = [e for e in events if isinstance(e, StepFailed)]
    assert [e.attempt for e in failed] == [1, 2] and all(e.will_retry_in is not None for e in failed)
    assert [e.attempt for e in events if isinstance(e, StepStarted) and e.step_id == "c"] == [1, 2, 3]
    assert StateStore("unit-target", tmp_path / "runs").load().steps["c"].attempts == 3


class Assigner(Step):
    """Assigns every group the tenant lacks; inspect's reading travels to apply_change as `found`."""

    id, title = "assign", "Assign groups"

    def __init__(self, tenant: Tenant, wanted: list[str], faults: list[Exception]) -> None:
        self.tenant, self.wanted, self.faults = tenant, wanted, faults
        self.acted_on: list[tuple[str, ...]] = []

    async def inspect(self, ctx) -> Change:
        missing = tuple(g for g in self.wanted if g not in self.tenant.resources)
        if not missing:
            return Change(ChangeKind.NONE, "all assigned", outputs={"groups": self.wanted})
        return Change(ChangeKind.CREATE, f"assign {', '.join(missing)}", found=missing)

    async def apply(self, ctx, progress) -> dict[str, Any]:
        raise AssertionError("the engine hands inspect's change to apply_change")

    async def apply_change(self, ctx, progress, change) -> dict[str, Any]:
        self.acted_on.append(change.found)
        for group in change.found:
            if self.faults:
                self.tenant.resources.pop("Everyone", None)  # meanwhile an admin unassigns a group
                raise self.faults.pop(0)
            self.tenant.writes.append(group)
            self.tenant.resources[group] = 1
        return {"groups": self.wanted}


def test_apply_acts_on_this_attempts_inspect_and_a_retry_inspects_again(tmp_path):
    tenant = Tenant()
    tenant.resources["Everyone"] = 1
    step = Assigner(tenant, ["Everyone", "Mac Pilot"], [StepError("HTTP 503", retryable=True)])
    result, _ = run(make_engine(tmp_path, [step]))
    assert result.exit_code == 0
    # Attempt 1 saw only "Mac Pilot" missing and failed; "Everyone" was unassigned before attempt 2, whose fresh
    # inspect saw both: a stale reading would have skipped re-assigning "Everyone".
    assert step.acted_on == [("Mac Pilot",), ("Everyone", "Mac Pilot")]
    assert sorted(tenant.writes) == ["Everyone", "Mac Pilot"]


def test_retry_limit_then_failure_stops_only_that_branch(tmp_path):
    tenant = Tenant()
    flaky = [StepError("HTTP 503", retryable=True) for _ in range(10)]
    result, events = run(make_engine(tmp_path, chain(tenant, c={"faults": flaky}), retry_limit=2))
    assert result.exit_code == 1
    assert result.summary == {"a": "succeeded", "b": "succeeded", "c": "failed", "d": "skipped"}
    assert [e.attempt for e in events if isinstance(e, StepStarted) and e.step_id == "c"] == [1, 2, 3]
    skipped = next(e for e in events if isinstance(e, StepSkipped))
    assert skipped.step_id == "d" and "c" in skipped.reason and "failed" in skipped.reason
    rec = StateStore("unit-target", tmp_path / "runs").load().steps["c"]
    assert rec.status == "failed" and rec.last_error == "HTTP 503" and rec.retryable is True


def test_non_retryable_error_is_not_retried(tmp_path):
    tenant = Tenant()
    bad = [StepError("smart group 'Okta PSSO Macs' not found", hint="create it in WS1", retryable=False)]
    result, events = run(make_engine(tmp_path, chain(tenant, a={"faults": bad})))
    assert result.summary == {"a": "failed", "b": "skipped", "c": "succeeded", "d": "skipped"}
    failed = [e for e in events if isinstance(e, StepFailed)]
    assert len(failed) == 1 and failed[0].hint == "create it in WS1" and failed[0].will_retry_in is None


def test_failure_on_the_admins_input_is_exit_2(tmp_path):
    from odatui.core.errors import PackageError

    tenant = Tenant()
    bad = [PackageError("OktaVerify.pkg is not a flat package", hint="download it again")]
    result, events = run(make_engine(tmp_path, chain(tenant, c={"faults": bad}), retry_limit=5))
    assert result.exit_code == 2 and result.summary["c"] == "failed" and result.summary["b"] == "succeeded"
    assert sum(isinstance(e, StepStarted) and e.step_id == "c" for e in events) == 1  # never retried


def test_unexpected_exception_becomes_a_readable_failure(tmp_path, caplog):
    tenant = Tenant()
    result, events = run(make_engine(tmp_path, chain(tenant, b={"faults": [KeyError("ClientId")]})))
    assert result.exit_code == 1
    failed = next(e for e in events if isinstance(e, StepFailed))
    assert failed.error == "unexpected error: KeyError: 'ClientId'"
    assert "Traceback" not in failed.error and "details are in the log" in failed.hint


def test_needs_action_unattended_ends_with_exit_3(tmp_path):
    tenant = Tenant()
    result, events = run(make_engine(tmp_path, chain(tenant, a={"needs_admin": True})))
    assert result.exit_code == 3
    assert result.summary["a"] == "needs-action" and result.summary["c"] == "succeeded"
    action = next(e for e in events if isinstance(e, StepNeedsAction))
    assert action.text == "Applications › Add › PSSO" and action.polling is False


def test_needs_action_interactive_polls_and_check_now_continues(tmp_path):
    tenant = Tenant()
    engine = make_engine(tmp_path, chain(tenant, a={"needs_admin": True}), interactive=True,
                         poll_interval=(30.0, 60.0))
    events: list[Any] = []

    def on_event(event):
        events.append(event)
        if isinstance(event, StepNeedsAction):
            assert event.polling and event.next_check_in == 30.0
            tenant.admin_done.add("a")  # the admin clicks in the console…
            asyncio.get_running_loop().call_soon(engine.check_now, "a")  # …and presses "check now"

    started = time.monotonic()
    result = asyncio.run(engine.run(on_event=on_event))
    assert result.exit_code == 0 and time.monotonic() - started < 10  # did not wait for the 30 s poll
    assert sum(isinstance(e, StepNeedsAction) for e in events) == 1


def test_secrets_unavailable_stops_the_run_with_exit_4(tmp_path):
    tenant = Tenant()
    missing = SecretsUnavailable("the Okta API token (SSWS) is not set", hint="run `odatui secrets set okta.api_token`")
    result, events = run(make_engine(tmp_path, chain(tenant, a={"faults": [missing]}, c={"delay": 5})))
    assert result.exit_code == 4
    assert result.summary["a"] == "failed" and result.summary["c"] == "cancelled"
    assert "secrets set" in next(e for e in events if isinstance(e, StepFailed)).hint


def test_cancel_records_where_it_was(tmp_path):
    tenant = Tenant()
    engine = make_engine(tmp_path, chain(tenant, c={"delay": 5}))

    def on_event(event):
        if isinstance(event, StepSucceeded) and event.step_id == "b":
            engine.cancel()

    events: list[Any] = []
    result = asyncio.run(engine.run(on_event=lambda e: (events.append(e), on_event(e))))
    assert result.exit_code == 130
    assert result.summary == {"a": "succeeded", "b": "succeeded", "c": "cancelled", "d": "pending"}
    assert any(isinstance(e, StepCancelled) and e.step_id == "c" for e in events)
    assert StateStore("unit-target", tmp_path / "runs").load().steps["c"].status == "cancelled"


def test_progress_is_coalesced_and_the_last_one_arrives(tmp_path):
    tenant = Tenant()
    result, events = run(make_engine(tmp_path, chain(tenant, c={"progress_calls": 5000})))
    progress = [e for e in events if isinstance(e, StepProgress) and e.step_id == "c"]
    assert 1 <= len(progress) <= 5 and progress[-1].fraction == 1.0
    assert events.index(progress[-1]) < next(i for i, e in enumerate(events)
                                             if isinstance(e, StepSucceeded) and e.step_id == "c")


def test_only_reruns_one_step_with_prerequisites_reconfirmed_live(tmp_path):
    tenant = Tenant()
    run(make_engine(tmp_path, chain(tenant)))
    del tenant.resources["d"]  # someone deleted it in the console
    steps = chain(tenant)
    result, events = run(make_engine(tmp_path, steps), only=["d"])
    assert result.exit_code == 0 and tenant.writes.count("d") == 2
    # The last run's outputs of a, b, c are not trusted: each is inspected again (reads only, no second write).
    assert {e.step_id for e in events if isinstance(e, StepStarted)} == {"a", "b", "c", "d"}
    assert sum(s.inspects for s in steps) == 4 and sorted(w for w in tenant.writes if w != "d") == ["a", "b", "c"]


def test_only_stops_when_a_prerequisite_is_gone_instead_of_using_its_old_outputs(tmp_path):
    tenant = Tenant()
    run(make_engine(tmp_path, chain(tenant)))
    del tenant.resources["b"]  # the tenant changed under the state: b's stored outputs describe nothing
    result, events = run(make_engine(tmp_path, chain(tenant)), only=["d"])
    assert result.exit_code == 1 and tenant.writes.count("d") == 1  # d was not re-written from b's old outputs
    assert result.summary["b"] == "skipped" and result.summary["d"] == "skipped"
    assert "--only b" in next(e for e in events if isinstance(e, StepSkipped) and e.step_id == "b").reason


def test_only_adopts_unrun_prerequisites_but_never_creates_them(tmp_path):
    tenant = Tenant()
    result, events = run(make_engine(tmp_path, chain(tenant)), only=["b"])
    assert result.exit_code == 1 and tenant.writes == []
    assert result.summary["a"] == "skipped" and result.summary["b"] == "skipped"
    assert "--only a" in next(e for e in events if isinstance(e, StepSkipped) and e.step_id == "a").reason

    tenant.resources["a"] = 7  # exists in the tenant, never applied by odatui: adopted
    result, _ = run(make_engine(tmp_path, chain(tenant)), only=["b"])
    assert result.exit_code == 0 and tenant.writes == ["b"]


def test_from_runs_the_step_and_what_follows(tmp_path):
    tenant = Tenant()
    run(make_engine(tmp_path, chain(tenant)))
    engine = make_engine(tmp_path, chain(tenant))
    assert engine.select(from_step="b") == ["b", "d"]
    with pytest.raises(UsageError, match="unknown step id 'nope'"):
        engine.select(only=["nope"])


def test_retry_step_during_a_run_reruns_it_and_what_it_unblocks(tmp_path):
    tenant = Tenant()
    engine = make_engine(tmp_path, chain(tenant, a={"faults": [StepError("403 Forbidden")]}, c={"delay": 0.3}))
    retried = []

    def on_event(event):
        if isinstance(event, StepFailed) and event.step_id == "a" and not retried:
            retried.append(True)
            engine.retry_step("a")  # the fault list is empty now: the second try works

    result = asyncio.run(engine.run(on_event=on_event))
    assert result.exit_code == 0 and result.summary == {s: "succeeded" for s in "abcd"}


def test_plan_inspects_everything_and_changes_nothing(tmp_path):
    tenant = Tenant()
    tenant.resources["a"] = 1
    engine = make_engine(tmp_path, chain(tenant, c={"needs_admin": True}))
    rows = asyncio.run(engine.plan())
    assert [r.step_id for r in rows] == ["a", "b", "c", "d"] and all(isinstance(r, PlanRow) for r in rows)
    kinds = {r.step_id: (r.change.kind if r.change else None) for r in rows}
    assert kinds == {"a": ChangeKind.NONE, "b": ChangeKind.CREATE, "c": ChangeKind.NEEDS_ACTION, "d": None}
    assert "decided once" in rows[3].hint and rows[3].error is None
    assert tenant.writes == [] and not (tmp_path / "runs" / "unit-target.json").exists()


def test_a_second_engine_on_the_same_target_is_refused(tmp_path):
    from odatui.core.errors import StateError

    tenant = Tenant()
    holder = StateStore("unit-target", tmp_path / "runs")
    with holder, pytest.raises(StateError, match="another odatui"):
        asyncio.run(make_engine(tmp_path, chain(tenant)).run())


def test_unknown_need_is_a_clear_error(tmp_path):
    with pytest.raises(UsageError, match="needs zz"):
        make_engine(tmp_path, [Resource("a", ("zz",), Tenant())])


def test_needs_action_raised_from_apply_is_handled_like_inspect(tmp_path):
    tenant = Tenant()
    step = Resource("a", (), tenant, faults=[NeedsAction("approve the app", hint="Security › API")])
    result, events = run(make_engine(tmp_path, [step]))
    assert result.exit_code == 3
    assert "approve the app" in next(e for e in events if isinstance(e, StepNeedsAction)).text


# --------------------------------------------------------------------------- the real steps against the sandbox

from rollout import demo_factory, duplicates, tenant, writes  # noqa: E402,F401 - demo_factory is a fixture


def demo_engine(session, **kw) -> Engine:
    store = StateStore(session.config.target_key(), session.sandbox.data_dir / "runs")
    return Engine(session.config, session.secrets, store, **{"steps": run_order(session.config), **kw})


def test_okta_branch_finishes_while_the_package_uploads(demo_factory):
    # 50 ms per request, and the package blob answered 1 s late (a big .pkg on a slow link).
    session = demo_factory(latency_ms=50, fault_rules=[
        {"method": "POST", "path": "/api/mam/blobs/uploadblob", "fault": "slow", "seconds": 1.0, "times": 1}])
    stamps: dict[tuple[str, str], float] = {}

    def note(event):
        if isinstance(event, (StepStarted, StepSucceeded)):
            stamps[(event.step_id, type(event).__name__)] = time.monotonic()

    result = asyncio.run(demo_engine(session).run(on_event=note))
    assert result.exit_code == 0
    upload = (stamps[("ws1.upload", "StepStarted")], stamps[("ws1.upload", "StepSucceeded")])
    okta_done = stamps[("okta.assign", "StepSucceeded")]
    assert upload[0] < okta_done < upload[1], (upload, okta_done)
    # The whole Okta branch took at least its requests' latency, all of it hidden behind the upload.
    okta_requests = sum(1 for r in session.sandbox.world.requests if r["path"].startswith(("/api/v1", "/.well")))
    assert okta_done - stamps[("preflight.okta", "StepStarted")] >= 0.05 * 5 and okta_requests >= 5


@pytest.mark.parametrize("seed", [3, 11])
def test_faulty_tenant_run_completes_without_duplicates(demo_factory, seed):
    session = demo_factory(fault_rate=0.2, seed=seed)
    engine = demo_engine(session, retry_limit=6, retry_backoff=(0.05, 0.5))
    result = asyncio.run(engine.run())
    state = session.sandbox.state()
    assert result.exit_code == 0, (result.summary, engine.state.steps)
    assert duplicates(state) == []
    assert tenant(state)["ws1_apps"] == [("Okta Verify", "9.52.0")]
    assert [p[0] for p in tenant(state)["profiles"]] == ["Okta Platform SSO"]
    injected = session.sandbox.world.faults.injected
    assert len(injected) >= 3  # the faults really happened


def test_second_run_against_the_sandbox_sends_no_writes(demo_factory):
    session = demo_factory()
    assert asyncio.run(demo_engine(session).run()).exit_code == 0
    before = len(session.sandbox.world.requests)
    events: list[Any] = []
    assert asyncio.run(demo_engine(session).run(on_event=events.append)).exit_code == 0
    assert writes(session.sandbox.world.requests[before:]) == []
    assert not any(e.changed for e in events if isinstance(e, StepSucceeded))


def test_verify_catches_a_profile_edited_in_the_console(demo_factory):
    from odatui.mdm.ws1.api.client import Ws1Client

    session = demo_factory()
    assert asyncio.run(demo_engine(session).run()).exit_code == 0
    state = demo_engine(session).state
    client_id = state.steps["okta.app"].outputs["client_id"]
    profile_id = state.steps["ws1.profile"].outputs["profile_id"]

    async def tamper() -> None:  # an admin pastes another org's client ID and a second host into the profile
        async with Ws1Client.from_config(session.config.ws1, session.secrets) as ws1:
            body = await ws1.get_profile(profile_id)
            for entry in body["CustomSettingsList"]:
                entry["CustomSettings"] = entry["CustomSettings"].replace(client_id, "0oaAAAAAAAAAAAAAAAAA")
            body["General"]["ProfileId"] = profile_id
            await ws1.update_macos_profile(body)

    asyncio.run(tamper())
    events: list[Any] = []
    result = asyncio.run(demo_engine(session).run(only=["verify"], on_event=events.append))
    assert result.exit_code == 1 and result.summary["verify"] != "succeeded"
    # ws1.profile's stored success is re-checked against the live profile first: it now differs, so verify does
    # not run on it, and the reason names the step that repairs it.
    skipped = next(e for e in events if isinstance(e, StepSkipped) and e.step_id == "ws1.profile")
    assert "would update" in skipped.reason and "--only ws1.profile" in skipped.reason

    # Re-running the profile step repairs it, and verify agrees again.
    assert asyncio.run(demo_engine(session).run(from_step="ws1.profile")).exit_code == 0


def test_apply_does_not_repeat_the_reads_its_inspect_just_made(demo_factory):
    session = demo_factory()
    assert asyncio.run(demo_engine(session).run()).exit_code == 0
    gets = [r["path"] for r in session.sandbox.world.requests if r["method"] == "GET"]
    # One lookup each (okta.assign's group and assignments, ws1.upload's app search, ws1.profile's profile
    # search), plus verify's own read-back of the Okta assignments, plus one look after each create for a
    # duplicate made meanwhile by another odatui.
    assert gets.count("/api/v1/groups") == len(session.config.okta.groups)
    assert gets.count("/api/mam/apps/search") == 2
    assert gets.count("/api/mdm/profiles/search") == 2
    assert sum(p.startswith("/api/v1/apps/") and p.endswith("/groups") for p in gets) == 2
