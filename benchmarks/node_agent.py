"""The node agent under load: N ContainerDeployments applied at once on one node.

A real control plane (etcd + kube-apiserver of ``tests/support/controlplane.py``) with an audit
policy that logs every request of the agent's service account (metadata level), the agent as
``berth agent --kubeconfig`` with a service-account token (manifests/ RBAC only), a real
registry holding the demo image (busybox-static), N resources running ``sleep`` with network
``none`` (no published ports, so N fit on one host). Measured:

- time from the first create until the API reports every resource Ready, and until half of
  them were, seen through a watch (as ``kubectl get -w``; polling a list of N resources twice a
  second cost the 2-core machine several CPU-seconds of serialising and parsing, the agent's
  own budget);
- the agent's peak RSS (VmHWM of its process; the containers' conmon and runc are not in it);
- the agent's API requests per resource, by verb and resource, from the audit log, and its
  writes per ContainerDeployment (finalizer + status patches) and per resource including Events;
- the peer: ``podman run -d --network none IMAGE sleep`` of N containers one after another
  (scratch store; the same image), the per-container cost of the nearest tool.

Targets (issue 9): all Ready within 60 s (goal 30), RSS < 150 MB, <= 3 writes per resource.
Afterwards every resource is deleted through the API (the agent removes its deployments, then
the finalizers go: timed too), the agent stopped, leftovers removed, the control plane stopped.

The machine is often shared: the agent's CPU, the control plane's and the whole machine's until
all Ready are printed with the load average, so a slow run can be told from a slow agent.
``--profile FILE`` profiles the reconcile workers (``--profile-clock cpu``: their CPU time, not
wall time) and reports how long the store's writer lock was waited for and held until all Ready.

Run: PYTHONPATH=. .venv/bin/python benchmarks/node_agent.py [--count 50] [--no-peer] [--workers N]
     [--profile FILE [--profile-clock wall|cpu]]
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests
import yaml

from agent.demo.image import build_demo_layout
from benchmarks.start import Podman
from tests.support import controlplane, registry
from tests.support.paths import ROOT

AGENT_USER = "system:serviceaccount:berth-system:berth-agent"
CDEPS = "/apis/berth.io/v1alpha1/namespaces/{ns}/containerdeployments"
NAMESPACE = "bench"
WRITES = {"create", "update", "patch", "delete", "deletecollection"}
SLEEP = ["sh", "-c", "trap 'exit 0' TERM; sleep 36000 & wait"]
"""Long-running and stopping at once on SIGTERM (a bare sleep as PID 1 ignores it: 10 s each)."""
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived", "ResponseStarted"],
    "rules": [{"level": "Metadata", "users": [AGENT_USER]}, {"level": "None"}],
}


class Api:
    def __init__(self, plane: controlplane.ControlPlane) -> None:
        self.plane = plane
        self.session = requests.Session()
        self.session.cert = (str(plane.cert), str(plane.key))

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201)) -> Any:
        resp = self.session.request(
            method, self.plane.url + path, json=body, timeout=60, verify=str(self.plane.ca)
        )
        if resp.status_code not in ok:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
        return resp.json() if resp.content else {}


def install(api: Api, base: Path) -> Path:
    """The CRD, manifests/ RBAC and a namespace; the agent's kubeconfig with a service-account token."""
    crd = yaml.safe_load((ROOT / "crds" / "containerdeployments.berth.io.yaml").read_text())
    api.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    paths = {
        "Namespace": "/api/v1/namespaces",
        "ServiceAccount": "/api/v1/namespaces/{ns}/serviceaccounts",
        "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
    }
    for doc in yaml.safe_load_all((ROOT / "manifests" / "rbac.yaml").read_text()):
        api.call("POST", paths[doc["kind"]].format(ns=doc["metadata"].get("namespace", "")), doc)
    api.call("POST", "/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the CRD is served a moment after it is created
        with contextlib.suppress(RuntimeError):
            api.call("GET", CDEPS.format(ns=NAMESPACE))
            break
        time.sleep(0.2)
    token = api.call(
        "POST",
        "/api/v1/namespaces/berth-system/serviceaccounts/berth-agent/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 7200},
        },
    )["status"]["token"]
    return api.plane.token_kubeconfig(token, base / "agent.kubeconfig")


def resource(index: int, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "berth.io/v1alpha1",
        "kind": "ContainerDeployment",
        "metadata": {"name": f"sleep-{index:04d}", "namespace": NAMESPACE},
        "spec": {"image": image, "config": {"cmd": SLEEP, "network": {"mode": "none"}}},
    }


def is_ready(item: dict[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in (item.get("status") or {}).get("conditions") or []
    )


class ReadyWatch:
    """The resources' Ready conditions as a watch streams them (started before the creates). Its
    daemon thread ends with the control plane: closing a stream another thread reads can hang.

    A watch the server ends (its timeout, or a watcher it finds too slow under load: seen once,
    the count then stayed where it was until the benchmark's timeout) is listed and watched
    again, as a reflector does."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.ready: dict[str, bool] = {}
        self.changed = threading.Condition()
        self.rewatched = 0
        self.resp = self._watch()
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _watch(self) -> requests.Response:
        """A fresh list (its Ready conditions replace what was seen) and a watch from it."""
        listing = self.api.call("GET", CDEPS.format(ns=NAMESPACE))
        with self.changed:
            self.ready = {
                str((item.get("metadata") or {}).get("name")): is_ready(item) for item in listing["items"]
            }
            self.changed.notify_all()
        return self.api.session.get(
            self.api.plane.url + CDEPS.format(ns=NAMESPACE),
            params={"watch": "1", "resourceVersion": listing["metadata"]["resourceVersion"]},
            stream=True,
            timeout=(10, None),
            verify=str(self.api.plane.ca),
        )

    def _follow(self) -> None:
        while True:
            with contextlib.suppress(requests.RequestException, ValueError):
                for line in self.resp.iter_lines():
                    event = json.loads(line)
                    item = event["object"]
                    if event["type"] == "ERROR":  # 410 Gone and the like: list again
                        break
                    name = str((item.get("metadata") or {}).get("name"))
                    with self.changed:
                        if event["type"] == "DELETED":
                            self.ready.pop(name, None)
                        elif event["type"] in ("ADDED", "MODIFIED"):
                            self.ready[name] = is_ready(item)
                        self.changed.notify_all()
            try:
                self.resp = self._watch()
                self.rewatched += 1
            except (requests.RequestException, RuntimeError, ValueError):
                return  # the control plane is gone: the benchmark is over

    def count(self) -> int:
        with self.changed:
            return sum(self.ready.values())

    def wait(self, timeout: float) -> int:
        """The count once it changed (or ``timeout`` passed)."""
        with self.changed:
            self.changed.wait(timeout)
            return sum(self.ready.values())


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> tuple[float, float]:
    """The agent's own CPU time, and that of its children it waited for (runc, conmon's parent)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def control_plane_cpu_s() -> float:
    """CPU time of this process's etcd and kube-apiserver (the control plane it started)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, rest = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        if int(fields[1]) == os.getpid() and head.split("(", 1)[1] in ("etcd", "kube-apiserver"):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine_busy_s() -> float:
    """CPU seconds the whole machine was busy (every process, other users' too), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def audit_counts(log: Path) -> collections.Counter[tuple[str, str]]:
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    for line in log.read_text().splitlines():
        event = json.loads(line)
        if event.get("stage") != "ResponseComplete" or event["user"]["username"] != AGENT_USER:
            continue
        ref = event.get("objectRef") or {}
        what = ref.get("resource", event.get("requestURI", "?"))
        if ref.get("subresource"):
            what += "/" + ref["subresource"]
        counts[(event["verb"], what)] += 1
    return counts


PROFILED_AGENT = """
import cProfile, os, pstats, sys, time
from agent.kube import running
profiles, out = [], sys.argv[1]
clock = time.thread_time if os.environ.get("BENCH_PROFILE_CLOCK") == "cpu" else time.perf_counter
work = running.Agent._work
def profiled(self):
    profile = cProfile.Profile(clock)
    profiles.append(profile)
    profile.enable()
    try:
        work(self)
    finally:
        profile.disable()
running.Agent._work = profiled
import contextlib, json
from agent.store import deploying
locks, store_lock = [], deploying.store_lock
@contextlib.contextmanager
def timed_lock(layout):
    asked = time.perf_counter()
    with store_lock(layout):
        got = time.perf_counter()
        try:
            yield
        finally:
            locks.append((asked, got - asked, time.perf_counter() - got))
deploying.store_lock = timed_lock
shutdown = running.Agent.shutdown
def dump(self, *args, **kwargs):
    shutdown(self, *args, **kwargs)
    if profiles:
        pstats.Stats(*profiles).dump_stats(out)
    with open(out + ".locks.json", "w") as fh:
        json.dump(locks, fh)
running.Agent.shutdown = dump
from agent.cli.main import cli
cli(sys.argv[2:], prog_name="berth", auto_envvar_prefix="BERTH")
"""
"""``berth agent`` with every reconcile worker under cProfile, the stats written at exit (and
``FILE.locks.json``: when each store writer lock was asked for, the wait and the hold, in
seconds of the monotonic clock); each
worker's wall time (waits included: the lock, the settle window, the API), or with
``BENCH_PROFILE_CLOCK=cpu`` its own CPU time."""


class AgentProcess:
    def __init__(
        self,
        base: Path,
        kubeconfig: Path,
        workers: int | None,
        profile: Path | None = None,
        clock: str = "wall",
    ) -> None:
        self.base, self.root, self.run = base, base / "store", base / "run"
        self.log = base / "agent.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_PROFILE_CLOCK": clock}
        more = ["--workers", str(workers)] if workers else []
        with self.log.open("ab") as out:
            start = (
                [sys.executable, "-c", PROFILED_AGENT, str(profile)]
                if profile
                else [sys.executable, "-m", "agent"]
            )
            self.proc = subprocess.Popen(
                [*start, "agent", "--kubeconfig", str(kubeconfig), "--node-name", "bench",
                 "--root", str(self.root), "--run-root", str(self.run), "--metrics-port", "0",
                 "--metrics-host", "127.0.0.1", *more],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while "watching" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the agent did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self) -> list[str]:
        """Whatever the deletion left (should be nothing): stopped and removed, with its cgroups."""
        from agent.network.networks import Networks
        from agent.runtime.engine import Engine

        self.stop()
        left: list[str] = []
        if not (self.root / "metadata").exists():
            return left
        engine = Engine(self.root, self.run)
        for deployment in engine.store().list():
            left.append(deployment.name)
            with contextlib.suppress(Exception):
                engine.stop(deployment.name, timeout=0)
            with contextlib.suppress(Exception):
                engine.remove(deployment.name, cleanup=True)
        for network in Networks(self.root).list():
            with contextlib.suppress(Exception):
                Networks(self.root).remove(network.name)
        return left


def run_berth(args: argparse.Namespace, base: Path, layout: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    ready_at = float("inf")
    policy = base / "audit-policy.yaml"
    policy.write_text(yaml.safe_dump(AUDIT_POLICY))
    audit = base / "audit.log"
    extra = [f"--audit-policy-file={policy}", f"--audit-log-path={audit}", "--audit-log-maxsize=0"]
    with registry.running(base / "registry") as reg, controlplane.running(extra) as plane:
        image = f"{reg.host}/bench/busybox:1"
        registry.push(layout, "latest", image)
        api = Api(plane)
        kubeconfig = install(api, base)
        (base / "agent").mkdir(exist_ok=True)
        agent = AgentProcess(base / "agent", kubeconfig, args.workers, args.profile, args.profile_clock)
        try:
            watch = ReadyWatch(api)
            plane_cpu, busy = control_plane_cpu_s(), machine_busy_s()
            began = time.monotonic()
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda i: api.call("POST", CDEPS.format(ns=NAMESPACE), resource(i, image)),
                        range(args.count),
                    )
                )
            out["created_s"] = time.monotonic() - began
            half = None
            ready = 0
            while time.monotonic() - began < args.timeout:
                ready = watch.wait(1.0)
                if half is None and ready * 2 >= args.count:
                    half = time.monotonic() - began
                if ready == args.count:
                    break
            ready_at = time.monotonic()  # perf_counter in the agent: the same clock on Linux
            out["all_ready_s"] = ready_at - began if ready == args.count else None
            out["half_ready_s"] = half
            out["ready"] = ready
            out["watch_restarts"] = watch.rewatched
            out["rss_mb"] = peak_rss_mb(agent.proc.pid)
            out["agent_cpu_s"], out["children_cpu_s"] = cpu_seconds(agent.proc.pid)
            out["control_plane_cpu_s"] = control_plane_cpu_s() - plane_cpu
            out["machine_busy_cpu_s"] = machine_busy_s() - busy
            out["machine_cores"] = os.cpu_count()
            out["load_average"] = os.getloadavg()
            counts = audit_counts(audit)
            out["requests"] = {f"{verb} {what}": n for (verb, what), n in sorted(counts.items())}
            cdep_writes = sum(
                n
                for (verb, what), n in counts.items()
                if verb in WRITES and what.startswith("containerdeployments")
            )
            all_writes = sum(n for (verb, _), n in counts.items() if verb in WRITES)
            out["cdep_writes_per_resource"] = cdep_writes / args.count
            out["writes_per_resource"] = all_writes / args.count
            # delete everything through the API: the agent removes its deployments, then its finalizers
            began = time.monotonic()
            api.call("DELETE", CDEPS.format(ns=NAMESPACE))
            while time.monotonic() - began < args.timeout:
                if not api.call("GET", CDEPS.format(ns=NAMESPACE))["items"]:
                    break
                time.sleep(0.5)
            out["deleted_s"] = time.monotonic() - began
            out["rss_mb_after_delete"] = peak_rss_mb(agent.proc.pid)
        finally:
            out["left_behind"] = agent.cleanup()
            if args.profile and not args.profile.exists():
                print(f"no profile written; the agent's log ends:\n{agent.log.read_text()[-3000:]}")
    if args.profile:
        with contextlib.suppress(OSError, ValueError):
            # until all Ready: the deploys' writes (the deletion's come after)
            held = [
                (w, h)
                for asked, w, h in json.loads(Path(f"{args.profile}.locks.json").read_text())
                if asked < ready_at
            ]
            waits, holds = sorted(w for w, _ in held), sorted(h for _, h in held)
            out["store_lock_until_ready"] = {
                "uses": len(held),
                "hold_median_ms": 1000 * holds[len(holds) // 2],
                "hold_p90_ms": 1000 * holds[len(holds) * 9 // 10],
                "hold_total_s": sum(holds),
                "wait_median_ms": 1000 * waits[len(waits) // 2],
            }
        stats = pstats.Stats(str(args.profile))
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
    return out


def run_podman(args: argparse.Namespace, base: Path, layout: Path) -> dict[str, Any]:
    podman = Podman(base / "podman")
    try:
        image = podman.setup(layout)
        began = time.monotonic()
        for i in range(args.count):
            podman("run", "-d", "--name", f"bench-{i}", "--network", "none", image, *SLEEP)
        elapsed = time.monotonic() - began
        podman("rm", "-a", "-f", "-t", "0")
        return {"podman_run_s": elapsed}
    finally:
        podman.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--workers", type=int, default=None, help="the agent's reconcile workers")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument(
        "--profile", type=Path, metavar="FILE", help="cProfile the reconcile workers into FILE; print the top"
    )
    parser.add_argument(
        "--profile-clock",
        choices=["wall", "cpu"],
        default="wall",
        help="what --profile measures: each worker's wall time (waits included) or its CPU time",
    )
    args = parser.parse_args()
    base = Path("/dev/shm") / f"berth-bench-agent-{uuid.uuid4().hex[:8]}"
    base.mkdir(parents=True)
    try:
        build_demo_layout(base / "layout")
        result = run_berth(args, base, base / "layout")
        if not args.no_peer:
            result |= run_podman(args, base, base / "layout")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    n = args.count
    print(json.dumps(result, indent=2))
    print(f"\n{n} ContainerDeployments on one node:")
    print(f"  created through the API in {result['created_s']:.1f} s")
    all_ready = result["all_ready_s"]
    print(
        f"  all Ready (from the API): {'not within the timeout' if all_ready is None else f'{all_ready:.1f} s'}"
        f" (target 60 s, goal 30 s); half: {result['half_ready_s'] or float('nan'):.1f} s"
    )
    if "podman_run_s" in result:
        print(f"  peer: podman run -d x{n}: {result['podman_run_s']:.1f} s")
    print(f"  agent peak RSS {result['rss_mb']:.0f} MB (target < 150 MB)")
    print(
        f"  CPU until all Ready: agent {result['agent_cpu_s']:.1f} s, control plane "
        f"{result['control_plane_cpu_s']:.1f} s, whole machine {result['machine_busy_cpu_s']:.1f} s "
        f"of {result['machine_cores']} cores (other users included; load {result['load_average'][0]:.1f})"
    )
    print(
        f"  writes per resource: {result['cdep_writes_per_resource']:.2f} to the ContainerDeployment, "
        f"{result['writes_per_resource']:.2f} with Events (target <= 3)"
    )
    print(f"  all deleted (removed from the node, finalizers dropped) in {result['deleted_s']:.1f} s")
    if result["left_behind"]:
        print(f"  LEFT BEHIND (removed now): {result['left_behind']}")


if __name__ == "__main__":
    main()
