"""The supervisor with real containers-to-be: busybox httpd in its own network namespace.

We test these aspects:
- a target whose HTTP liveness probe passes is recorded healthy; when the page disappears
  (404) it turns unhealthy after its retries and the restart function is called once with the
  reason; the restarted process (a new pid) starts over and turns healthy again; each change is
  reported to the target once (its ``health_status`` events);
- readiness is recorded; a target with a named port gets an error in its record, not a crash;
- a restart function that raises is recorded and probing goes on;
- a process that exited is not probed (its restart policy owns it): no restart is requested;
- ``/metrics`` and ``/healthz`` answer over real HTTP on 127.0.0.1: health status, readiness,
  cgroup figures and the agent's own RSS; a stopped agent leaves the port closed.
"""

from __future__ import annotations

import secrets
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agent.runtime import health
from agent.supervisor import running
from agent.supervisor.supervising import Supervisor
from agent.supervisor.targets import StaticTarget
from tests.support.cgroups import ScratchCgroup, scratch_cgroup
from tests.support.namespaces import IsolatedServer, start_isolated_httpd, stop
from translators.spec.probes import Probe


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not met in {timeout} s")
        time.sleep(0.05)


def record_of(path: Path) -> dict[str, Any]:
    return health.read_record(path) or {}


class Web:
    """A restartable 'container': busybox httpd in its own namespace, restarted by the test."""

    def __init__(self, tmp: Path, cgroup: ScratchCgroup) -> None:
        self.cgroup = cgroup
        self.www = tmp / "www"
        self.www.mkdir()
        self.body = f"served {secrets.token_hex(4)}\n"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.restart_reasons: list[str] = []
        self.health_changes: list[str] = []
        self.server = self._start()
        self.target = StaticTarget(
            name=f"web-{secrets.token_hex(3)}",
            pid=self.server.pid,
            health_file=tmp / "run" / "health.json",
            healthcheck=Probe.model_validate(
                {
                    "http_get": {"port": self.server.port, "path": "/index.html"},
                    "interval": 0.2,
                    "timeout": 2,
                    "retries": 2,
                }
            ),
            readiness=Probe.model_validate(
                {"tcp_socket": {"port": self.server.port}, "interval": 0.2, "timeout": 2}
            ),
            cgroup=cgroup.path,
            restart_fn=self.restart,
            health_fn=self.health_changes.append,
        )

    def _start(self, port: int | None = None) -> IsolatedServer:
        proc, server = start_isolated_httpd(self.www, self.body, port)
        self.procs.append(proc)
        self.cgroup.add(proc.pid)
        return server

    def restart(self, reason: str) -> None:
        self.restart_reasons.append(reason)
        stop(self.procs[-1])
        self.server = self._start(self.server.port)  # a new namespace, the same port
        self.target = replace(self.target, pid=self.server.pid, restarts=self.target.restarts + 1)

    def close(self) -> None:
        for proc in self.procs:
            stop(proc)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    cgroup = next(cgroups := scratch_cgroup("supervisor"))
    cgroup.set("memory", "memory.limit_in_bytes", str(64 << 20))
    cgroup.set("pids", "pids.max", "16")
    w = Web(tmp_path, cgroup)
    try:
        yield w
    finally:
        w.close()
        next(cgroups, None)  # destroys the cgroup


def test_unhealthy_liveness_restarts(web: Web) -> None:
    sup = Supervisor(lambda: [web.target], refresh=0.2)
    sup.start()
    try:
        path = web.target.health_file
        first_pid = web.server.pid
        wait_for(lambda: record_of(path).get("status") == "healthy", what="healthy")
        rec = record_of(path)
        assert (rec["pid"], rec["ready"]) == (first_pid, True)
        assert rec["log"][-1]["output"].startswith("HTTP 200")
        (web.www / "index.html").unlink()  # the process lives on, its page is gone
        wait_for(lambda: bool(web.restart_reasons), what="restart")
        assert len(web.restart_reasons) == 1
        assert web.restart_reasons[0].startswith(
            "liveness probe failed 2 times in a row (http-get http://127.0.0.1:"
        )
        assert "HTTP 404" in web.restart_reasons[0]
        (web.www / "index.html").write_text(web.body)
        wait_for(lambda: record_of(path).get("pid") == web.server.pid != first_pid, what="new pid")
        wait_for(lambda: record_of(path).get("status") == "healthy", what="healthy again")
        rec = record_of(path)
        assert rec["restarts"] == 1
        assert all(entry["output"].startswith("HTTP 200") for entry in rec["log"])  # a fresh history
        assert len(web.restart_reasons) == 1
        # each change once (the health_status events), not every check
        assert web.health_changes == ["healthy", "unhealthy", "healthy"]
    finally:
        sup.stop()


def test_restart_failure_is_recorded(web: Web, tmp_path: Path) -> None:
    def broken(reason: str) -> None:
        from agent.runtime.errors import RuntimeFailure

        raise RuntimeFailure("container x: runc said no")

    target = replace(web.target, restart_fn=broken)
    (web.www / "index.html").unlink()
    sup = Supervisor(lambda: [target], refresh=0.2)
    sup.start()
    try:
        wait_for(lambda: "restart_error" in record_of(target.health_file), what="restart error")
        rec = record_of(target.health_file)
        assert rec["restart_error"] == "container x: runc said no"
        assert rec["status"] == "unhealthy"
        checks = sup.checks
        wait_for(lambda: sup.checks > checks + 2, what="probing goes on")
    finally:
        sup.stop()


def test_an_exited_process_is_left_to_the_restart_policy(web: Web) -> None:
    stop(web.procs[-1])  # the container exited; the runtime (conmon) restarts it, not the probes
    sup = Supervisor(lambda: [web.target], refresh=0.1)
    sup.start()
    try:
        time.sleep(1.5)  # liveness every 0.2 s with 2 retries would have given up 3 times
        rec = record_of(web.target.health_file)
        assert (rec["status"], rec["probes"]["liveness"]["checks"]) == ("starting", 0)
        assert web.restart_reasons == []
    finally:
        sup.stop()


def test_a_bad_probe_is_recorded_not_fatal(web: Web) -> None:
    bad = replace(web.target, startup=Probe.model_validate({"tcp_socket": {"port": "http"}}))
    sup = Supervisor(lambda: [bad], refresh=0.2)
    sup.start()
    try:
        wait_for(lambda: "error" in record_of(bad.health_file), what="error record")
        assert "port 'http' is a name" in record_of(bad.health_file)["error"]
        assert sup.alive()
    finally:
        sup.stop()


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - a local http URL
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_metrics_and_healthz_over_http(web: Web) -> None:
    stop_event = threading.Event()
    ports: list[int] = []
    thread = threading.Thread(
        target=running.run,
        args=(lambda: [web.target],),
        kwargs={"port": 0, "refresh": 0.2, "stop": stop_event, "on_ready": ports.append},
    )
    thread.start()
    try:
        wait_for(lambda: bool(ports), what="serving")
        base = f"http://127.0.0.1:{ports[0]}"
        wait_for(lambda: record_of(web.target.health_file).get("status") == "healthy", what="healthy")
        assert _get(base + "/healthz") == (200, "ok\n")
        _get(base + "/metrics")  # the first scrape sets the CPU baseline
        code, text = _get(base + "/metrics")
        assert code == 200
        name = web.target.name
        assert f'berth_container_health_status{{container="{name}",status="healthy"}} 1.0' in text
        assert f'berth_container_health_status{{container="{name}",status="unhealthy"}} 0.0' in text
        assert f'berth_container_ready{{container="{name}"}} 1.0' in text
        assert f'berth_container_restarts_total{{container="{name}"}} 0.0' in text
        assert f'berth_container_memory_usage_bytes{{container="{name}"}} ' in text
        assert f'berth_container_cpu_usage_percent{{container="{name}"}} ' in text
        assert f'berth_container_pids{{container="{name}"}} 1.0' in text
        assert f'berth_container_pids_limit{{container="{name}"}} 16.0' in text
        memory = [line for line in text.splitlines() if line.startswith("berth_container_memory")]
        assert f'berth_container_memory_limit_bytes{{container="{name}"}} 6.7108864e+07' in memory, memory
        assert "berth_supervisor_containers 1.0" in text
        rss = [line for line in text.splitlines() if line.startswith("process_resident_memory_bytes ")]
        assert rss and float(rss[0].split()[1]) > 1e6
        assert _get(base + "/nothing")[0] == 404
    finally:
        stop_event.set()
        thread.join(20)
    assert not thread.is_alive()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"http://127.0.0.1:{ports[0]}/healthz", timeout=2)
