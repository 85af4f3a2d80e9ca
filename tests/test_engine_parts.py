"""The engine's rooms one by one (issue 17): the exit-code table, the graph, the fields steps declare, the clients
steps declare (never guessed from step ids), statuses as a StrEnum, the state lock's public `held`."""

from __future__ import annotations

import asyncio
import inspect
import json
import signal
from typing import Any

import pytest

from odatui.core.config import Config
from odatui.engine.scheduler import Engine
from odatui.engine.exits import (
    EXIT_CANCELLED,
    EXIT_FAILED,
    EXIT_NEEDS_ACTION,
    EXIT_OK,
    EXIT_SECRETS,
    EXIT_SIGPIPE,
    EXIT_USAGE,
    MEANING,
    run_exit,
    signal_exit,
)
from odatui.engine.graph import Graph, missing_fields
from odatui.core.errors import UsageError
from odatui.core.secrets import SecretStore
from odatui.core.state import FAILED, SUCCEEDED, RunState, StateStore, Status
from odatui.mdm import run_order
from odatui.steps.base import CLIENTS, Change, ChangeKind, Step, client_fields


class Plain(Step):
    def __init__(self, sid: str, needs: tuple[str, ...] = (), clients: tuple[str, ...] = (),
                 fields: tuple[str, ...] = ()) -> None:
        self.id, self.title, self.needs, self.clients, self.required_fields = sid, sid, needs, clients, fields

    async def inspect(self, ctx) -> Change:
        return Change(ChangeKind.NONE, "exists", outputs={"id": self.id})

    async def apply(self, ctx, progress) -> dict[str, Any]:
        raise AssertionError("never applied: inspect finds it")


def test_the_exit_code_table():
    assert (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NEEDS_ACTION, EXIT_SECRETS) == (0, 1, 2, 3, 4)
    assert EXIT_CANCELLED == 130 and EXIT_SIGPIPE == 141 and signal_exit(signal.SIGTERM) == 143
    assert set(MEANING) == {0, 1, 2, 3, 4, 130}
    import odatui.cli.main as cli
    import odatui.core.signals as signals

    assert (cli.EXIT_USAGE, cli.EXIT_FAILED, cli.EXIT_SIGPIPE) == (EXIT_USAGE, EXIT_FAILED, EXIT_SIGPIPE)
    assert signals.exit_code() == EXIT_CANCELLED  # nothing received yet: Ctrl-C's code


@pytest.mark.parametrize("statuses, kw, code", [
    ({"a": Status.SUCCEEDED}, {}, EXIT_OK),
    ({"a": Status.SUCCEEDED, "b": Status.SKIPPED}, {"not_applicable": {"b"}}, EXIT_OK),
    ({"a": Status.SUCCEEDED, "b": Status.SKIPPED}, {}, EXIT_FAILED),  # blocked, not "not needed"
    ({"a": Status.NEEDS_ACTION, "b": Status.FAILED}, {}, EXIT_FAILED),
    ({"a": Status.NEEDS_ACTION}, {}, EXIT_NEEDS_ACTION),
    ({"a": Status.FAILED}, {"failed_with": {"a": EXIT_USAGE}}, EXIT_USAGE),
    ({"a": Status.FAILED}, {"aborted": EXIT_SECRETS}, EXIT_SECRETS),
    ({"a": Status.SUCCEEDED}, {"cancelled": True}, EXIT_CANCELLED),
])
def test_a_runs_exit_code(statuses, kw, code):
    kw = {"failed_with": {}, "not_applicable": set(), **kw}
    assert run_exit(statuses, **kw) == code


def test_graph_order_descendants_and_selection():
    graph = Graph([Plain("d", ("b", "c")), Plain("b", ("a",)), Plain("a"), Plain("c")])
    assert graph.order == ["a", "b", "c", "d"]
    assert graph.descendants("a") == ["b", "d"] and graph.ancestors("d") == ["a", "b", "c"]
    assert graph.select(from_step="b") == ["b", "d"] and graph.select(only=["d", "a"]) == ["a", "d"]
    with pytest.raises(UsageError, match="unknown step id 'x'"):
        graph.select(only=["x"])
    with pytest.raises(UsageError, match="cycle"):
        Graph([Plain("a", ("b",)), Plain("b", ("a",))])


def test_every_step_declares_the_clients_it_calls():
    for step in run_order():
        assert set(step.clients) <= set(CLIENTS), step.id
        source = inspect.getsource(type(step))
        for kind in CLIENTS:
            assert (f"ctx.{kind}()" in source) == (kind in step.clients), (step.id, kind)


def test_missing_fields_come_from_what_the_steps_declare():
    config = Config()
    config.ws1.auth = "basic"
    assert missing_fields(config, ["preflight.package"], run_order(config)) == ["rollout.package"]
    got = missing_fields(config, ["preflight.ws1"], run_order(config))
    assert set(got) == {"ws1.api_url", "ws1.group_id", "ws1.smart_group", "ws1.username"}
    assert "ws1.username" in client_fields("ws1", config)
    steps = [Plain("x", clients=("ws1",), fields=("rollout.package",))]
    assert missing_fields(config, ["x"], steps) == ["rollout.package", "ws1.username"]
    assert missing_fields(config, ["y"], steps) == []


def test_the_engine_builds_the_clients_steps_declare_not_ones_guessed_from_ids(tmp_path):
    built: list[str] = []

    def factory(kind: str, ctx) -> object:
        built.append(kind)
        return object()

    # A step named like an Okta one but using WS1 only: the engine builds "ws1" (before it starts), never "okta".
    steps = [Plain("okta.lookalike", clients=("ws1",))]
    engine = Engine(Config(), SecretStore(use_keychain=False), StateStore("parts", tmp_path / "runs"), steps=steps,
                    client_factory=factory)
    result = asyncio.run(engine.run())
    assert result.exit_code == EXIT_OK
    assert built == ["ws1"]


def test_statuses_are_a_strenum_equal_to_the_stored_strings(tmp_path):
    assert Status.NEEDS_ACTION == "needs-action" and FAILED is Status.FAILED and SUCCEEDED == "succeeded"
    state = RunState("t")
    state.step("a").status = Status.NEEDS_ACTION
    data = json.loads(json.dumps(state.to_json()))
    assert data["steps"]["a"]["status"] == "needs-action"
    back = RunState.from_json(data)
    assert back.steps["a"].status == Status.NEEDS_ACTION and back.failed() == ["a"]


def test_the_state_lock_says_whether_it_is_held(tmp_path):
    store = StateStore("held", tmp_path / "runs")
    assert not store.held
    with store:
        assert store.held
    assert not store.held
