"""Running deployments: the one place where store, bundle, overlay, network and conmon meet.

``Engine(root)`` starts the current version of a deployment as podman would run it: the bundle is
generated from the typed spec and image config (:mod:`agent.runtime.preparing`), the shared merged
tree is mounted as the read-only lower layer of an overlay whose upper belongs to this version
(:mod:`agent.runtime.overlays`), the network namespace is joined to its networks
(:mod:`agent.network.attaching`), and conmon runs runc (:mod:`agent.runtime.containers`) with an
exit command that applies the restart policy (:meth:`Engine.on_exit`), so restarts need no Berth
process to stay resident.

``stop`` and ``remove`` leave nothing behind: no process, mount, cgroup, runtime state, network
interface, firewall rule or address lease. What a user may want afterwards (the exit code, when it
stopped, the logs) is kept in the store's ``containers/<name>/`` directory.

A deploy of a new version starts it and waits for it to come up (its health or startup check
passes, or it keeps running for :data:`SETTLE` seconds, or a job exits 0); if it does not, the
previous version is switched back and started again (:meth:`Engine.deploy`), which is what the
product document's ``deploy --rollback`` promises.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from agent.network import netns
from agent.network.attaching import Attached, Attacher
from agent.network.netns import NetworkNamespace
from agent.runtime import eventlog, health, overlays, preparing, probes, restarting
from agent.runtime.containers import Containers
from agent.runtime.errors import ContainerNotFound, ContainerStateError, RuntimeFailure
from agent.runtime.execing import Exec
from agent.runtime.inputs import BundleInputs
from agent.runtime.observing import Observer, RunState, Status
from agent.runtime.paths import RunPaths
from agent.runtime.statuses import ContainerStatus, State
from agent.store import atomic, deploying
from agent.store.deployments import DeploymentError
from agent.store.layout import Layout
from agent.store.records import Deployment, Owner
from translators.spec import DeploymentSpec

if TYPE_CHECKING:
    from agent.registry.credentials import Credentials
    from agent.store.blobs import Watching
    from agent.store.images import ImageRecord

_BACKGROUND = ThreadPoolExecutor(max_workers=32, thread_name_prefix="berth-network")
"""Runs netavark's setup while a container is being created (see ``_start``): as many as compose
starts at once (``upping.PARALLEL``), so that every waiting setup joins the next batch of the
network attacher (with 4, ten containers' setups came in four batches, one after another)."""
SETTLE = float(os.environ.get("BERTH_SETTLE", "1.0"))
"""Seconds a service without a health check must keep running after start to count as up."""
Waiting = Literal["up", "started", "deferred"]
"""How long :meth:`Engine.activate` watches a start: see its docstring."""
SETTLE_POLL = 0.2
"""How often a settling container is looked at: an exit is seen at the end of the window anyway,
so polling only fails faster; ten containers settling at once polled every 50 ms took a share
of the CPU their neighbours needed to start."""
UP_TIMEOUT = 120.0
"""The longest a deploy waits for a new version's health or startup check."""
LOG_SIZE_MAX = 10 * 1024 * 1024
"""conmon rotates a container's log at this size."""
KUBERNETES_KINDS = frozenset(
    {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ContainerDeployment"}
)


class StartFailed(RuntimeFailure):
    """A new version did not come up (and was rolled back, if a previous version was kept)."""


@dataclass(frozen=True)
class Settling:
    """A started version being judged (:meth:`Engine.coming_up`): ``up``; or ``problem``, why it
    did not come up; or neither, and ``left`` seconds of its settle window remain."""

    up: bool
    problem: str | None = None
    left: float = 0.0


class Engine:
    """Containers of one store."""

    def __init__(self, root: Path, run_root: Path | None = None) -> None:
        self.root = Path(os.path.abspath(root))
        self.layout = Layout(self.root, create=False)
        self.paths = RunPaths.for_store(self.root, run_root)
        self.containers = Containers(self.paths)
        self.attacher = Attacher(self.root, self.paths.run)
        self.observer = Observer(self.layout, self.paths, self.containers)
        self._store: deploying.Store | None = None

    # -- reading ------------------------------------------------------------------------------
    def store(self) -> deploying.Store:
        """The store, opened once it exists (StoreNotFound until then): its caches of parsed image
        configs and resolved merged trees then serve every read (opening it at each read cost a
        millisecond and resolved each rootfs link again, several times per reconcile)."""
        if self._store is None:
            self._store = deploying.Store.open(self.root, create=False)
        return self._store

    def _run_state_path(self, name: str) -> Path:
        return self.layout.containers / name / "run.json"

    def run_state(self, name: str) -> RunState:
        return self.observer.run_state(name)

    def _save_run_state(self, name: str, state: RunState) -> None:
        path = self._run_state_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_json(path, state.to_json())

    def _update_run_state(self, name: str, **changes: Any) -> RunState:
        state = RunState.from_json({**self.run_state(name).to_json(), **changes})
        self._save_run_state(name, state)
        return state

    def container(self, name: str) -> ContainerStatus | None:
        return self.observer.container(name)

    def live_pid(self, name: str) -> int | None:
        """The pid of ``name``'s container while it lives; cheaper than :meth:`container`."""
        return self.containers.live_pid(name)

    def health_path(self, name: str) -> Path:
        return self.observer.health_path(name)

    # -- events ---------------------------------------------------------------------------------
    @property
    def events_path(self) -> Path:
        """The store's event log (:mod:`agent.runtime.eventlog`)."""
        return eventlog.path_in(self.paths.run)

    def event(self, action: str, name: str, deployment: Deployment | None = None, **attributes: str) -> None:
        """Record a container event; never fails the operation that caused it."""
        try:
            if deployment is None:
                deployment = self.store().get(name)
            owner = deployment.state.owner
            eventlog.append(
                self.events_path,
                {
                    "action": action,
                    "name": name,
                    "id": container_id(deployment),
                    "image": deployment.state.image,
                    "owner": {"kind": owner.kind, "project": owner.project, "service": owner.service},
                    "attributes": attributes,
                },
            )
        except (OSError, DeploymentError):
            pass

    def status(self, name: str) -> Status:
        return self.observer.status(self.store().get(name))

    def health_changed(self, name: str, status: str) -> None:
        """A ``health_status: healthy|unhealthy`` event, unless the container's last health event
        since it started says so already (the deploy's check and the supervisor both report)."""
        action = f"health_status: {status}"
        for record in reversed(eventlog.recent(self.events_path)):
            if record.get("name") != name:
                continue
            if record.get("action") == action:
                return
            if record.get("action") == "start" or str(record.get("action", "")).startswith("health_status"):
                break
        self.event(action, name)

    # -- start ----------------------------------------------------------------------------------
    def start(self, name: str, *, environ: Mapping[str, str] | None = None) -> Status:
        """Start the current version of ``name``; a running container is left as it is."""
        self._start_current(name, environ=environ)
        return self.status(name)

    def _start_current(self, name: str, *, environ: Mapping[str, str] | None = None) -> None:
        """:meth:`start` without reading the status back (a deploy does not show it)."""
        deployment = self.store().get(name)
        current = self.container(name)
        if current is not None and current.alive:
            return
        if current is not None:  # exited: a fresh start builds everything again
            self._teardown(name, deployment)
        self._update_run_state(name, desired="running", restarts=0, last_error=None)
        try:
            self._start(deployment, environ=environ)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                self._teardown(name, deployment)
            self._update_run_state(name, last_error=str(exc))
            raise
        self.event("start", name, deployment)

    def _start(self, deployment: Deployment, *, environ: Mapping[str, str] | None) -> None:
        name = deployment.name
        spec = deployment.spec
        join: dict[str, Path] = {}
        attached: Attached | None = None
        mode = spec.config.network.mode
        setup: Future[Attached] | None = None
        if mode == "bridge":
            attached, finish = self._attach_deferred(deployment)
            join["network"] = Path(attached.netns)
            if finish is not None:  # netavark works while the bundle is made and runc creates
                setup = _BACKGROUND.submit(finish)
        elif mode.startswith("container:"):
            join["network"] = self._namespace_of(mode.split(":", 1)[1])
        inputs = BundleInputs.of(
            deployment,
            self.paths,
            self.layout,
            environ=environ,
            join_namespaces=join,
            addresses=tuple(e.ipv4 for e in attached.endpoints) if attached else (),
            aliases=tuple(_aliases(deployment)),
            dns_servers=attached.dns_servers if attached else (),
            dns_search=attached.dns_search if attached else (),
            hostname=spec.config.group
            if spec.config.group and spec.config.network.hostname is None
            else None,
        )
        try:
            with self.umask():  # runc creates mount points with its own umask (see bundles)
                bundle = preparing.create(inputs)
                for warning in bundle.warnings:
                    print(f"warning: {name}: {warning}", file=sys.stderr)
                log_path = self.layout.log_dir(name) / "ctr.log"
                log_path.parent.mkdir(parents=True, exist_ok=True)
                with self._root_mounted(deployment, inputs.rootfs):
                    self.containers.create(
                        name,
                        inputs.bundle,
                        log_path=log_path,
                        log_size_max=LOG_SIZE_MAX,
                        exit_command=self.exit_command(name),
                        tty=spec.config.tty,
                        stdin=spec.config.stdin_open,
                    )
                if setup is not None:
                    setup.result()  # the network is ready (or its error raised) before the process runs
                self.containers.start(name)
        finally:
            if setup is not None:
                wait([setup])  # on any failure, the teardown must not race netavark's setup
        self._update_run_state(
            name,
            started_at=time.time(),
            finished_at=None,
            exit_code=None,
            oom_killed=False,
            serial=deployment.serial,
        )

    @contextlib.contextmanager
    def _root_mounted(self, deployment: Deployment, target: Path) -> Iterator[None]:
        """The container's overlay root mounted at ``target`` while runc creates the container, and
        taken off the host's mount table once it is created.

        runc init bind-mounts the root into the container's own mount namespace and pivots into
        it before ``runc create`` returns, so the container keeps its root (and its upper) with no
        mount left in the host's namespace. That is what lets the host's table stay small: every
        runc process and runc init parses /proc/self/mountinfo several times (cgroup v1 and
        Intel RDT mount points, the root's parent mount), and with one overlay per running
        container that parsing was a seventh of the machine's CPU at 500 containers (perf). A
        restart mounts the same upper again (``on_exit``), and nothing leaks when Berth is killed
        between the two steps: every teardown unmounts the target if it is still mounted."""
        overlays.unmount(target)  # a leftover of a Berth killed here, maybe of another version
        overlays.mount(deployment.rootfs, deployment.upper, deployment.work, target)
        try:
            yield
        finally:
            overlays.unmount(target)

    def exit_command(self, name: str) -> list[str]:
        """What conmon runs when the container exits: ``berth container _exited NAME``."""
        return [
            sys.executable,
            "-m",
            "agent",
            "container",
            "_exited",
            "--root",
            str(self.root),
            "--run-root",
            str(self.paths.run),
            name,
        ]

    # -- network -------------------------------------------------------------------------------
    def _netns_path(self, key: str) -> Path:
        return self.paths.run / "netns" / key

    def _attach_deferred(self, deployment: Deployment) -> tuple[Attached, Callable[[], Attached] | None]:
        """The container's (or its pod group's) namespace, attached to its networks, with
        netavark's setup left to the caller (``Attacher.attach_deferred``): None when the pod
        group's namespace is attached already."""
        group = deployment.spec.config.group
        key = f"group.{group}" if group else deployment.name
        existing = self.attacher.attached(key)
        if existing is not None and group:
            return existing, None
        path = netns.create(self._netns_path(key))
        config = deployment.spec.config
        if group:  # the group's namespace publishes every member's ports (a Pod's containers share them)
            members = [d for d in self.store().list() if d.spec.config.group == group]
            config = config.model_copy(update={"ports": [p for d in members for p in d.spec.config.ports]})
        try:
            # when the setup fails, the namespace goes with the caller's teardown (runc may be using it)
            return self.attacher.attach_deferred(key, config, path, aliases=_aliases(deployment))
        except BaseException:
            netns.remove(path)
            raise

    def _group_attachment(self, deployment: Deployment) -> Attached | None:
        group = deployment.spec.config.group
        return self.attacher.attached(f"group.{group}") if group else None

    def _namespace_of(self, other: str) -> Path:
        path = self._netns_path(other)
        if path.exists():
            return path
        ctr = self.container(other)
        if ctr is None or not ctr.alive or ctr.pid is None:
            raise ContainerStateError(f"network mode container:{other}: container {other} is not running")
        return Path(f"/proc/{ctr.pid}/ns/net")

    def _detach(self, deployment: Deployment) -> None:
        group = deployment.spec.config.group
        if group:
            others = [
                d.name
                for d in self.store().list()
                if d.spec.config.group == group
                and d.name != deployment.name
                and (c := self.container(d.name)) is not None
                and c.alive
            ]
            if others:
                return
            key = f"group.{group}"
        else:
            key = deployment.name
        self.attacher.detach(key)
        netns.remove(self._netns_path(key))

    # -- stop, remove -----------------------------------------------------------------------------
    def stop(self, name: str, *, timeout: float | None = None, signal: str | None = None) -> Status:
        """Stop signal, SIGKILL after the grace period, then nothing left of the container."""
        deployment = self.store().get(name)
        self._update_run_state(name, desired="stopped")
        ctr = self.container(name)
        if ctr is not None:
            sig = (
                signal
                or deployment.spec.config.stop_signal
                or deployment.image_config.stop_signal
                or "SIGTERM"
            )
            grace = timeout if timeout is not None else deployment.spec.config.stop_grace_period
            if ctr.alive:
                self.event("kill", name, deployment, signal=_signal_number(sig))
            final = self.containers.stop(name, sig, 10.0 if grace is None else grace)
            self._record_exit(name, final, deployment)
        self._teardown(name, deployment)
        if ctr is not None and ctr.alive:
            self.event("stop", name, deployment)
        return self.status(name)

    def kill(self, name: str, signal: str = "SIGKILL") -> None:
        deployment = self.store().get(name)
        self.containers.kill(name, signal)
        self.event("kill", name, deployment, signal=_signal_number(signal))

    def _record_exit(self, name: str, final: ContainerStatus, deployment: Deployment | None = None) -> None:
        """Keep the exit in run.json; the first record of an exit is its ``die`` event."""
        first = self.run_state(name).finished_at is None
        self._update_run_state(
            name,
            exit_code=final.exit_code,
            oom_killed=final.oom_killed,
            finished_at=time.time() if final.finished_at is None else _epoch(final.finished_at),
        )
        if first:
            code = final.exit_code if final.exit_code is not None else 255
            self.event("die", name, deployment, exitCode=str(code))

    def _teardown(self, name: str, deployment: Deployment | None) -> None:
        """Remove the container's process, runc state, cgroup, mount, run dir and network."""
        if self.container(name) is not None:
            ctr = self.containers.state(name)
            if ctr.alive:
                self.containers.stop(name, "SIGKILL", 0)
            final = self.containers.reap(name)
            self._record_exit(name, final, deployment)
            self.containers.delete(name, force=True)
        with contextlib.suppress(OSError):
            overlays.unmount(self.paths.bundle(name) / "rootfs")
        if deployment is not None and deployment.spec.config.network.mode == "bridge":
            self._detach(deployment)
        elif self.attacher.attached(name) is not None:
            self.attacher.detach(name)
        if self._netns_path(name).exists():
            netns.remove(self._netns_path(name))
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.paths.container(name))

    def remove(self, name: str, *, cleanup: bool = False, volumes: bool = False) -> list[str]:
        """Stop, then remove the deployment (and with ``volumes`` its anonymous volumes)."""
        deployment = self.store().get(name)
        if self.container(name) is not None:
            self.stop(name, timeout=0 if not deployment.spec.config.stop_grace_period else None)
        self._teardown(name, deployment)
        removed = deploying.remove(self.root, name, cleanup=cleanup)
        self.event("destroy", name, deployment)
        return removed

    def boot(self) -> list[str]:
        """After a reboot (runtime state is on tmpfs, so nothing runs): start what docker's daemon
        starts at boot, the deployments with policy always or unless-stopped that were running
        when the host went down (a user's stop is remembered in the store). Returns their names;
        one that fails to start is recorded in its status and does not stop the others."""
        started = []
        for deployment in self.store().list():
            name = deployment.name
            if deployment.state.owner.kind == "agent":  # the node agent reconciles its own
                continue
            if deployment.spec.config.restart.policy not in ("always", "unless-stopped"):
                continue
            if self.run_state(name).desired != "running" or self.container(name) is not None:
                continue
            try:
                self.start(name)
            except RuntimeFailure:
                continue
            started.append(name)
        return started

    # -- restart policy (conmon's exit command) ------------------------------------------------
    def on_exit(self, name: str) -> restarting.Decision:
        """Record the exit, then restart after the policy's backoff unless told otherwise."""
        try:
            final = self.containers.reap(name)
        except ContainerNotFound:
            return restarting.Decision(False, reason="removed")
        try:
            deployment = self.store().get(name)
        except DeploymentError:
            self._record_exit(name, final)
            return restarting.Decision(False, reason="deployment removed")
        self._record_exit(name, final, deployment)
        run = self.run_state(name)
        # the version that ran decides and is created again: its policy, its bundle, its tree and
        # upper as the root (the current version differs after a deploy --no-start, or a rollback
        # during the backoff; a restart must not run the old bundle on the new version's tree)
        ran = deployment
        if run.serial is not None and run.serial != deployment.serial:
            try:
                ran = self.store().get_version(name, run.serial)
            except DeploymentError:
                return restarting.Decision(False, reason=f"version {run.serial} is no longer kept")
        started = run.started_at or time.time()
        decision = restarting.decide(
            ran.spec.config.restart,
            exit_code=final.exit_code if final.exit_code is not None else 255,
            stopped_by_user=final.stop_requested or run.desired != "running",
            restarts=run.restarts,
            uptime=time.time() - started,
            kind=backoff_kind(ran.spec),
        )
        if not decision.restart:
            return decision
        time.sleep(decision.delay)
        restarts = 0 if time.time() - started >= restarting.RESET_AFTER else run.restarts
        # counted before the new container starts, as docker counts a restart when it begins: a
        # status read between the start and a later count showed the new pid with the old count
        self._update_run_state(
            name,
            restarts=restarts + 1,
            total_restarts=run.total_restarts + 1,
            started_at=time.time() if restarts == 0 and run.restarts else started,
            finished_at=None,  # running again: its next exit is a new die event
        )
        try:
            with self._root_mounted(ran, self.paths.bundle(name) / "rootfs"):
                self.containers.create(
                    name,
                    log_path=self.layout.log_dir(name) / "ctr.log",
                    log_size_max=LOG_SIZE_MAX,
                    exit_command=self.exit_command(name),
                    tty=ran.spec.config.tty,
                    stdin=ran.spec.config.stdin_open,
                    restart=True,
                )
            self.containers.start(name)
        except (ContainerStateError, ContainerNotFound) as exc:
            return restarting.Decision(False, reason=str(exc))
        self.event("start", name, ran)
        return decision

    # -- deploy with automatic rollback ---------------------------------------------------------
    def deploy(
        self,
        spec: DeploymentSpec,
        *,
        owner: Owner | None = None,
        start: bool = True,
        rollback_on_failure: bool = True,
        environ: Mapping[str, str] | None = None,
        puller: deploying.Puller | None = None,
        gate: deploying.Gate | None = None,
        exit_ok: bool = False,
        credentials: Credentials | None = None,
        wait: Waiting = "up",
        on_started: Callable[[Deployment], None] | None = None,
    ) -> Deployment:
        """Deploy ``spec`` as a new version, start it and wait for it to come up; if it does not,
        go back to the previous version and start that again (StartFailed says why).
        ``exit_ok``: exiting 0 while coming up counts as up (a compose one-shot service).
        ``wait``: how long the start is watched here (see :meth:`activate`).
        ``credentials``: for the image's registry, given to the default puller and trust gate for
        this deploy only (a Kubernetes pull secret); nothing keeps them. A caller bringing its own
        puller or gate binds its credentials there instead. ``on_started``: see :meth:`activate`."""
        was_running = (c := self.container(spec.name)) is not None and c.alive
        deployment = deploying.deploy(
            self.root,
            spec,
            owner=owner or Owner(),
            puller=puller or registry_puller(credentials),
            gate=gate or _gate(credentials),
        )
        self.event("create", spec.name, deployment)
        if not start:
            return deployment
        return self.activate(
            deployment,
            was_running=was_running,
            rollback_on_failure=rollback_on_failure,
            environ=environ,
            exit_ok=exit_ok,
            wait=wait,
            on_started=on_started,
        )

    def update(
        self,
        name: str,
        *,
        pull_image: bool = True,
        rollback_on_failure: bool = True,
        environ: Mapping[str, str] | None = None,
        puller: deploying.Puller | None = None,
        gate: deploying.Gate | None = None,
    ) -> tuple[bool, Deployment]:
        """A newer image for the same tag: deploy it and, if ``name`` was running, run the new
        version (rolled back when it does not come up). (False, current) when nothing changed."""
        was_running = (c := self.container(name)) is not None and c.alive
        changed, deployment = deploying.update(
            self.root, name, pull_image=pull_image, puller=puller or registry_puller(), gate=gate or _gate()
        )
        if not changed or not (was_running or self.run_state(name).desired == "running"):
            return changed, deployment
        return True, self.activate(
            deployment, was_running=was_running, rollback_on_failure=rollback_on_failure, environ=environ
        )

    def rollback(self, name: str, *, environ: Mapping[str, str] | None = None) -> Deployment:
        """Switch back to the previous version; a running container runs the previous one after."""
        running = (c := self.container(name)) is not None and c.alive
        if running:
            self._stop_version(name, self.store().get(name))
        restored = deploying.rollback(self.root, name)
        if running:
            self.start(name, environ=environ)
        return restored

    def activate(
        self,
        deployment: Deployment,
        *,
        was_running: bool,
        rollback_on_failure: bool = True,
        environ: Mapping[str, str] | None = None,
        exit_ok: bool = False,
        wait: Waiting = "up",
        on_started: Callable[[Deployment], None] | None = None,
    ) -> Deployment:
        """Run ``deployment`` (just deployed) in place of the version before it; roll back if it
        does not come up. A start that fails at once is rolled back whatever ``wait`` says:

        - ``"up"``: wait here until it is up (health check, startup check, job done, or running
          for the settle window);
        - ``"started"``: return once the container started. For a first version, which has
          nothing to roll back to: docker compose's ``up -d`` and ``podman kube play`` return
          once their containers started rather than spend the settle window on each (the caller
          checks readiness when it needs it);
        - ``"deferred"``: a version that :meth:`settles` is returned once it started, without
          holding the caller for the settle window; the caller asks :meth:`coming_up` after
          :attr:`Settling.left` seconds and, when it did not come up, calls :meth:`revert` (the
          node agent's workers). A version with a health or startup check, or a job, is waited
          for as with ``"up"``.

        ``on_started(deployment)`` is called once the new version started, before it is waited
        for (the node agent reports then what it waits for); it must not raise."""
        name = deployment.name
        if self.container(name) is not None:
            old = (
                self.store().get_version(name, deployment.rollback)
                if deployment.rollback is not None
                else None
            )
            self._stop_version(name, old)
        try:
            self._start_current(name, environ=environ)
            if on_started is not None:
                on_started(deployment)
            watched = wait == "up" or (wait == "deferred" and not self.settles(deployment))
            problem = self.wait_up(name, exit_ok=exit_ok) if watched else None
        except RuntimeFailure as exc:
            problem = str(exc)
        if problem is None:
            return deployment
        if not rollback_on_failure:
            raise StartFailed(f"{name}: version {deployment.serial} did not come up: {problem}")
        self.revert(deployment, was_running=was_running, problem=problem, environ=environ)

    def revert(
        self,
        deployment: Deployment,
        *,
        was_running: bool,
        problem: str,
        environ: Mapping[str, str] | None = None,
    ) -> NoReturn:
        """``deployment`` did not come up (``problem``): switch back to the version before it and
        start that again if it was running; StartFailed says what happened."""
        name = deployment.name
        if deployment.rollback is None:
            raise StartFailed(f"{name}: version {deployment.serial} did not come up: {problem}")
        with contextlib.suppress(RuntimeFailure):
            self.stop(name, timeout=0)
        restored = deploying.rollback(self.root, name)
        note = ""
        if was_running:
            try:
                self.start(name, environ=environ)
            except RuntimeFailure as exc:
                note = f"; the previous version did not start either: {exc}"
        raise StartFailed(
            f"{name}: version {deployment.serial} did not come up ({problem}); "
            f"rolled back to version {restored.serial}"
            + (" and restarted it" if was_running and not note else "")
            + note
        )

    def settles(self, deployment: Deployment) -> bool:
        """Whether coming up is judged by the settle window alone (no health or startup check of
        the spec or the image, not a job): what :meth:`coming_up` judges without running anything."""
        config = deployment.spec.config
        if config.role in ("job", "init"):
            return False
        plans = health.plans_from(
            healthcheck=config.healthcheck,
            readiness=config.readiness,
            startup=config.startup,
            image=deployment.image_config.healthcheck,
        )
        return not any(p.kind in ("startup", "liveness") for p in plans)

    def coming_up(self, name: str, *, settle: float = SETTLE) -> Settling:
        """How a version started with ``activate(wait="deferred")`` is doing: up once it kept running
        ``settle`` seconds since its start (a one-shot service that exited 0 is done), failed
        when it exited meanwhile (also when its restart policy started it again), else the
        seconds still to wait. Judged from the runtime's files: nothing needs to have watched."""
        deployment = self.store().get(name)
        problem = self._exited(name)
        if problem:
            done = self._completed(deployment, name)
            return Settling(up=done, problem=None if done else problem)
        run = self.run_state(name)
        if run.restarts:
            return Settling(
                up=False,
                problem=f"exited with code {run.exit_code} (restarted {run.restarts} times by its policy)",
            )
        left = settle - (time.time() - (run.started_at or 0.0))
        return Settling(up=left <= 0, left=max(0.0, left))

    def _stop_version(self, name: str, old: Deployment | None) -> None:
        ctr = self.container(name)
        if ctr is not None and ctr.alive:
            config = old.spec.config if old is not None else None
            sig = (config.stop_signal if config else None) or (old.image_config.stop_signal if old else None)
            grace = config.stop_grace_period if config else None
            self.containers.stop(name, sig or "SIGTERM", 10.0 if grace is None else grace)
        self._teardown(name, old)

    def wait_up(
        self, name: str, *, settle: float = SETTLE, timeout: float = UP_TIMEOUT, exit_ok: bool = False
    ) -> str | None:
        """None once ``name`` is up; otherwise why not (exited, unhealthy, timed out).
        ``exit_ok``: a container that exited 0 is done, not failed."""
        problem = self._wait_up(name, settle=settle, timeout=timeout)
        ctr = self.container(name) if problem and exit_ok else None
        if ctr is not None and ctr.state is State.EXITED and ctr.exit_code == 0 and not ctr.error:
            return None
        return problem

    def _wait_up(self, name: str, *, settle: float, timeout: float) -> str | None:
        deployment = self.store().get(name)
        config = deployment.spec.config
        if config.role in ("job", "init"):
            final = self.containers.wait(name, timeout)
            if final.alive:
                return f"still running after {timeout:g} s"
            return None if final.exit_code == 0 else f"exited with code {final.exit_code}"
        plans = health.plans_from(
            healthcheck=config.healthcheck,
            readiness=config.readiness,
            startup=config.startup,
            image=deployment.image_config.healthcheck,
        )
        gate = [p for p in plans if p.kind in ("startup", "liveness")]
        began = time.monotonic()
        if not gate:
            while (left := settle - (time.monotonic() - began)) > 0:
                problem = self._exited(name)
                if problem:
                    return None if self._completed(deployment, name) else problem
                time.sleep(min(SETTLE_POLL, left))
            problem = self._exited(name)
            return None if problem and self._completed(deployment, name) else problem
        limit = min(timeout, max(p.start_period + p.interval * (p.retries + 1) for p in gate) + 5)
        failures = 0
        while time.monotonic() - began < limit:
            problem = self._exited(name)
            if problem:
                return problem
            ctr = self.containers.state(name)
            results = health.run_once(
                gate,
                netns=NetworkNamespace.of_pid(ctr.pid) if ctr.pid else None,
                exec_fn=self.exec_function(name),
            )
            if all(r.ok for r in results.values()):
                self.health_changed(name, "healthy")
                return None
            in_start = time.monotonic() - began < max(p.start_period for p in gate)
            failures += 0 if in_start else 1
            if failures >= max(p.retries for p in gate):
                last = "; ".join(f"{k}: {r.output.strip()[:200]}" for k, r in results.items() if not r.ok)
                self.health_changed(name, "unhealthy")
                return f"unhealthy ({last})"
            time.sleep(min(max(0.2, min(p.start_interval for p in gate)), 1.0))
        return f"not healthy within {limit:g} s"

    def _completed(self, deployment: Deployment, name: str) -> bool:
        """A one-shot service (restart policy no or on-failure) that exited 0 has done its job, as
        docker compose counts it (``service_completed_successfully``)."""
        ctr = self.container(name)
        return (
            ctr is not None
            and ctr.exit_code == 0
            and not ctr.error
            and deployment.spec.config.restart.policy in ("no", "on-failure")
        )

    def _exited(self, name: str) -> str | None:
        ctr = self.container(name)
        if ctr is None:
            return "the container is gone"
        if ctr.state is State.EXITED:
            if ctr.error:
                return ctr.error
            return f"exited with code {ctr.exit_code}" + (" (OOMKilled)" if ctr.oom_killed else "")
        return None

    # -- exec, for probes and the CLI -----------------------------------------------------------
    def exec_function(self, name: str) -> Any:
        runner = Exec(self.containers)

        def run(argv: Sequence[str], timeout: float) -> tuple[int, str]:
            captured = runner.captured(name, list(argv), timeout=timeout)
            if captured.timed_out:
                raise TimeoutError(f"timed out after {timeout:g} s")
            output = (
                captured.output.decode(errors="replace")
                if isinstance(captured.output, bytes)
                else captured.output
            )
            return (captured.exit_code if captured.exit_code is not None else -1), output

        return run

    def probe_plans(self, name: str) -> list[probes.ProbePlan]:
        deployment = self.store().get(name)
        config = deployment.spec.config
        return health.plans_from(
            healthcheck=config.healthcheck,
            readiness=config.readiness,
            startup=config.startup,
            image=deployment.image_config.healthcheck,
        )

    @contextlib.contextmanager
    def umask(self) -> Iterator[None]:
        """022 while runc and conmon create files: runc makes missing mount points with the
        caller's umask, and a 077 one would hide them from a non-root container user."""
        previous = os.umask(0o022)
        try:
            yield
        finally:
            os.umask(previous)


def registry_puller(credentials: Credentials | None = None) -> deploying.Puller:
    """The registry client, for callers that bring none (it reports no progress); with
    ``credentials`` bound when the caller has some (else the host's auth files apply). Imported
    when an image has to be pulled: a deploy from the store never needs it (requests and the
    client were a tenth of a second of each ``compose up``)."""

    def pull(
        reference: str,
        root: Path,
        /,
        *,
        transport: str,
        digest: str | None = None,
        watching: Watching | None = None,
    ) -> ImageRecord:
        from agent.registry.pulling import pull_image

        bound = pull_image if credentials is None else functools.partial(pull_image, creds=credentials)
        return bound(reference, root, transport=transport, digest=digest, watching=watching)

    return pull


def _gate(credentials: Credentials | None = None) -> deploying.Gate:
    """The host's trust policy ($BERTH_POLICY, else /etc/containers/policy.json), as podman reads it:
    callers that bring no gate still get every image checked."""
    from agent.trust.enforcing import gate

    return gate(None, credentials)


def backoff_kind(spec: DeploymentSpec) -> restarting.BackoffKind:
    """The kubelet's backoff for specs from Kubernetes objects, docker's for the rest."""
    origin = getattr(spec, "origin", None)
    return "kubelet" if origin is not None and origin.kind in KUBERNETES_KINDS else "docker"


def _aliases(deployment: Deployment) -> list[str]:
    """DNS names of the container on its networks: its name, its compose service, its host name."""
    names = [deployment.name]
    owner = deployment.state.owner
    if owner.service:
        names.append(owner.service)
    if deployment.spec.config.network.hostname:
        names.append(deployment.spec.config.network.hostname)
    return list(dict.fromkeys(names))


def container_id(deployment: Deployment) -> str:
    """The ID ``compose ps`` and events show: the image digest's first 12 hex digits and the
    version (a deployment has no other identity; docker's is a random 64-hex one)."""
    return deployment.state.image_digest.removeprefix("sha256:")[:12] + f"{deployment.serial:04d}"


def _signal_number(sig: str) -> str:
    """docker's kill events name the signal by number (``signal=15``)."""
    import signal as signals

    text = sig.upper().removeprefix("SIG")
    if text.isdigit():
        return text
    try:
        return str(int(signals.Signals["SIG" + text]))
    except KeyError:
        return sig


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
