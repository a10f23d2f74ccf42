"""The Kubernetes side of ``berth agent --kubeconfig F | --in-cluster`` (the CLI runs it beside
the local supervisor, in one process).

Threads: the reflector (list + watch), the node watcher (this Node's labels, polled with ``get``,
the only verb the agent has on nodes), a resync timer and a few workers draining the work queue.
:meth:`Agent.shutdown` (on SIGTERM) stops taking work, lets the reconcile in progress finish and
leaves every container running: containers never depend on this process.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from pathlib import Path

from agent.kube.client import Kube, KubeError, resource_path
from agent.kube.outages import Outage
from agent.kube.queueing import WorkQueue
from agent.kube.reconciling import Reconciler, Retry
from agent.kube.watching import Reflector
from agent.runtime.engine import Engine
from agent.store.atomic import write_json
from agent.store.deploying import Store
from translators.errors import BerthError

log = logging.getLogger("berth.agent")

WORKERS = 32
"""Reconciles at once. A rollout mostly waits (conmon and runc creating the container, the API
server, the store's writer lock), about 2 s of a worker per rollout here against 0.07 s of the
agent's CPU: 4 workers left 500 resources queued for minutes, 16 made 7 rollouts a second
(benchmarks/node_agent.py). The settle window a new version is watched for holds no worker (see
agent.kube.reconciling)."""
SWITCH_INTERVAL = 0.001
"""The interpreter's thread switch interval while the agent runs (Python's default: 5 ms). A thread
that holds the store's writer lock makes dozens of system calls, each releasing the GIL; with 32
workers busy, getting it back took up to the whole interval each time, so a deploy that needs
20 ms of CPU held the lock for 90 ms (p90 460 ms) and the lock became the agent's bottleneck."""
NODE_POLL = 5.0
RESYNC = 60.0


class Agent:
    def __init__(
        self, kube: Kube, root: Path, node: str, *, run_root: Path | None = None, workers: int = WORKERS
    ) -> None:
        Store.open(root, create=True)
        self.kube, self.node = kube, node
        self.engine = Engine(root, run_root)
        self.queue = WorkQueue()
        self.reflector = Reflector(
            kube, resource_path(), self.queue.add, resync=RESYNC, on_synced=self._synced
        )
        self.reconciler = Reconciler(kube, self.engine, node, self.reflector)
        self.reconciler.link.on_reconnect = self._reconnected
        kube.observers.append(self.reconciler.link.observe)
        self.node_file = self.reconciler.memory_dir / "_node.json"  # "_": never a deployment's name
        self.reconciler.labels = self._known_labels()
        self.workers = workers
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def _synced(self) -> None:
        try:
            removed = self.reconciler.remove_orphans()
        except BerthError as exc:
            log.warning("orphans not removed: %s", exc)
            return
        if removed:
            log.info("removed %d deployments whose resources are gone: %s", len(removed), ", ".join(removed))

    def _known_labels(self) -> dict[str, str]:
        """The node's labels as last seen: an agent started while the API server is unreachable
        targets what it targeted before, so nothing is removed for want of the labels."""
        try:
            data = json.loads(self.node_file.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("name") != self.node:
            return {}
        labels = data.get("labels")
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}

    def _remember_labels(self, labels: dict[str, str]) -> None:
        try:
            self.node_file.parent.mkdir(parents=True, exist_ok=True)
            write_json(self.node_file, {"name": self.node, "labels": labels})
        except OSError as exc:
            log.warning("%s not written: %s", self.node_file, exc)

    def _reconnected(self, outage: Outage | None) -> None:
        """The API server answers again: the reflector stops backing off, and the resources whose
        status was held (after a reported outage: every resource, for its Disconnected condition)
        are reconciled, each writing its latest state once."""
        self.reflector.wake()
        held = self.reconciler.outbox.keys()
        keys = set(held) | (set(self.reflector.names()) if outage is not None else set())
        for key in held:
            if self.reflector.synced.is_set() and self.reflector.get(key) is None:
                self.reconciler.outbox.sent(key)  # the resource is gone: nothing to write
                keys.discard(key)
        if keys:
            log.info("API server reached again: writing the status of %d resources", len(keys))
        for key in sorted(keys):
            self.reconciler.looks.forget(key)  # the Disconnected condition is news even if nothing else is
            self.queue.add(key)

    def _watch_node(self) -> None:
        first, failing = True, False
        while not self.stop.is_set():
            try:
                node = self.kube.call("GET", f"/api/v1/nodes/{self.node}")
                labels = (node.get("metadata") or {}).get("labels") or {}
                failing = False
            except KubeError as exc:
                labels = {} if exc.status == 404 else self.reconciler.labels
                if exc.status != 404 and not failing:  # once per outage, not every poll
                    log.warning("node %s: %s (labels as last seen meanwhile)", self.node, exc)
                failing = exc.status != 404
            if labels != self.reconciler.labels:
                self._remember_labels(dict(labels))
            if labels != self.reconciler.labels or first:
                self.reconciler.labels = dict(labels)
                if not first:
                    log.info("node %s labels changed: reconciling every resource", self.node)
                    for key in self.reflector.names():
                        self.queue.add(key)
                first = False
                self.node_known.set()
            self.stop.wait(NODE_POLL)

    def _resync(self) -> None:
        while not self.stop.wait(RESYNC):
            for key in self.reflector.names():
                self.queue.add(key)

    def _work(self) -> None:
        while not self.stop.is_set():
            key = self.queue.get(timeout=1.0)
            if key is None:
                continue
            try:
                again = self.reconciler.reconcile(key)
                self.queue.forget(key)
                if again is not None:
                    self.queue.add_after(key, again)
            except (Retry, BerthError) as exc:
                delay = self.queue.retry(key)
                log.warning("%s: %s (again in %.1f s)", key, exc, delay)
            except Exception:
                log.exception("%s: reconcile failed (again after backoff)", key)
                self.queue.retry(key)
            finally:
                self.queue.done(key)

    def adopt(self) -> list[str]:
        """Before the API is asked anything: the agent's deployments that should run and have no
        container (the host rebooted, or conmon was lost) are started from the store; running ones
        are left alone (a new agent never restarts them). Nothing is removed without the API."""
        started = []
        for deployment in self.engine.store().list(owner_kind="agent"):
            name = deployment.name
            if self.engine.container(name) is None and self.engine.run_state(name).desired == "running":
                try:
                    self.engine.start(name)
                    started.append(name)
                except BerthError as exc:
                    log.warning("%s: not started from local state: %s", name, exc)
        if started:
            log.info("started from local state: %s", ", ".join(started))
        return started

    def start(self) -> None:
        sys.setswitchinterval(SWITCH_INTERVAL)
        self.adopt()
        self.node_known = threading.Event()
        node_thread = threading.Thread(target=self._watch_node, name="node", daemon=True)
        node_thread.start()
        self.threads.append(node_thread)
        self.node_known.wait(30)  # targeting needs the labels before the first reconcile
        for target, name in ((self.reflector.run, "watch"),):
            t = threading.Thread(target=target, args=(self.stop,), name=name, daemon=True)
            t.start()
            self.threads.append(t)
        for target_, name in ((self._resync, "resync"),):
            t = threading.Thread(target=target_, name=name, daemon=True)
            t.start()
            self.threads.append(t)
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"worker-{i}", daemon=True)
            t.start()
            self.threads.append(t)

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop taking work; a reconcile in progress finishes (containers keep running)."""
        self.stop.set()
        self.queue.close()
        self.reflector.wake()
        deadline = time.monotonic() + timeout
        for t in self.threads:
            if t.name.startswith("worker"):
                t.join(max(0.0, deadline - time.monotonic()))
