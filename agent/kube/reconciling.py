"""One ContainerDeployment on this node: make the node match it, then say how it went.

``reconcile(key)`` is idempotent and reads everything it needs again (the cached object, the
store, the container), so a reconcile cut short by a crash is simply run again. The agent only
ever touches deployments it made (owner kind ``agent``); the CLI's and compose's are never seen.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.kube import events, networking, pull_secrets, statuses
from agent.kube.client import APPLY, JSON_PATCH, Kube, KubeError, resource_path
from agent.kube.local_deployments import LocalDeployments
from agent.kube.looking import Looks
from agent.kube.outages import Link, Outbox
from agent.kube.pull_watching import PullWatch
from agent.kube.statuses import Report
from agent.registry.errors import AuthError, RegistryError
from agent.runtime.engine import SETTLE, Engine, Settling, StartFailed, registry_puller
from agent.runtime.errors import RuntimeFailure
from agent.store.atomic import write_json
from agent.store.deploying import PullUnavailable
from agent.store.images import ImageNotFound
from agent.store.records import Deployment, Owner
from agent.trust.errors import SignatureRejected
from translators.crd import convert, models
from translators.errors import BerthError, Diagnostics

if TYPE_CHECKING:
    pass

log = logging.getLogger("berth.agent")


FINALIZER_PREFIX = "berth.io/node-"
ROLLBACK_ANNOTATION = "berth.io/rollback"
STATUS_PERIOD = 10.0
"""Seconds between two looks at a running deployment's state (written only when it changed)."""
SETTLE_RECHECK = 0.05
"""The least wait before a settling version is looked at again."""


class Retry(Exception):
    """Reconcile again after this key's backoff."""


@dataclass(frozen=True)
class Waiting:
    """A new version is settling (started, not judged yet): look again in ``left`` seconds; the
    status written once it started (Progressing, reason Started) stands meanwhile."""

    left: float


def finalizer(node: str) -> str:
    return f"{FINALIZER_PREFIX}{node}"[:253]


@dataclass
class Memory:
    """What the agent keeps per deployment beside the store (``<root>/agent/<name>.json``): the
    resource it came from and what it did about it, so decisions survive an agent restart."""

    uid: str | None = None
    namespace: str | None = None
    resource: str | None = None
    generation: int | None = None
    """The generation deployed (or given up on: ``failed``)."""
    failed: int | None = None
    """A generation whose rollout failed and was rolled back: not tried again until it changes."""
    failure: str = ""
    reason: str = ""
    rollback: str | None = None
    """The berth.io/rollback annotation value already acted on."""
    restart_generation: int = 0
    settling: dict[str, Any] | None = None
    """A version started and not judged yet: its serial, the generation it deploys and whether the
    version before it was running (to restart it if this one has to be rolled back)."""
    extra: dict[str, Any] = field(default_factory=dict)


class Reconciler:
    def __init__(self, kube: Kube, engine: Engine, node: str, reflector: Any) -> None:
        self.kube, self.engine, self.node, self.reflector = kube, engine, node, reflector
        self.labels: dict[str, str] = {}
        self.memory_dir = engine.root / "agent"
        self.events = events.Recorder(kube, node)
        self.local = LocalDeployments(engine)
        self.looks = Looks(engine)
        self.lock = threading.Lock()
        self.link = Link(self.memory_dir / "_link.json")  # "_": never a deployment's name
        self.outbox = Outbox()
        self.written: dict[str, tuple[str | None, str | None, dict[str, Any]]] = {}
        """Per resource key: uid, resourceVersion and status of this agent's last status write."""
        self.events.link = self.link

    # -- local memory -----------------------------------------------------------------------------
    def _memory_path(self, name: str) -> Path:
        return self.memory_dir / f"{name}.json"

    def memory(self, name: str) -> Memory:
        try:
            data = json.loads(self._memory_path(name).read_text())
        except (OSError, ValueError):
            return Memory()
        return Memory(**{k: v for k, v in data.items() if k in Memory.__dataclass_fields__})

    def remember(self, name: str, memory: Memory) -> None:
        self.memory_dir.mkdir(parents=True, exist_ok=True)
        write_json(self._memory_path(name), memory.__dict__)

    # -- the agent's deployments --------------------------------------------------------------------
    def owned(self) -> dict[str, Deployment]:
        """Deployments this agent made, by resource key (namespace/name): a full listing."""
        return self.local.all()

    def remove_orphans(self) -> list[str]:
        """After a full list: deployments whose resource no longer exists are removed."""
        removed = []
        for key, deployment in self.owned().items():
            if self.reflector.get(key) is None:
                log.info("%s: its resource %s is gone: removing it", deployment.name, key)
                self._remove(deployment.name)
                removed.append(deployment.name)
        return removed

    def targets(self, obj: dict[str, Any]) -> bool:
        spec = obj.get("spec") or {}
        node_name = spec.get("nodeName")
        if node_name and node_name != self.node:
            return False
        selector = spec.get("nodeSelector") or {}
        return all(self.labels.get(k) == v for k, v in selector.items())

    # -- the reconcile ------------------------------------------------------------------------------
    def reconcile(self, key: str) -> float | None:
        """Make the node match resource ``key``; returns seconds until the next look (None: none)."""
        obj = self.reflector.get(key)
        if obj is None:
            self.written.pop(key, None)
            local = self.local.get(key)
            if local is not None and self.reflector.synced.is_set():
                log.info("%s: resource %s deleted: removing it", local.name, key)
                self._remove(local.name)
            return None
        meta = obj.get("metadata") or {}
        if (
            not meta.get("deletionTimestamp")
            and key not in self.outbox  # a held status is written on reconnection, never skipped
            and self.looks.unchanged(key, obj, self.labels)
        ):
            return STATUS_PERIOD  # the look needs no store read: most reconciles end here
        self.looks.forget(key)
        local = self.local.get(key)
        mine = finalizer(self.node)
        if meta.get("deletionTimestamp"):
            if local is not None:
                self._remove(local.name)
                self.events.record(obj, "Normal", "Removed", f"removed from node {self.node}")
            if mine in (meta.get("finalizers") or []):
                self._set_finalizer(obj, present=False)
            return None
        if not self.targets(obj):
            if local is not None:
                self._remove(local.name)
                self.events.record(obj, "Normal", "Removed", f"node {self.node} is no longer targeted")
            if mine in (meta.get("finalizers") or []):
                self._set_finalizer(obj, present=False)
            self._write_status(obj, None)
            return None
        if (obj.get("spec") or {}).get("paused"):
            return None
        if mine not in (meta.get("finalizers") or []):
            self._set_finalizer(obj, present=True)
        report = self._apply(obj, local)
        if isinstance(report, Waiting):
            return max(report.left, SETTLE_RECHECK)
        self._write_status(obj, report)
        now = self.reflector.get(key) or obj  # with the resourceVersion of our own status write
        deployed = self.local.get(key)
        self.looks.remember(
            key,
            (now.get("metadata") or {}).get("resourceVersion"),
            deployed.name if deployed is not None else None,
            self.labels,
        )
        return STATUS_PERIOD

    def _apply(self, obj: dict[str, Any], local: Deployment | None) -> Report | Waiting:
        meta = obj.get("metadata") or {}
        generation = meta.get("generation")
        if local is not None:  # a version started by an earlier reconcile is judged first
            memory = self.memory(local.name)
            if memory.settling is not None:
                judged = self._judge(obj, local, memory, generation)
                if judged is not None:
                    return judged
        diag = Diagnostics(file=f"{models.KIND} {meta.get('namespace')}/{meta.get('name')}")
        targeted = convert.from_resource(obj, diag)
        if targeted is None:
            message = "; ".join(str(d) for d in diag.errors)[:1000] or "the spec is not valid"
            self.events.record(obj, "Warning", "InvalidSpec", message)
            return Report(
                phase="Failed", reason="InvalidSpec", message=message, degraded=True, generation=generation
            )
        spec = targeted.spec
        name = spec.name
        memory = self.memory(name)
        memory.uid, memory.namespace, memory.resource = (
            meta.get("uid"),
            meta.get("namespace"),
            meta.get("name"),
        )
        if local is not None and local.name != name:  # spec.name changed: the old one goes
            self._remove(local.name)
            local = None
        owner = Owner(
            kind="agent",
            namespace=meta.get("namespace") or "default",
            resource=meta.get("name"),
            uid=meta.get("uid"),
        )
        wanted = spec.model_dump(mode="json")
        deployed = local.spec.model_dump(mode="json") if local is not None else None
        annotation = (meta.get("annotations") or {}).get(ROLLBACK_ANNOTATION)
        if local is not None and annotation and annotation != memory.rollback:
            memory.rollback = annotation
            return self._rollback(obj, name, memory)
        if deployed != wanted and memory.failed != generation:
            if deployed is not None and memory.rollback and memory.generation == generation:
                pass  # rolled back by annotation: keep the previous version until the spec changes
            else:
                failure = self._deploy(
                    obj, spec, owner, generation, memory, secret_names=targeted.image_pull_secrets
                )
                if failure is not None:
                    return failure
        elif memory.failed == generation and deployed != wanted:
            return self._report(
                name,
                generation,
                Report(
                    phase="Failed",
                    reason=memory.reason or "RolledBack",
                    message=memory.failure,
                    degraded=True,
                ),
            )
        self._run_state(obj, name, memory)
        memory.generation = generation if memory.failed != generation else memory.generation
        self.remember(name, memory)
        return self._report(name, generation, None)

    def _deploy(
        self,
        obj: dict[str, Any],
        spec: Any,
        owner: Owner,
        generation: int | None,
        memory: Memory,
        *,
        secret_names: Sequence[str] = (),
    ) -> Report | Waiting | None:
        name = spec.name
        reason = ""
        pull = pull_secrets.resolve(
            self.kube, owner.namespace or "default", secret_names, spec.image, spec.transport
        )
        # Progressing is written once the new version started (what it waits for), not before the
        # pull: a pull is reported only when it runs long (see agent.kube.pull_watching)
        watch = PullWatch(
            registry_puller(pull.credentials), lambda: self._pulling(obj, spec.image, generation)
        )
        settling: dict[str, Any] | None = None
        try:
            for network in networking.ensure(self.engine, spec):
                log.info("%s: created network %s", name, network)
            start = (obj.get("spec") or {}).get("runState", "Running") == "Running"
            was_running = (ctr := self.engine.container(name)) is not None and ctr.alive
            with self.engine.umask():
                deployment = self.engine.deploy(
                    spec,
                    owner=owner,
                    start=start,
                    puller=watch,
                    credentials=pull.credentials,  # for the trust policy's look-up
                    wait="deferred",
                    on_started=lambda deployment: self._started(obj, deployment, generation, watch),
                )
            if start and self.engine.settles(deployment):
                settling = {"serial": deployment.serial, "generation": generation, "was_running": was_running}
        except SignatureRejected as exc:
            reason, message, retry = "SignatureRejected", str(exc), False
        except AuthError as exc:  # say which secrets were (not) used, never what they hold
            reason, message, retry = "ImagePullFailed", f"{exc} ({pull.explain(secret_names)})", True
        except (RegistryError, ImageNotFound, PullUnavailable) as exc:
            reason, message, retry = "ImagePullFailed", str(exc), True
        except StartFailed as exc:
            reason, message, retry = "RolledBack", str(exc), False
        except BerthError as exc:
            reason, message, retry = "DeployFailed", str(exc), True
        watch.settle()  # a slow pull's report is written before anything after it
        if watch.pulls and not reason:
            self.events.record(obj, "Normal", "Pulled", f"pulled {spec.image} in {watch.seconds:.1f} s")
        has_local = self.local.by_name(name) is not None  # also after a failed start, kept in the store
        if has_local:
            self.local.added(f"{owner.namespace}/{owner.resource}", name)
        if not reason:
            memory.failed, memory.failure, memory.reason = None, "", ""
            memory.rollback = ((obj.get("metadata") or {}).get("annotations") or {}).get(ROLLBACK_ANNOTATION)
            memory.settling = settling
            if settling is not None:  # judged by a later reconcile: the worker is not held meanwhile
                self.remember(name, memory)
                return Waiting(SETTLE)
            memory.generation = generation
            self.remember(name, memory)
            self.events.record(obj, "Normal", "Deployed", f"generation {generation} runs on {self.node}")
            return None
        return self._failed(
            obj, name, generation, memory, reason=reason, message=message, retry=retry, has_local=has_local
        )

    def _pulling(self, obj: dict[str, Any], image: str, generation: int | None) -> None:
        """A pull that runs long (from the pull watch's timer thread): say so while it runs."""
        message = f"pulling {image} (generation {generation})"
        try:
            self._write_status(
                obj,
                Report(
                    phase="Pulling",
                    reason="Pulling",
                    progressing=True,
                    message=message,
                    generation=generation,
                ),
            )
            self.events.record(obj, "Normal", "Pulling", message)
        except BerthError as exc:  # the later writes say how it went
            log.warning(
                "%s: the Pulling status was not written: %s", (obj.get("metadata") or {}).get("name"), exc
            )

    def _started(
        self, obj: dict[str, Any], deployment: Deployment, generation: int | None, watch: PullWatch
    ) -> None:
        """The new version runs (called by the Engine before it waits for it): Progressing says
        what the node waits for. With Ready afterwards, the second of a clean rollout's status
        writes; nothing raised here may break the rollout."""
        watch.settle()
        config = deployment.spec.config
        if config.role in ("job", "init"):
            waiting = "waiting for it to complete"
        elif self.engine.settles(deployment):
            waiting = f"waiting {SETTLE:g} s for it to stay up"
        else:
            waiting = "waiting for its health check to pass"
        report = Report(
            phase="Deploying",
            reason="Started",
            progressing=True,
            message=f"generation {generation} started on node {self.node}, {waiting}",
        )
        try:
            self._write_status(obj, self._report(deployment.name, generation, report))
        except BerthError as exc:
            log.warning("%s: the Started status was not written: %s", deployment.name, exc)

    def _failed(
        self,
        obj: dict[str, Any],
        name: str,
        generation: int | None,
        memory: Memory,
        *,
        reason: str,
        message: str,
        retry: bool,
        has_local: bool,
    ) -> Report:
        """A rollout that failed: the event, the report; given up on until the spec changes unless
        ``retry`` (then Retry is raised after the status is written)."""
        log.warning("%s: %s", name, message)
        self.events.record(obj, "Warning", reason, message)
        report = Report(phase="Failed", reason=reason, message=message[:1000], degraded=True)
        if not retry:
            memory.failed, memory.failure, memory.reason = generation, message[:1000], reason
            self.remember(name, memory)
        final = (
            self._report(name, generation, report)
            if has_local
            else Report(**{**report.__dict__, "generation": generation})
        )
        if retry:
            self._write_status(obj, final)
            raise Retry(message)
        return final

    def _judge(
        self, obj: dict[str, Any], local: Deployment, memory: Memory, generation: int | None
    ) -> Report | Waiting | None:
        """The version started by an earlier reconcile (``memory.settling``): Waiting while its
        settle window runs, the rolled-back report when it did not come up, None once it is up
        (the reconcile goes on and reports it Ready)."""
        settling = memory.settling or {}
        name = local.name
        if local.serial != settling.get("serial"):  # switched since (a rollback): nothing to judge
            memory.settling = None
            self.remember(name, memory)
            return None
        try:
            judged = self.engine.coming_up(name)
        except BerthError as exc:
            judged = Settling(up=False, problem=str(exc))
        if not judged.up and judged.problem is None:
            return Waiting(judged.left)
        memory.settling = None
        deployed = settling.get("generation")
        if judged.up:
            memory.generation = deployed
            self.remember(name, memory)
            self.events.record(obj, "Normal", "Deployed", f"generation {deployed} runs on {self.node}")
            return None
        try:
            self.engine.revert(
                local, was_running=bool(settling.get("was_running")), problem=str(judged.problem)
            )
        except StartFailed as exc:
            message = str(exc)
        except BerthError as exc:
            message = f"{name}: version {local.serial} did not come up ({judged.problem}); {exc}"
        return self._failed(
            obj, name, deployed, memory, reason="RolledBack", message=message, retry=False, has_local=True
        )

    def _rollback(self, obj: dict[str, Any], name: str, memory: Memory) -> Report:
        generation = (obj.get("metadata") or {}).get("generation")
        try:
            restored = self.engine.rollback(name)
        except BerthError as exc:
            self.remember(name, memory)
            self.events.record(obj, "Warning", "RollbackFailed", str(exc))
            return self._report(
                name,
                generation,
                Report(phase="Failed", reason="RollbackFailed", message=str(exc), degraded=True),
            )
        memory.generation = generation
        self.remember(name, memory)
        self.events.record(
            obj, "Normal", "RolledBack", f"rolled back to version {restored.serial} on {self.node}"
        )
        return self._report(
            name,
            generation,
            Report(
                phase="Running",
                reason="RolledBack",
                message=f"rolled back to version {restored.serial} by annotation",
            ),
        )

    def _run_state(self, obj: dict[str, Any], name: str, memory: Memory) -> None:
        """runState and restartGeneration, and a container that should run but does not exist
        (after a reboot, or an agent killed between deploy and start)."""
        spec = obj.get("spec") or {}
        want = spec.get("runState", "Running")
        ctr = self.engine.container(name)
        alive = ctr is not None and ctr.alive
        bump = int(spec.get("restartGeneration") or 0)
        if want == "Stopped":
            if alive:
                self.engine.stop(name)
                self.events.record(obj, "Normal", "Stopped", f"stopped on {self.node} (runState: Stopped)")
            memory.restart_generation = bump
            return
        if bump != memory.restart_generation and alive:
            log.info("%s: restarting (restartGeneration %d -> %d)", name, memory.restart_generation, bump)
            self.engine.stop(name)
            self.engine.start(name)
            self.events.record(
                obj, "Normal", "Restarted", f"restarted on {self.node} (restartGeneration {bump})"
            )
            memory.restart_generation = bump
            return
        memory.restart_generation = bump
        if not alive and (ctr is None or self.engine.run_state(name).desired != "running"):
            log.info(
                "%s: starting (runState Running, container %s)",
                name,
                "gone" if ctr is None else ctr.state.value,
            )
            networking.ensure(self.engine, self.engine.store().get(name).spec)
            self.engine.start(name)

    def _report(self, name: str, generation: int | None, failure: Report | None) -> Report:
        try:
            status = self.engine.status(name)
            deployment = self.engine.store().get(name)
        except BerthError as exc:
            return failure or Report(phase="Failed", reason="Unknown", message=str(exc), degraded=True)
        memory = self.memory(name)
        base: dict[str, Any] = {
            "image_digest": status.image_digest,
            "generation": memory.generation,
            "state": status.state,
            "health": status.health,
            "restarts": status.restarts,
            "rollback_available": deployment.state.rollback is not None,
        }
        if failure is not None:
            return Report(**{**failure.__dict__, **base})
        if status.state == "running" and status.health in (None, "healthy"):
            return Report(phase="Running", reason="Running", ready=True, message="", **base)
        if status.state == "running" and status.health == "unhealthy":
            return Report(
                phase="Running", reason="Unhealthy", degraded=True, message="the health check fails", **base
            )
        if status.state == "running":
            return Report(
                phase="Deploying",
                reason="Starting",
                progressing=True,
                message=f"health: {status.health}",
                **base,
            )
        if status.state == "restarting":
            return Report(
                phase="Failed",
                reason="CrashLoopBackOff",
                degraded=True,
                message=status.error or f"exit code {status.exit_code}",
                **base,
            )
        if status.state in ("stopped", "exited") and self.engine.run_state(name).desired == "stopped":
            return Report(phase="Stopped", reason="Stopped", message="stopped (runState: Stopped)", **base)
        return Report(
            phase="Failed",
            reason="Exited",
            degraded=True,
            message=status.error or f"exited with code {status.exit_code}",
            **base,
        )

    # -- node side ----------------------------------------------------------------------------------
    def _remove(self, name: str) -> None:
        with contextlib.suppress(RuntimeFailure):
            self.engine.stop(name, timeout=10)
        local = self.local.by_name(name)
        if local is not None:
            self.engine.remove(name, cleanup=True)  # a failure is retried: the finalizer stays meanwhile
            self.local.removed(name)
            for network in networking.remove_unused(self.engine, networking.named(local.spec)):
                log.info("%s: removed network %s (no deployment uses it)", name, network)
        with contextlib.suppress(OSError):
            os.unlink(self._memory_path(name))

    # -- API side -----------------------------------------------------------------------------------
    def _set_finalizer(self, obj: dict[str, Any], *, present: bool) -> None:
        """Our finalizer, applied by our field manager: adding or dropping it never touches another
        node's (finalizers are a set owned per manager)."""
        meta = obj.get("metadata") or {}
        body = {
            "apiVersion": models.API_VERSION,
            "kind": models.KIND,
            "metadata": {
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "finalizers": [finalizer(self.node)] if present else [],
            },
        }
        try:
            self.kube.call(
                "PATCH",
                resource_path(meta.get("namespace") or "default", meta.get("name")),
                query={"fieldManager": statuses.field_manager(self.node), "force": True},
                body=body,
                content_type=APPLY,
            )
        except KubeError as exc:
            if exc.status != 404:
                raise
            return
        if not present:
            self._drop_dead_nodes(obj)

    def _drop_dead_nodes(self, obj: dict[str, Any]) -> None:
        """A deleted resource is not held forever by the finalizer of a node that no longer exists."""
        meta = obj.get("metadata") or {}
        if not meta.get("deletionTimestamp"):
            return
        try:  # fresh: our own finalizer is gone, the indexes moved
            meta = self.kube.call("GET", resource_path(meta.get("namespace") or "default", meta.get("name")))[
                "metadata"
            ]
        except KubeError:
            return
        for index, name in reversed(list(enumerate(meta.get("finalizers") or []))):
            if not name.startswith(FINALIZER_PREFIX) or name == finalizer(self.node):
                continue
            try:
                self.kube.call("GET", f"/api/v1/nodes/{name[len(FINALIZER_PREFIX) :]}")
                continue
            except KubeError as exc:
                if exc.status != 404:
                    continue
            patch = [
                {"op": "test", "path": f"/metadata/finalizers/{index}", "value": name},
                {"op": "remove", "path": f"/metadata/finalizers/{index}"},
            ]
            with contextlib.suppress(KubeError):
                self.kube.call(
                    "PATCH",
                    resource_path(meta.get("namespace") or "default", meta.get("name")),
                    body=patch,
                    content_type=JSON_PATCH,
                )

    def _freshest_status(self, obj: dict[str, Any]) -> dict[str, Any]:
        """The resource's status, or the one this agent last wrote when the cached object is older
        than that write (a relist or a watch event that predates it), so one state is written once."""
        meta = obj.get("metadata") or {}
        status: dict[str, Any] = obj.get("status") or {}
        mine = self.written.get(f"{meta.get('namespace') or 'default'}/{meta.get('name')}")
        if mine is None or mine[0] != meta.get("uid"):
            return status
        try:  # resourceVersions are etcd revisions; anything else is compared by nobody
            older = int(meta.get("resourceVersion") or 0) < int(mine[1] or 0)
        except ValueError:
            return status
        return mine[2] if older else status

    def _write_status(self, obj: dict[str, Any], report: Report | None) -> None:
        """Apply this node's entry (None: drop it) and the summary, when either changed."""
        meta = obj.get("metadata") or {}
        status = self._freshest_status(obj)
        entries = status.get("nodes") or []
        previous = next((e for e in entries if e.get("nodeName") == self.node), None)
        others = [e for e in entries if e.get("nodeName") != self.node]
        entry = (
            statuses.node_entry(self.node, report, meta.get("generation"), previous)
            if report is not None
            else None
        )
        if report is None and previous is None:
            return
        key = f"{meta.get('namespace') or 'default'}/{meta.get('name')}"
        if not self.link.up:  # cut off: the latest report waits for the link (agent.kube.outages)
            self.outbox.hold(key, report)
            return
        if entry is not None:
            self.link.mark(entry, obj, previous)
        body = statuses.apply_body(obj, self.node, entry, others)
        if (
            entry is not None
            and previous is not None
            and statuses.same(entry, {k: v for k, v in previous.items() if k in entry})
            and statuses.same(
                body["status"],
                {k: status.get(k) for k in body["status"] if k != "nodes"}
                | {"nodes": body["status"]["nodes"]},
            )
        ):
            self.outbox.sent(key)
            return
        try:
            written = self.kube.call(
                "PATCH",
                resource_path(meta.get("namespace") or "default", meta.get("name"), "status"),
                query={"fieldManager": statuses.field_manager(self.node), "force": True},
                body=body,
                content_type=APPLY,
            )
        except KubeError as exc:
            if exc.status == 0:  # lost on the way: held until the link is back
                self.outbox.hold(key, report)
                return
            if exc.status == 404:
                self.outbox.sent(key)
                return
            raise
        self.outbox.sent(key)
        if written.get("metadata"):
            self.written[key] = (
                meta.get("uid"),
                written["metadata"].get("resourceVersion"),
                written.get("status") or {},
            )
        # the next reconcile compares against what we wrote, not a cache the watch has not updated yet
        if written.get("metadata"):
            with self.reflector.lock:
                cached = self.reflector.cache.get(key)
                if cached is not None and cached["metadata"].get("uid") == written["metadata"].get("uid"):
                    cached["status"] = written.get("status")
                    cached["metadata"]["resourceVersion"] = written["metadata"].get("resourceVersion")
