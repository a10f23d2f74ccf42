"""The node agent against a real kube-apiserver, deploying with the real store and runc.

We test these aspects:
- the agent runs as its service account (a token from the TokenRequest API, RBAC of manifests/
  only): a ContainerDeployment applied runs on the node within seconds, its published port
  answers, the resource shows Ready (observedGeneration, readyNodes 1/1, a per-node entry) and
  the agent's finalizer;
- while a new version settles, Progressing says it was started and what the node waits for
  (reason Started), and a clean rollout changes the resource three times (finalizer,
  Progressing, Ready: seen through a watch);
- editing the image rolls out a new version and keeps the old one for rollback;
- a new version that exits at once, or soon after and is restarted by its policy, is rolled back
  (Degraded/RolledBack) while the previous version keeps serving; a good spec rolls out again;
- a missing image sets Degraded/ImagePullFailed while the previous version keeps serving;
- delete: the container leaves the node, and the resource disappears only after that;
- two agents (two node names), a nodeSelector matching one: only that node deploys; matching
  both: status lists both entries, neither overwriting the other;
- `berth kube status -o json` shows what the agent reported; Events record the rollout;
- the agent SIGKILLed during a rollout and started again converges on the new generation, with one
  deployment;
- a deployment whose resource was deleted while the agent was down is removed at start, and the
  CLI's own deployment in the same store is left alone;
- a watch from a resourceVersion the server no longer has (410 Gone) makes the reflector list again;
- kube-apiserver restarted under a running agent: the watch resumes and a new resource deploys;
- runState Stopped stops the container (status Stopped), Running starts it, and bumping
  restartGeneration restarts it exactly once;
- with the API server unreachable, `berth kube status --root` shows the node's local view;
- manifests/daemonset.yaml passes the server's validation (dry run).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from agent.demo.image import build_demo_layout
from tests.support.controlplane import ControlPlane, free_port
from tests.support.paths import ROOT

pytestmark = pytest.mark.slow

CDEPS = "/apis/berth.io/v1alpha1/namespaces/default/containerdeployments"


class Api:
    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane

    def call(
        self, method: str, path: str, body: Any = None, content_type: str = "application/json"
    ) -> requests.Response:
        return requests.request(
            method,
            self.plane.url + path,
            data=None if body is None else json.dumps(body),
            headers={"Content-Type": content_type},
            verify=str(self.plane.ca),
            cert=(str(self.plane.cert), str(self.plane.key)),
            timeout=30,
        )


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, KeyError, ValueError, IndexError, TypeError):
            last = check()
            if last:
                return last
        time.sleep(0.3)
    logs = "".join(
        p.read_text(errors="replace")[-4000:] for p in Path("/dev/shm").glob("berth-kube-node-*/agent.log")
    )
    pytest.fail(f"timed out waiting for {what} (last: {last!r}){logs}")


@pytest.fixture(scope="module")
def cluster(control_plane: ControlPlane) -> Api:
    api = Api(control_plane)
    crd = yaml.safe_load((ROOT / "crds" / "containerdeployments.berth.io.yaml").read_text())
    path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    resp = api.call("POST", path, crd)
    if resp.status_code == 409:  # another module made it: bring it to this version
        current = api.call("GET", f"{path}/{crd['metadata']['name']}").json()
        crd["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        resp = api.call("PUT", f"{path}/{crd['metadata']['name']}", crd)
    assert resp.status_code in (200, 201), resp.text
    wait_for("the CRD", lambda: api.call("GET", CDEPS).status_code == 200)
    paths = {
        "Namespace": "/api/v1/namespaces",
        "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
        "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    }
    for doc in yaml.safe_load_all((ROOT / "manifests" / "rbac.yaml").read_text()):
        resp = api.call("POST", paths[doc["kind"]].format(ns=doc["metadata"].get("namespace", "")), doc)
        if resp.status_code == 409 and doc["kind"] == "ClusterRole":  # the RBAC test made an older one
            resp = api.call("PUT", f"{paths['ClusterRole']}/{doc['metadata']['name']}", doc)
        assert resp.status_code in (200, 201, 409), resp.text
    return api


@pytest.fixture(scope="module")
def agent_kubeconfig(cluster: Api, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The agent's own identity: a service-account token, so only manifests/ RBAC applies."""
    resp = cluster.call(
        "POST",
        "/api/v1/namespaces/berth-system/serviceaccounts/berth-agent/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600},
        },
    )
    assert resp.status_code == 201, resp.text
    token = resp.json()["status"]["token"]
    return cluster.plane.token_kubeconfig(token, tmp_path_factory.mktemp("agent") / "kubeconfig")


@pytest.fixture(scope="module")
def layout() -> Iterator[Path]:
    d = Path(tempfile.mkdtemp(prefix="berth-kube-layout-", dir="/dev/shm"))
    build_demo_layout(d / "demo")
    yield d / "demo"
    shutil.rmtree(d, ignore_errors=True)


class Agent:
    def __init__(self, kubeconfig: Path, node: str) -> None:
        self.base = Path(tempfile.mkdtemp(prefix=f"berth-kube-{node}-", dir="/dev/shm"))
        self.node = node
        self.root, self.run = self.base / "store", self.base / "run"
        self.kubeconfig = kubeconfig
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.base / "agent.log"

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BERTH_SETTLE": "0.5"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable, "-m", "agent", "agent",
                    "--kubeconfig", str(self.kubeconfig),
                    "--node-name", self.node,
                    "--root", str(self.root),
                    "--run-root", str(self.run),
                    "--metrics-port", "0",
                    "--metrics-host", "127.0.0.1",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )  # fmt: skip

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def engine(self) -> Any:
        from agent.runtime.engine import Engine

        return Engine(self.root, self.run)

    def names(self) -> list[str]:
        from agent.store.deploying import Store

        if not (self.root / "metadata").exists():
            return []
        return [d.name for d in Store.open(self.root, create=False).list(owner_kind="agent")]

    def cleanup(self) -> None:
        self.stop()
        with contextlib.suppress(Exception):
            engine = self.engine()
            for name in self.names():
                with contextlib.suppress(Exception):
                    engine.stop(name, timeout=2)
                with contextlib.suppress(Exception):
                    engine.remove(name, cleanup=True)
        shutil.rmtree(self.base, ignore_errors=True)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


@pytest.fixture
def agents(agent_kubeconfig: Path) -> Iterator[Callable[[str], Agent]]:
    made: list[Agent] = []

    def make(node: str) -> Agent:
        agent = Agent(agent_kubeconfig, node)
        made.append(agent)
        agent.start()
        return agent

    try:
        yield make
    finally:
        for agent in made:
            agent.cleanup()


def cdep(name: str, layout: Path, port: int, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "berth.io/v1alpha1",
        "kind": "ContainerDeployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "image": f"oci:{layout}:latest",
            "config": {
                "cmd": ["httpd", "-f", "-p", "80", "-h", "/srv"],
                "ports": [f"127.0.0.1:{port}:80"],
                "volumes": [f"{name}-www:/srv"],
            },
            **spec,
        },
    }


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
            return bool(resp.status < 500)
    except urllib.error.HTTPError as exc:  # httpd answers 404 for an empty /srv: it serves
        return exc.code < 500
    except OSError:
        return False


def until(
    api: Api, name: str, what: str, check: Callable[[dict[str, Any]], bool], timeout: float = 90
) -> dict[str, Any]:
    def once() -> dict[str, Any] | None:
        obj = get(api, name)
        return obj if check(obj) else None

    found: dict[str, Any] = wait_for(what, once, timeout)
    return found


def get(api: Api, name: str) -> dict[str, Any]:
    resp = api.call("GET", f"{CDEPS}/{name}")
    assert resp.status_code == 200, resp.text
    data: dict[str, Any] = resp.json()
    return data


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), {})


def watched(
    api: Api, name: str, version: str, stop: Callable[[dict[str, Any]], bool], timeout: float = 90
) -> list[tuple[str, dict[str, Any]]]:
    """Every change of resource ``name`` after ``version`` (a watch), until ``stop`` holds."""
    seen: list[tuple[str, dict[str, Any]]] = []
    with requests.get(
        f"{api.plane.url}{CDEPS}?watch=1&resourceVersion={version}&fieldSelector=metadata.name%3D{name}"
        f"&timeoutSeconds={int(timeout)}",
        verify=str(api.plane.ca),
        cert=(str(api.plane.cert), str(api.plane.key)),
        stream=True,
        timeout=timeout + 10,
    ) as resp:
        assert resp.status_code == 200, resp.text
        for line in resp.iter_lines():
            if line:
                event = json.loads(line)
                seen.append((event["type"], event["object"]))
                if stop(event["object"]):
                    return seen
    pytest.fail(f"{name}: the watch ended before the expected state; seen: {seen}")


def test_progressing_says_the_started_version_is_watched_in_three_writes(
    cluster: Api, agents: Callable[[str], Agent], layout: Path
) -> None:
    """While a new version settles, Progressing says it started and what the node waits for
    (not "pulling": the pull of a local layout is quick, and is reported only when slow); a clean
    rollout changes the resource three times: finalizer, Progressing (Started), Ready."""
    agents("node-a")
    name, port = f"settle-{os.getpid()}", free_port()
    created = cluster.call("POST", CDEPS, cdep(name, layout, port))
    assert created.status_code == 201, created.text
    try:
        seen = watched(
            cluster,
            name,
            created.json()["metadata"]["resourceVersion"],
            lambda o: condition(o, "Ready").get("status") == "True",
        )
        changes = [obj for kind, obj in seen if kind == "MODIFIED"]
        assert len(changes) == 3, [
            (o.get("metadata", {}).get("finalizers"), o.get("status")) for o in changes
        ]
        finalized, started, ready = changes
        assert "berth.io/node-node-a" in finalized["metadata"]["finalizers"] and not finalized.get("status")
        progressing = condition(started, "Progressing")
        message = "generation 1 started on node node-a, waiting 0.5 s for it to stay up"
        assert progressing["status"] == "True" and progressing["reason"] == "Started", progressing
        assert progressing["message"] == f"node-a: {message}", progressing
        assert condition(started, "Ready")["status"] == "False"
        (entry,) = started["status"]["nodes"]
        assert entry["message"] == message and entry["phase"] == "Deploying" and entry["state"] == "running"
        assert condition(ready, "Progressing")["status"] == "False"
        assert condition(ready, "Ready")["reason"] == "Running"
        assert not any(condition(o, "Progressing").get("reason") == "Pulling" for o in changes)
    finally:
        cluster.call("DELETE", f"{CDEPS}/{name}")
        wait_for(f"{name} deleted", lambda: cluster.call("GET", f"{CDEPS}/{name}").status_code == 404)


def test_apply_runs_rolls_out_degrades_and_deletes(
    cluster: Api, agents: Callable[[str], Agent], layout: Path, tmp_path: Path
) -> None:
    agent = agents("node-a")
    name, port = f"web-{os.getpid()}", free_port()
    started = time.monotonic()
    assert cluster.call("POST", CDEPS, cdep(name, layout, port)).status_code == 201
    try:
        obj = until(cluster, name, f"{name} Ready", lambda o: condition(o, "Ready").get("status") == "True")
        elapsed = time.monotonic() - started
        assert answers(port), agent.tail()
        assert obj["status"]["observedGeneration"] == obj["metadata"]["generation"]
        assert obj["status"]["readyNodes"] == "1/1"
        (entry,) = obj["status"]["nodes"]
        assert entry["nodeName"] == "node-a" and entry["state"] == "running" and entry["ready"] is True
        assert entry["imageDigest"].startswith("sha256:")
        assert "berth.io/node-node-a" in obj["metadata"]["finalizers"]
        assert elapsed < 60, elapsed
        first_digest = entry["imageDigest"]
        events = cluster.call(
            "GET", f"/api/v1/namespaces/default/events?fieldSelector=involvedObject.name={name}"
        )
        reasons = {e["reason"] for e in events.json()["items"]}
        assert {"Pulled", "Deployed"} <= reasons, reasons  # a layout is always read: a pull

        # berth kube status reads the same from the API
        out = subprocess.run(
            [sys.executable, "-m", "agent", "kube", "status", name, "-o", "json", "--kubeconfig", str(cluster_kubeconfig(cluster))],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True,
        )  # fmt: skip
        shown = json.loads(out.stdout)
        assert (
            shown["ready"] == "1/1"
            and shown["reason"] == "Running"
            and shown["nodes"][0]["nodeName"] == "node-a"
        )

        # a new image (another tag of a layout with a different file) rolls out and keeps rollback
        second = tmp_path / "second"
        build_demo_layout(second, busybox=_other_busybox(tmp_path))
        patch = {"spec": {"image": f"oci:{second}:latest"}}
        resp = cluster.call("PATCH", f"{CDEPS}/{name}", patch, "application/merge-patch+json")
        assert resp.status_code == 200, resp.text
        obj = until(
            cluster,
            name,
            "the new image deployed",
            lambda o: (
                o["status"]["nodes"][0].get("generation") == 2
                and condition(o, "Ready").get("status") == "True"
            ),
        )
        entry = obj["status"]["nodes"][0]
        assert entry["imageDigest"] != first_digest
        assert entry["rollbackAvailable"] is True
        assert answers(port)

        # a missing image: Degraded/ImagePullFailed, the running version keeps serving
        patch = {"spec": {"image": f"oci:{tmp_path / 'nothing-here'}:latest"}}
        assert (
            cluster.call("PATCH", f"{CDEPS}/{name}", patch, "application/merge-patch+json").status_code == 200
        )
        obj = until(
            cluster,
            name,
            "ImagePullFailed",
            lambda o: condition(o, "Degraded").get("reason") == "ImagePullFailed",
        )
        assert condition(obj, "Degraded")["status"] == "True"
        assert answers(port)
        assert agent.engine().status(agent.names()[0]).state == "running"

        # delete: removed from the node first, then the resource goes
        assert cluster.call("DELETE", f"{CDEPS}/{name}").status_code == 200
        wait_for("the resource gone", lambda: cluster.call("GET", f"{CDEPS}/{name}").status_code == 404)
        assert agent.names() == []
        assert not answers(port)
    finally:
        cluster.call("DELETE", f"{CDEPS}/{name}")


def cluster_kubeconfig(cluster: Api) -> Path:
    return cluster.plane.kubeconfig


def _other_busybox(tmp_path: Path) -> Path:
    """busybox with a few bytes appended (still runs): a demo image with another digest."""
    from agent.demo.image import BUSYBOX

    copy = tmp_path / "busybox"
    shutil.copy2(BUSYBOX, copy)
    with copy.open("ab") as f:
        f.write(b"berth-test-v2")
    return copy


def test_a_version_that_does_not_come_up_is_rolled_back(
    cluster: Api, agents: Callable[[str], Agent], layout: Path
) -> None:
    """The settle window is judged by a later reconcile (no worker waits it out): a new version
    that exits at once, and one that exits after a moment and is started again by its restart
    policy, are each rolled back (Degraded/RolledBack) while the previous version keeps serving;
    the next good spec rolls out again."""
    agent = agents("node-r")
    name, port = f"back-{os.getpid()}", free_port()
    resource = cdep(name, layout, port, nodeName="node-r")
    try:
        assert cluster.call("POST", CDEPS, resource).status_code == 201
        until(cluster, name, "Ready", lambda o: condition(o, "Ready").get("status") == "True")
        for generation, config in (
            (2, {"cmd": ["sh", "-c", "exit 3"]}),
            (3, {"cmd": ["sh", "-c", "sleep 0.2; exit 4"], "restart": "always"}),
        ):
            patch = {"spec": {"config": config}}
            resp = cluster.call("PATCH", f"{CDEPS}/{name}", patch, "application/merge-patch+json")
            assert resp.status_code == 200, resp.text

            def rolled_back(o: dict[str, Any], g: int = generation) -> bool:
                return bool(
                    o["status"].get("observedGeneration") == g
                    and condition(o, "Degraded").get("reason") == "RolledBack"
                )

            obj = until(cluster, name, f"generation {generation} rolled back", rolled_back)
            assert condition(obj, "Degraded")["status"] == "True", obj["status"]
            assert "did not come up" in condition(obj, "Degraded")["message"], obj["status"]
            entry = obj["status"]["nodes"][0]
            assert entry["state"] == "running" and entry["generation"] == 1, entry
            assert answers(port), agent.tail()
            assert len(agent.names()) == 1
            assert agent.engine().store().get(agent.names()[0]).spec.config.cmd[0] == "httpd"
        patch = {"spec": {"config": {"cmd": ["httpd", "-f", "-p", "80", "-h", "/srv", "-v"]}}}
        assert (
            cluster.call("PATCH", f"{CDEPS}/{name}", patch, "application/merge-patch+json").status_code == 200
        )
        obj = until(
            cluster,
            name,
            "generation 4 Ready",
            lambda o: (
                o["status"]["nodes"][0].get("generation") == 4
                and condition(o, "Ready").get("status") == "True"
            ),
        )
        assert condition(obj, "Degraded")["status"] == "False"
        assert answers(port), agent.tail()
    finally:
        cluster.call("DELETE", f"{CDEPS}/{name}")
        wait_for("the resource gone", lambda: cluster.call("GET", f"{CDEPS}/{name}").status_code == 404)


def test_two_nodes_and_a_node_selector(cluster: Api, agents: Callable[[str], Agent], layout: Path) -> None:
    for node, zone in (("node-b", "east"), ("node-c", "west")):
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": {"zone": zone}}}
        assert cluster.call("POST", "/api/v1/nodes", body).status_code in (201, 409)
    b, c = agents("node-b"), agents("node-c")
    name, port = f"sel-{os.getpid()}", free_port()
    try:
        resource = cdep(name, layout, port, nodeSelector={"zone": "east"})
        # the two "nodes" share one host here: no published port, no bridge (one container name
        # would be one veth and one firewall chain for both)
        resource["spec"]["config"]["ports"] = []
        resource["spec"]["config"]["network"] = {"mode": "none"}
        assert cluster.call("POST", CDEPS, resource).status_code == 201
        obj = until(cluster, name, "node-b Ready", lambda o: condition(o, "Ready").get("status") == "True")
        assert [e["nodeName"] for e in obj["status"]["nodes"]] == ["node-b"]
        assert len(b.names()) == 1
        time.sleep(2)
        assert c.names() == []

        # both match: two entries, neither overwriting the other
        patch = {"spec": {"nodeSelector": None}}
        resp = cluster.call("PATCH", f"{CDEPS}/{name}", patch, "application/merge-patch+json")
        assert resp.status_code == 200, resp.text
        obj = until(cluster, name, "both nodes Ready", lambda o: o["status"].get("readyNodes") == "2/2")
        assert sorted(e["nodeName"] for e in obj["status"]["nodes"]) == ["node-b", "node-c"]
        assert sorted(obj["metadata"]["finalizers"]) == ["berth.io/node-node-b", "berth.io/node-node-c"]
    finally:
        cluster.call("DELETE", f"{CDEPS}/{name}")
        wait_for("the resource gone", lambda: cluster.call("GET", f"{CDEPS}/{name}").status_code == 404)


def test_agent_killed_mid_rollout_converges(
    cluster: Api, agents: Callable[[str], Agent], layout: Path, tmp_path: Path
) -> None:
    agent = agents("node-k")
    name, port = f"kill-{os.getpid()}", free_port()
    try:
        assert cluster.call("POST", CDEPS, cdep(name, layout, port, nodeName="node-k")).status_code == 201
        until(cluster, name, "Ready", lambda o: condition(o, "Ready").get("status") == "True")
        second = tmp_path / "second"
        build_demo_layout(second, busybox=_other_busybox(tmp_path))
        patch = {"spec": {"image": f"oci:{second}:latest"}}
        assert (
            cluster.call("PATCH", f"{CDEPS}/{name}", patch, "application/merge-patch+json").status_code == 200
        )
        time.sleep(1.0)  # the agent is pulling / deploying / starting the new version (about 2 s here)
        agent.stop(signal.SIGKILL)
        agent.start()
        obj = until(
            cluster,
            name,
            "generation 2 Ready after the restart",
            lambda o: (
                o["status"]["nodes"][0].get("generation") == 2
                and condition(o, "Ready").get("status") == "True"
            ),
        )
        assert len(agent.names()) == 1, agent.names()
        assert obj["status"]["nodes"][0]["state"] == "running"
        assert answers(port)

        # the API server out of reach: berth kube status shows the node's local view and says so
        unreachable = tmp_path / "unreachable.kubeconfig"
        text = agent.kubeconfig.read_text().replace(cluster.plane.url, f"https://127.0.0.1:{free_port()}")
        unreachable.write_text(text)
        out = subprocess.run(
            [sys.executable, "-m", "agent", "kube", "status", name, "-o", "json", "--kubeconfig", str(unreachable),
             "--root", str(agent.root), "--run-root", str(agent.run)],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True, timeout=120,
        )  # fmt: skip
        local = json.loads(out.stdout)
        assert local["reason"] == "APIUnreachable" and local["nodes"][0]["state"] == "running"
        assert "local view" in out.stderr
    finally:
        cluster.call("DELETE", f"{CDEPS}/{name}")
        wait_for("the resource gone", lambda: cluster.call("GET", f"{CDEPS}/{name}").status_code == 404)


def test_a_deployment_whose_resource_vanished_while_the_agent_was_down_is_removed(
    cluster: Api, agents: Callable[[str], Agent], layout: Path
) -> None:
    agent = agents("node-o")
    name = f"orphan-{os.getpid()}"
    body = cdep(name, layout, free_port(), nodeName="node-o")
    try:
        assert cluster.call("POST", CDEPS, body).status_code == 201
        until(cluster, name, "Ready", lambda o: condition(o, "Ready").get("status") == "True")
        agent.stop(signal.SIGKILL)
        # the resource goes while the agent is down (its finalizer removed by an administrator)
        patch = {"metadata": {"finalizers": None}}
        assert (
            cluster.call("PATCH", f"{CDEPS}/{name}", patch, "application/merge-patch+json").status_code == 200
        )
        assert cluster.call("DELETE", f"{CDEPS}/{name}").status_code == 200
        wait_for("the resource gone", lambda: cluster.call("GET", f"{CDEPS}/{name}").status_code == 404)
        assert len(agent.names()) == 1
        # the CLI's own deployment in the same store is never touched
        from agent.store import deploying
        from translators.spec import DeploymentSpec

        cli_spec = DeploymentSpec.model_validate(
            {"name": f"cli-{os.getpid()}", "image": f"oci:{layout}:latest", "transport": "oci"}
        )
        from agent.registry.pulling import pull_image

        deploying.deploy(agent.root, cli_spec, puller=pull_image)
        agent.start()
        wait_for("the orphan removed", lambda: agent.names() == [])
        from agent.store.deploying import Store

        assert [d.name for d in Store.open(agent.root).list(owner_kind="cli")] == [cli_spec.name]
    finally:
        cluster.call("DELETE", f"{CDEPS}/{name}")


def test_a_watch_too_old_lists_again(cluster: Api, agent_kubeconfig: Path) -> None:
    """410 Gone from the real API server (a resourceVersion older than its watch window): the
    reflector lists again and keeps watching."""
    import threading

    from agent.kube.client import Kube, resource_path
    from agent.kube.watching import Reflector

    seen: list[str] = []
    reflector = Reflector(Kube.connect(agent_kubeconfig), resource_path(), seen.append)
    stop = threading.Event()
    reflector._list()
    assert reflector.lists == 1
    reflector.version = "1"  # long compacted
    thread = threading.Thread(target=reflector.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for("a second list", lambda: reflector.lists >= 2, timeout=30)
        name = f"w410-{os.getpid()}"
        body = cdep(name, Path("/nonexistent"), 1, nodeName="no-such-node")
        assert cluster.call("POST", CDEPS, body).status_code == 201
        wait_for("the watch event", lambda: f"default/{name}" in seen and reflector.get(f"default/{name}"))
        cluster.call("DELETE", f"{CDEPS}/{name}")
    finally:
        stop.set()


def test_run_state_and_restart_generation(cluster: Api, agents: Callable[[str], Agent], layout: Path) -> None:
    agent = agents("node-r")
    name = f"rs-{os.getpid()}"
    resource = cdep(name, layout, free_port(), nodeName="node-r")
    try:
        assert cluster.call("POST", CDEPS, resource).status_code == 201
        until(cluster, name, "Ready", lambda o: condition(o, "Ready").get("status") == "True")
        (local,) = agent.names()
        merge = "application/merge-patch+json"

        assert (
            cluster.call("PATCH", f"{CDEPS}/{name}", {"spec": {"runState": "Stopped"}}, merge).status_code
            == 200
        )
        obj = until(cluster, name, "Stopped", lambda o: o["status"]["nodes"][0]["phase"] == "Stopped")
        assert obj["status"]["nodes"][0]["ready"] is False
        assert agent.engine().container(local) is None  # stopped and gone, kept in the store

        assert (
            cluster.call("PATCH", f"{CDEPS}/{name}", {"spec": {"runState": "Running"}}, merge).status_code
            == 200
        )
        until(cluster, name, "running again", lambda o: o["status"]["nodes"][0]["state"] == "running")
        before = agent.engine().status(local).pid

        patch = {"spec": {"restartGeneration": 1}}
        assert cluster.call("PATCH", f"{CDEPS}/{name}", patch, merge).status_code == 200

        def restarted() -> int | None:
            now = agent.engine().status(local)
            return now.pid if now.state == "running" and now.pid not in (None, before) else None

        after = wait_for("a restart", restarted)  # httpd as pid 1 ignores SIGTERM: 10 s grace
        time.sleep(12)  # past the agent's next periodic look: restarted once, not again
        assert agent.engine().status(local).pid == after, agent.tail()
        assert agent.engine().status(local).state == "running"
    finally:
        cluster.call("DELETE", f"{CDEPS}/{name}")
        wait_for("the resource gone", lambda: cluster.call("GET", f"{CDEPS}/{name}").status_code == 404)


def test_the_daemonset_is_accepted_and_runs_the_agent_as_designed(cluster: Api) -> None:
    """manifests/daemonset.yaml passes the API server's validation (dry run) and says what the
    agent needs: privileged, host PID, the store, /run/berth and cgroup mounts, NODE_NAME from
    the downward API, /healthz probes, requests; kustomization lists what manifests/ holds."""
    doc = yaml.safe_load((ROOT / "manifests" / "daemonset.yaml").read_text())
    resp = cluster.call(
        "POST", "/apis/apps/v1/namespaces/berth-system/daemonsets?dryRun=All&fieldValidation=Strict", doc
    )
    assert resp.status_code == 201, resp.text
    pod = doc["spec"]["template"]["spec"]
    (ctr,) = pod["containers"]
    assert pod["hostPID"] is True and pod["serviceAccountName"] == "berth-agent"
    assert ctr["securityContext"]["privileged"] is True
    paths = {v["hostPath"]["path"] for v in pod["volumes"]}
    assert {"/var/lib/rpm-ostree/containers", "/run/berth", "/sys/fs/cgroup"} <= paths
    env = {e["name"]: e for e in ctr["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert ctr["livenessProbe"]["httpGet"]["path"] == "/healthz" and ctr["resources"]["requests"]
    kustomization = yaml.safe_load((ROOT / "manifests" / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {p.name for p in (ROOT / "manifests").glob("*.yaml")} - {
        "kustomization.yaml"
    }


def test_the_watch_resumes_after_an_api_server_restart(
    cluster: Api, agents: Callable[[str], Agent], layout: Path
) -> None:
    agent = agents("node-w")
    first, second = f"before-{os.getpid()}", f"after-{os.getpid()}"
    try:
        assert (
            cluster.call("POST", CDEPS, cdep(first, layout, free_port(), nodeName="node-w")).status_code
            == 201
        )
        until(cluster, first, "Ready", lambda o: condition(o, "Ready").get("status") == "True")
        cluster.plane.restart_apiserver()
        assert agent.proc is not None and agent.proc.poll() is None, agent.tail()
        assert (
            cluster.call("POST", CDEPS, cdep(second, layout, free_port(), nodeName="node-w")).status_code
            == 201
        )
        until(
            cluster, second, "the new resource Ready", lambda o: condition(o, "Ready").get("status") == "True"
        )
        assert sorted(agent.names()) == sorted([first, second])
    finally:
        for name in (first, second):
            cluster.call("DELETE", f"{CDEPS}/{name}")
        wait_for(
            "the resources gone",
            lambda: all(cluster.call("GET", f"{CDEPS}/{n}").status_code == 404 for n in (first, second)),
        )
