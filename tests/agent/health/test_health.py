"""A container's probes together, and the health record on disk.

We test these aspects:
- a startup probe gates liveness and readiness; when it passes, readiness runs at once;
- a startup probe that fails its retries, or a liveness probe turning unhealthy, asks for a
  restart with a reason naming the probe and its last output; readiness never does;
- status and ready follow Kubernetes' rules; no probes means no status;
- the record is written atomically and read back; a corrupt record is a one-line error;
- ``run_once`` runs every probe's check now, for real (exec and TCP).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agent.runtime import health, probes
from agent.runtime.health import ContainerHealth
from agent.runtime.probes import CheckResult, ExecCheck, ProbePlan, TcpCheck
from tests.agent.health.test_probes import host_exec

OK = CheckResult(0, 0, 0, "ok")
FAIL = CheckResult(0, 0, 1, "connection refused\nmore")


def _plans() -> list[ProbePlan]:
    return [
        ProbePlan("startup", TcpCheck(8080), interval=1, retries=3),
        ProbePlan("liveness", ExecCheck(("alive",)), interval=10, retries=2),
        ProbePlan("readiness", TcpCheck(8080), interval=5, retries=1),
    ]


def test_startup_gates_the_others() -> None:
    h = ContainerHealth.create("web", 42, _plans(), started=0)
    assert [t.plan.kind for t in h.runnable()] == ["startup"]
    assert (h.status, h.ready) == ("starting", False)
    assert h.record("startup", FAIL, 1) is None
    assert h.record("startup", OK, 2) is None
    assert sorted(t.plan.kind for t in h.runnable()) == ["liveness", "readiness"]
    assert h.trackers["readiness"].next_due == 2
    assert h.trackers["liveness"].next_due == 12
    assert h.next_due() == 2
    assert h.status == "starting"  # liveness has not run yet
    assert h.record("readiness", OK, 2) is None
    assert h.ready is True
    assert h.record("liveness", OK, 12) is None
    assert h.to_json()["status"] == "healthy"


def test_failing_startup_asks_for_a_restart() -> None:
    h = ContainerHealth.create("web", 42, _plans(), started=0)
    assert h.record("startup", FAIL, 1) is None
    assert h.record("startup", FAIL, 2) is None
    reason = h.record("startup", FAIL, 3)
    assert reason == "startup probe failed 3 times in a row (tcp-socket 127.0.0.1:8080): connection refused"
    assert h.status == "unhealthy"


def test_liveness_restarts_readiness_does_not() -> None:
    h = ContainerHealth.create("web", 42, _plans()[1:], started=0)
    assert h.record("readiness", FAIL, 5) is None
    assert h.ready is False
    assert h.record("liveness", FAIL, 10) is None
    assert (
        h.record("liveness", FAIL, 20)
        == "liveness probe failed 2 times in a row (exec alive): connection refused"
    )


def test_no_probes() -> None:
    h = ContainerHealth.create("plain", 1, [], started=0)
    assert (h.status, h.ready, h.next_due()) == (None, None, None)


def test_record_round_trip(tmp_path: Path) -> None:
    h = ContainerHealth.create("web", 42, _plans()[1:2], started=0)
    h.record("liveness", OK, 10)
    path = tmp_path / "run" / "web" / "health.json"
    health.write_record(path, h.to_json())
    data = health.read_record(path)
    assert data is not None
    assert (data["name"], data["pid"], data["status"], data["failing_streak"]) == ("web", 42, "healthy", 0)
    assert data["log"][0]["output"] == "ok"
    assert [p.name for p in path.parent.iterdir()] == ["health.json"]
    assert health.read_record(tmp_path / "none.json") is None
    path.write_text("{broken")
    with pytest.raises(probes.ProbeError, match=r"health.json: unreadable health record"):
        health.read_record(path)


def test_run_once() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        plans = [
            ProbePlan("liveness", ExecCheck(("sh", "-c", "exit 2")), timeout=5),
            ProbePlan("readiness", TcpCheck(port), timeout=5),
        ]
        results = health.run_once(plans, netns=None, exec_fn=host_exec)
    assert results["liveness"].exit_code == 2
    assert results["readiness"].exit_code == 0


def test_describe_shows_status_and_last_outputs() -> None:
    h = ContainerHealth.create("web", 42, _plans(), started=0)
    h.record("startup", CheckResult(0, 1.5, 1, "connection refused\nsecond line"), 1)
    text = health.describe(h.to_json())
    lines = text.splitlines()
    assert lines[0] == "web: starting, not ready"
    assert "  startup   starting  tcp-socket 127.0.0.1:8080 every 1s, failing streak 1" in lines
    assert lines[-1 - 0].startswith("  readiness") or any(
        "exit 1  connection refused" in line for line in lines
    )
    assert any(
        line.endswith("exit 1  connection refused") and "1970-01-01T00:00:01.500000Z" in line
        for line in lines
    )
    # during startup the record's own log is the startup probe's
    assert h.to_json()["log"][0]["output"].startswith("connection refused")
