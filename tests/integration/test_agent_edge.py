"""Edge autonomy of the node agent, on the real control plane of the test suite and real runc.

We test these aspects:
- with a running ContainerDeployment: the API server stopped and the agent restarted (it starts
  from local state and leaves the container as it was); the workload's process SIGKILLed from
  outside is restarted by its policy and answers on its published port again (meanwhile
  `berth kube status` shows the local view and since when the agent is cut off); the API server
  started again: the status catches up within seconds in one write, with the restart counted and
  a Disconnected condition (reason Reconnected) saying how long the node was cut off;
- a second outage with the agent running through it: its held status is written once when back;
- the resource deleted while the agent is stopped: the workload keeps running until an agent
  sees the deletion, then it is removed and the resource goes;
- 20 workloads and the agent SIGKILLed: all keep answering; a new agent adopts them without
  restarting any (same pids, same process start times) and reports every one Ready again (their
  status wiped by an administrator meanwhile, so each Ready is the new agent's word).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from agent.kube.outages import parse_stamp
from tests.integration import test_agent_kube as kube_tests
from tests.integration.test_agent_kube import (
    CDEPS,
    Agent,
    Api,
    answers,
    cdep,
    condition,
    get,
    until,
    wait_for,
)
from tests.support.controlplane import free_port
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow

# the agent tests' fixtures: the control plane set up for agents, their kubeconfig, the demo image
cluster, agent_kubeconfig, agents, layout = (
    kube_tests.cluster,
    kube_tests.agent_kubeconfig,
    kube_tests.agents,
    kube_tests.layout,
)

MERGE = "application/merge-patch+json"


def purge(api: Api, name: str) -> None:
    """Delete a resource for good, whether or not an agent is left to drop its finalizer."""
    api.call("PATCH", f"{CDEPS}/{name}", {"metadata": {"finalizers": None}}, MERGE)
    api.call("DELETE", f"{CDEPS}/{name}")


def node_condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    entry = ((obj.get("status") or {}).get("nodes") or [{}])[0]
    return next((c for c in entry.get("conditions") or [] if c["type"] == kind), {})


def process_start(pid: int) -> int:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[19])


def writes(api: Api, name: str) -> int:
    """How often the resource was written since it was made: the ``version`` etcd keeps for its
    key (read through etcd's JSON gateway, so it works while kube-apiserver is down too)."""
    key = f"/registry/berth.io/containerdeployments/default/{name}".encode()
    resp = requests.post(
        f"{api.plane.etcd_url}/v3/kv/range",
        json={"key": base64.b64encode(key).decode(), "keys_only": True},
        timeout=10,
    )
    resp.raise_for_status()
    (kv,) = resp.json()["kvs"]
    return int(kv["version"])


@pytest.fixture
def api_back(cluster: Api) -> Iterator[Api]:
    """The API server is running again after the test, whatever happened in it."""
    try:
        yield cluster
    finally:
        cluster.plane.start_apiserver()


def test_the_node_runs_on_through_an_api_outage_and_reports_when_back(
    api_back: Api, agents: Callable[[str], Agent], layout: Path
) -> None:
    cluster = api_back
    agent = agents("node-e")
    name, port = f"edge-{os.getpid()}", free_port()
    body = cdep(name, layout, port, nodeName="node-e")
    body["spec"]["config"]["restart"] = "always"
    try:
        assert cluster.call("POST", CDEPS, body).status_code == 201, agent.tail()
        until(cluster, name, "Ready", lambda o: condition(o, "Ready").get("status") == "True")
        (local,) = agent.names()
        engine = agent.engine()
        first_pid = engine.status(local).pid
        assert answers(port)

        # the API server goes away; the agent is restarted while it is away
        written = writes(cluster, name)
        stopping = time.time()
        cluster.plane.stop_apiserver()  # kube-apiserver drains for a while on SIGTERM
        stopped = time.time()
        agent.stop()
        logged = agent.log.stat().st_size
        agent.start()
        wait_for(
            "the agent up on local state",
            lambda: "watching" in agent.log.read_text(errors="replace")[logged:],
            timeout=60,
        )
        time.sleep(1.0)
        assert agent.proc is not None and agent.proc.poll() is None, agent.tail()
        assert engine.status(local).pid == first_pid, "an agent restart must not restart the workload"
        assert answers(port)

        # the workload's process killed from outside: restarted by its policy, without the API
        os.kill(first_pid, signal.SIGKILL)

        # meanwhile (the restart waits its backoff) berth kube status shows the local view and
        # when the agent lost the API server
        out = subprocess.run(
            [sys.executable, "-m", "agent", "kube", "status", name, "-o", "json",
             "--kubeconfig", str(cluster.plane.kubeconfig), "--root", str(agent.root), "--run-root", str(agent.run)],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=120,
        )  # fmt: skip
        shown = json.loads(out.stdout)
        assert shown["reason"] == "APIUnreachable" and "has not reached it since" in shown["message"]
        assert "has not reached the API server since" in out.stderr

        def restarted() -> int | None:
            now = engine.status(local)
            return now.pid if now.state == "running" and now.pid not in (None, first_pid) else None

        second_pid = wait_for("the restart by policy", restarted, timeout=60)  # kubelet backoff: 10 s
        wait_for("the port answering again", lambda: answers(port), timeout=20)
        assert agent.proc.poll() is None and agent.names() == [local], agent.tail()
        assert engine.status(local).restarts >= 1

        # the API server back: the status catches up within seconds, in one write
        starting = time.time()
        cluster.plane.start_apiserver()
        back_at = time.time()
        obj = until(
            cluster,
            name,
            "the status caught up",
            lambda o: node_condition(o, "Disconnected").get("reason") == "Reconnected",
            timeout=20,
        )
        caught_up = time.time() - back_at
        time.sleep(12)  # past the agent's next periodic look (10 s): nothing new to write
        status_writes = writes(cluster, name) - written
        assert caught_up < 15, caught_up
        entry = obj["status"]["nodes"][0]
        assert entry["state"] == "running" and entry["ready"] is True and entry["restarts"] >= 1
        assert condition(obj, "Ready")["status"] == "True"
        disconnected = node_condition(obj, "Disconnected")
        assert disconnected["status"] == "False"
        assert "disconnected from the API server for" in disconnected["message"]
        shortest, longest = starting - stopped, back_at - stopping + 10
        assert shortest <= entry["lastDisconnectedSeconds"] <= longest, (entry, shortest, longest)
        changed_at = parse_stamp(disconnected["lastTransitionTime"])
        # the server answers before its readyz says ready: reconnected after starting, whole seconds
        assert changed_at is not None and starting - 1 <= changed_at <= back_at + 15, disconnected
        assert status_writes == 1, agent.tail()
        assert engine.status(local).pid == second_pid

        # a second outage, the agent running through it: the held status goes out once when back
        written = writes(cluster, name)
        logged = agent.log.stat().st_size
        stopping = time.time()
        cluster.plane.stop_apiserver()
        wait_for(
            "the agent to notice",
            lambda: "API server unreachable" in agent.log.read_text(errors="replace")[logged:],
            timeout=30,
        )
        time.sleep(6)  # longer than an outage worth reporting (5 s)
        starting = time.time()
        cluster.plane.start_apiserver()

        def reconnected_again(o: dict[str, Any]) -> bool:
            changed = parse_stamp(node_condition(o, "Disconnected").get("lastTransitionTime"))
            return changed is not None and changed >= starting - 1

        obj = until(cluster, name, "the second outage reported", reconnected_again, timeout=20)
        time.sleep(12)
        assert writes(cluster, name) - written == 1, agent.tail()
        entry = obj["status"]["nodes"][0]
        assert entry["ready"] is True and time.time() - stopping >= entry["lastDisconnectedSeconds"] >= 6
        assert engine.status(local).pid == second_pid

        # deleted while the agent is stopped: nothing goes until an agent sees the deletion
        agent.stop()
        assert cluster.call("DELETE", f"{CDEPS}/{name}").status_code == 200
        time.sleep(1.0)
        assert get(cluster, name)["metadata"]["deletionTimestamp"]  # held by the node's finalizer
        assert answers(port) and agent.names() == [local]
        agent.start()
        wait_for("the workload removed", lambda: agent.names() == [], timeout=60)
        wait_for("the resource gone", lambda: cluster.call("GET", f"{CDEPS}/{name}").status_code == 404)
        assert not answers(port)
        assert engine.container(local) is None
    finally:
        purge(cluster, name)


def test_a_new_agent_adopts_20_running_workloads_without_restarting_them(
    cluster: Api, agents: Callable[[str], Agent], layout: Path
) -> None:
    agent = agents("node-m")
    count = 20
    names = [f"many-{os.getpid()}-{i}" for i in range(count)]
    ports = {name: free_port() for name in names}
    try:
        for name in names:
            body = cdep(name, layout, ports[name], nodeName="node-m")
            # host network: no bridge, veth or firewall rules for 20 containers on a shared machine
            body["spec"]["config"] = {
                "cmd": ["httpd", "-f", "-p", f"127.0.0.1:{ports[name]}", "-h", "/"],
                "network": {"mode": "host"},
                "restart": "always",
            }
            assert cluster.call("POST", CDEPS, body).status_code == 201
        for name in names:
            until(
                cluster, name, f"{name} Ready", lambda o: condition(o, "Ready").get("status") == "True", 180
            )
        engine = agent.engine()
        local = {name: engine.status(name).pid for name in names}
        assert all(local.values()), local
        started = {name: process_start(pid) for name, pid in local.items() if pid}
        assert all(answers(ports[name]) for name in names)

        agent.stop(signal.SIGKILL)
        time.sleep(1.0)
        assert [name for name in names if not answers(ports[name])] == []
        # an administrator wipes the status meanwhile: what shows Ready next is the new agent's report
        for name in names:
            resp = cluster.call("PATCH", f"{CDEPS}/{name}/status", {"status": None}, MERGE)
            assert resp.status_code == 200, resp.text
        assert all(not (get(cluster, name).get("status") or {}).get("nodes") for name in names)

        agent.start()
        for name in names:
            obj = until(
                cluster,
                name,
                f"{name} Ready from the new agent",
                lambda o: (
                    condition(o, "Ready").get("status") == "True"
                    and bool((o.get("status") or {}).get("nodes"))
                    and o["status"]["nodes"][0]["ready"] is True
                ),
                90,
            )
            assert obj["status"]["nodes"][0]["state"] == "running"
        now = {name: engine.status(name).pid for name in names}
        assert now == local, "a new agent must not restart what runs"
        assert {name: process_start(pid) for name, pid in now.items() if pid} == started
        assert [name for name in names if not answers(ports[name])] == []
        assert all(engine.status(name).restarts == 0 for name in names)
    finally:
        for name in names:
            cluster.call("DELETE", f"{CDEPS}/{name}")
        with contextlib.suppress(BaseException):
            wait_for(
                "the resources gone",
                lambda: all(cluster.call("GET", f"{CDEPS}/{n}").status_code == 404 for n in names),
                timeout=90,
            )
        for name in names:
            purge(cluster, name)
