"""Fault injection: reproducible by seed, per-route rules that hit exactly one call, vendor-shaped bodies, dropped
connections and slow answers, and never on /_sandbox."""

from __future__ import annotations

import ssl
import time

import httpx
import pytest

from odatui.sandbox.credentials import OKTA_TOKEN

SSWS = {"Authorization": f"SSWS {OKTA_TOKEN}"}


def client(sb, **kwargs) -> httpx.Client:
    return httpx.Client(base_url=sb.url, verify=ssl.create_default_context(cafile=str(sb.ca_path)), headers=SSWS,
                        **kwargs)


def outcomes(sb, n: int = 40) -> list[str]:
    out = []
    with client(sb, timeout=10) as http:
        for _ in range(n):
            try:
                out.append(str(http.get("/api/v1/groups").status_code))
            except httpx.TransportError as exc:
                out.append(type(exc).__name__)
    return out


def test_random_faults_are_reproducible_by_seed(sandbox_factory, monkeypatch):
    import odatui.sandbox.faults as faults

    monkeypatch.setattr(faults, "SLOW_SECONDS", 0.05)
    a = sandbox_factory(fault_rate=0.4, seed=7)
    b = sandbox_factory(fault_rate=0.4, seed=7)
    c = sandbox_factory(fault_rate=0.4, seed=8)
    run_a, run_b, run_c = outcomes(a), outcomes(b), outcomes(c)
    assert run_a == run_b
    assert a.world.faults.injected == b.world.faults.injected
    assert a.world.faults.injected != c.world.faults.injected
    kinds = {f["fault"] for f in a.world.faults.injected}
    assert len(kinds) >= 4, kinds  # a 40% rate over 40 calls shows most kinds
    assert 8 <= len(a.world.faults.injected) <= 26
    assert set(run_a) - {"200", "429", "500", "502", "503", "RemoteProtocolError"} == set()


def test_no_faults_without_a_rate(sandbox):
    assert set(outcomes(sandbox, 10)) == {"200"}
    assert sandbox.world.faults.injected == []


@pytest.mark.parametrize("kind", ["429", "500", "502", "503"])
def test_rule_targets_one_call_with_vendor_shaped_body(sandbox_factory, kind):
    sb = sandbox_factory(fault_rules=[{"method": "GET", "path": "/api/v1/groups", "fault": kind, "times": 1}])
    with client(sb) as http:
        assert http.get("/api/v1/apps").status_code == 200  # another route is untouched
        r = http.get("/api/v1/groups")
        assert r.status_code == int(kind)
        if kind == "502":
            assert r.headers["content-type"].startswith("text/html") and "Bad Gateway" in r.text
        else:
            assert r.json()["errorCode"] == {"429": "E0000047", "500": "E0000009", "503": "E0000010"}[kind]
            assert r.json()["errorSummary"] and r.json()["errorId"]
        if kind == "429":
            assert r.headers["X-Rate-Limit-Remaining"] == "0"
            assert int(r.headers["X-Rate-Limit-Limit"]) > 0
            assert time.time() < int(r.headers["X-Rate-Limit-Reset"]) <= time.time() + 3
        assert http.get("/api/v1/groups").status_code == 200  # times: 1
    assert sb.world.faults.injected == [{"n": 2, "method": "GET", "path": "/api/v1/groups", "fault": kind}]


def test_ws1_routes_get_a_ws1_shaped_429(sandbox_factory):
    sb = sandbox_factory(fault_rules=[{"path": "/api/mdm/.*", "fault": "429"}])
    with client(sb) as http:
        r = http.get("/api/mdm/smartgroups/search")
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert set(r.json()) == {"errorCode", "message", "activityId"}


def test_drop_closes_without_a_response_and_server_keeps_serving(sandbox_factory):
    sb = sandbox_factory(fault_rules=[{"path": "/api/v1/apps", "fault": "drop", "times": 2}])
    with client(sb) as http:
        for _ in range(2):
            with pytest.raises(httpx.RemoteProtocolError):
                http.get("/api/v1/apps")
        assert http.get("/api/v1/apps").status_code == 200
    recorded = [r for r in sb.world.requests if r["path"] == "/api/v1/apps"]
    assert [r["status"] for r in recorded] == [0, 0, 200]  # recorded as "no answer"


def test_slow_and_timeout(sandbox_factory):
    sb = sandbox_factory(fault_rules=[
        {"path": "/api/v1/users/me", "fault": "slow", "seconds": 0.6},
        {"path": "/api/v1/groups", "fault": "timeout", "seconds": 20},
    ])
    with client(sb, timeout=httpx.Timeout(5.0, read=0.5)) as http:
        start = time.perf_counter()
        assert http.get("/api/v1/users/me", timeout=5).status_code == 200
        assert time.perf_counter() - start >= 0.6
        with pytest.raises(httpx.ReadTimeout):
            http.get("/api/v1/groups")
    with client(sb) as http:
        assert http.get("/api/v1/groups").status_code == 200


def test_sandbox_routes_are_never_faulted_and_rules_can_be_added_live(sandbox_factory):
    sb = sandbox_factory(fault_rate=1.0, seed=1)
    with client(sb) as http:
        for _ in range(5):
            assert http.get("/_sandbox/state").status_code == 200
        assert sb.world.faults.injected == []
        r = http.post("/_sandbox/faults", json={"path": "/api/v1/apps", "fault": "503"})
        assert r.status_code == 200
        bad = http.post("/_sandbox/faults", json={"path": "/x", "fault": "teapot"})
        assert bad.status_code == 400 and "fault must be one of" in bad.json()["error"]
