"""A compose file, through ``berth translate --to crd`` and the API server, run by the agent.

We test these aspects:
- the CLI's output (every document of the YAML stream) is created on a real kube-apiserver with
  strict field validation as it is, no edits;
- the agent (as its service account) deploys it from a real registry: the resource shows Ready,
  and the service answers on the port the compose file publishes;
- deleting the resources removes the deployment (and the network the compose file implied)
  from the node.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from agent.demo.image import build_demo_layout
from agent.network.networks import Networks
from tests.integration.test_agent_kube import (  # the agent fixtures, shared with that module
    CDEPS,
    Agent,
    Api,
    agent_kubeconfig,
    agents,
    answers,
    cluster,
    condition,
    until,
    wait_for,
)
from tests.support import registry
from tests.support.controlplane import free_port
from tests.support.paths import ROOT

__all__ = ["agent_kubeconfig", "agents", "cluster"]  # fixtures used by name

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo_registry() -> Iterator[registry.Registry]:
    work = Path(tempfile.mkdtemp(prefix="berth-compose-crd-", dir="/dev/shm"))
    try:
        build_demo_layout(work / "demo")
        with registry.running(work / "registry") as running:
            registry.push(work / "demo", "latest", f"{running.host}/demo/httpd:1")
            yield running
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_translated_compose_runs_through_the_api_server(
    cluster: Api,
    agents: Callable[[str], Agent],
    demo_registry: registry.Registry,
    tmp_path: Path,
) -> None:
    port, project = free_port(), f"shop{os.getpid()}"
    (tmp_path / "compose.yaml").write_text(
        yaml.safe_dump(
            {
                "name": project,
                "services": {
                    "web": {
                        "image": f"{demo_registry.host}/demo/httpd:1",
                        "command": ["httpd", "-f", "-p", "80", "-h", "/srv"],
                        "ports": [f"127.0.0.1:{port}:80"],
                        "volumes": ["www:/srv"],
                    }
                },
                "volumes": {"www": {}},
            }
        )
    )
    out = subprocess.run(
        [sys.executable, "-m", "agent", "translate", "-f", str(tmp_path / "compose.yaml"), "--to", "crd", "-o", "yaml"],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120,
    )  # fmt: skip
    documents = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert [d["kind"] for d in documents] == ["ContainerDeployment"], out.stdout
    agent = agents("node-t")
    names = [d["metadata"]["name"] for d in documents]
    try:
        for doc in documents:
            resp = cluster.call("POST", f"{CDEPS}?fieldValidation=Strict", doc)
            assert resp.status_code == 201, resp.text
        (name,) = names
        obj = until(cluster, name, f"{name} Ready", lambda o: condition(o, "Ready").get("status") == "True")
        assert obj["status"]["readyNodes"] == "1/1"
        assert wait_for(f"an answer on {port}", lambda: answers(port), timeout=20), agent.tail()
        assert agent.names() == [name]
        made = [n.name for n in Networks(agent.root).list()]
        assert made == [f"{project}_default"]  # the network the compose file implies, made by the agent
    finally:
        for name in names:
            cluster.call("DELETE", f"{CDEPS}/{name}")
        wait_for(
            "the resources gone",
            lambda: all(cluster.call("GET", f"{CDEPS}/{n}").status_code == 404 for n in names),
        )
    assert agent.names() == []
    assert not answers(port)
    assert Networks(agent.root).list() == []
