"""``compose up``: networks and volumes first, then services in dependency order, idempotently.

A replica whose configuration hash is unchanged is left as it is (started if it is not running);
a changed one is deployed as a new version through :meth:`Engine.deploy`, which keeps the previous
version for rollback and switches back to it when the new one does not come up. A service seen
for the first time is created and started without that watch, as docker compose's ``up -d`` returns
once its containers started: there is no previous version to roll back to (``--wait`` and
dependents that wait for a service still check it). A service that fails stops the services that
depend on it from starting, and ``up`` reports it by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from agent.compose import listing
from agent.compose.projects import HASH, ComposeError, ComposeProject, Service, container_name, number_of
from agent.network.errors import NetworkError
from agent.network.networks import Networks
from agent.runtime.engine import Engine, StartFailed
from agent.runtime.errors import RuntimeFailure
from agent.store import deploying
from agent.store.deployments import DeploymentError
from agent.store.records import Deployment
from translators.errors import BerthError
from translators.spec.project import Project

T = TypeVar("T")
Say = Callable[[str, str, str], None]
"""``say(kind, name, what)``: one progress line (``Container demo-web-1  Started``)."""


def quiet(kind: str, name: str, what: str) -> None:
    """A reporter that prints nothing."""


@dataclass(frozen=True)
class UpOptions:
    services: tuple[str, ...] = ()
    start: bool = True
    force_recreate: bool = False
    no_recreate: bool = False
    remove_orphans: bool = False
    wait: bool = False
    wait_timeout: float | None = None
    no_deps: bool = False
    attached: bool = False
    """up without -d: containers that exit are shown exiting, not failed."""


@dataclass
class UpResult:
    created: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    """Service -> why it did not come up."""

    @property
    def changed(self) -> set[str]:
        return {*self.created, *self.recreated}


def project_deployments(engine: Engine, project: str) -> list[Deployment]:
    """The project's deployments in the store (compose-owned, this project, not one-off)."""
    return listing.project_deployments(engine.store(), project)


def ensure_networks(engine: Engine, project: Project, say: Say, *, label: str = "com.docker.compose") -> None:
    """Create the project's networks (``<project>_default`` and declared ones); external ones must exist."""
    networks = Networks(engine.root)
    for key, net in project.networks.items():
        if net.external:
            if not networks.exists(net.name):
                raise ComposeError(f"network {net.name} declared as external, but could not be found")
            continue
        if networks.exists(net.name):
            continue
        if net.driver not in ("bridge", "default"):
            raise ComposeError(f"network {key}: driver {net.driver!r} is not supported (bridge only)")
        say("Network", net.name, "Creating")
        try:
            networks.create(
                net.name,
                subnet=net.subnets[0] if net.subnets else None,
                internal=net.internal,
                labels={
                    "com.docker.compose.project": project.name,
                    "com.docker.compose.network": key,
                    **net.labels,
                },
                driver_opts=net.driver_opts,
                exist_ok=True,
            )
        except NetworkError as exc:
            raise ComposeError(f"network {net.name}: {exc}") from exc
        say("Network", net.name, "Created")


def ensure_volumes(engine: Engine, project: Project, say: Say) -> None:
    """Create the project's named volumes; external ones must exist."""
    volumes = deploying.Store.open(engine.root).volumes
    have = set(volumes.list())
    for key, vol in project.volumes.items():
        if vol.external:
            if vol.name not in have:
                raise ComposeError(f"external volume {vol.name!r} not found")
            continue
        if vol.name in have:
            continue
        if vol.driver != "local":
            raise ComposeError(f"volume {key}: driver {vol.driver!r} is not supported (local only)")
        say("Volume", f'"{vol.name}"', "Creating")
        volumes.create(vol.name)
        say("Volume", f'"{vol.name}"', "Created")


def _current(engine: Engine, name: str) -> Deployment | None:
    try:
        return engine.store().get(name)
    except DeploymentError:
        return None


def _alive(engine: Engine, name: str) -> bool:
    ctr = engine.container(name)
    return ctr is not None and ctr.alive


def wait_condition(engine: Engine, name: str, condition: str, timeout: float, *, touched: bool) -> str | None:
    """None once replica ``name`` meets ``condition``; otherwise why not."""
    if condition == "completed_successfully":
        ctr = engine.container(name)
        if ctr is not None and ctr.alive:
            final = engine.containers.wait(name, timeout)
            if final.alive:
                return f"still running after {timeout:g} s"
        status = engine.status(name)
        if status.exit_code == 0:
            return None
        return f"exited with code {status.exit_code}" if status.exit_code is not None else "did not run"
    if not _alive(engine, name):
        status = engine.status(name)
        return f"is {status.state}" + (
            f" (exit code {status.exit_code})" if status.exit_code is not None else ""
        )
    if condition == "healthy":
        if not engine.probe_plans(name):
            return "has no healthcheck (service_healthy needs one)"
        if touched:  # deploy/start waited for its checks already; otherwise check now
            return None
        return engine.wait_up(name, settle=0, timeout=timeout)
    return None


def up(engine: Engine, project: ComposeProject, options: UpOptions, say: Say = quiet) -> UpResult:
    """Bring ``project`` up as ``options`` say; failures are in the result (not raised) so that
    the caller can name every failed service."""
    result = UpResult()
    selected = list(options.services) if options.no_deps else project.closure(options.services)
    if options.no_deps:
        project.closure(options.services)  # unknown names are errors either way
    existing = project_deployments(engine, project.name)
    known = set(project.services)
    orphans = [d for d in existing if d.state.owner.service not in known]
    if orphans:
        result.orphans = sorted(d.name for d in orphans)
        if options.remove_orphans:
            for d in orphans:
                say("Container", d.name, "Removing")
                engine.remove(d.name)
                say("Container", d.name, "Removed")
                result.removed.append(d.name)
    ensure_networks(engine, project.project, say)
    ensure_volumes(engine, project.project, say)
    by_service: dict[str, list[Deployment]] = {}
    for d in existing:
        if d.state.owner.service in known:
            by_service.setdefault(str(d.state.owner.service), []).append(d)
    touched: set[str] = set()
    for level in levels(project, selected):
        ready = []
        for service_name in level:
            service = project.services[service_name]
            problem = _dependencies_ready(
                engine, project=project, service=service, result=result, touched=touched, options=options
            )
            if problem:
                result.failed[service_name] = problem
                continue
            _scale_down(engine, service, by_service.get(service_name, []), result, say)
            ready.append(service)
        tasks = [
            (service, number, options.force_recreate or _restart_forced(project, service, result))
            for service in ready
            for number in range(1, service.scale + 1)
        ]

        def converge(task: tuple[Service, int, bool]) -> None:
            service, number, recreate = task
            name = container_name(project.name, service.name, number)
            try:
                checked = _converge(
                    engine,
                    project=project,
                    service=service,
                    number=number,
                    name=name,
                    recreate=recreate,
                    options=options,
                    result=result,
                    say=say,
                )
            except StartFailed as exc:
                result.failed.setdefault(service.name, str(exc))
                say("Container", name, "Error")
                return
            except BerthError as exc:
                result.failed.setdefault(service.name, f"{name}: {exc}")
                say("Container", name, "Error")
                return
            if checked:
                touched.add(name)

        parallel(converge, tasks)
        for service in ready:
            if service.name not in result.failed and options.start:
                _restart_dependents(engine, project, service, result, say)
    if options.wait and options.start:
        _wait_all(
            engine,
            project=project,
            selected=selected,
            result=result,
            timeout=options.wait_timeout,
            say=say,
        )
    return result


PARALLEL = 32
"""Containers of one dependency level deployed at once. Most of a deploy is waiting for the new
container to settle or pass its health check, so a whole level's waits should overlap: with 8 at
once, 10 services took two settle windows (4.5 s for ``up -d`` here); the creates themselves are
bound by the CPU and the store lock whatever the number."""


def levels(project: ComposeProject, selected: Sequence[str]) -> list[list[str]]:
    """``selected`` services by dependency depth: each level depends only on earlier ones."""
    depth: dict[str, int] = {}
    chosen = set(selected)

    def of(name: str, seen: tuple[str, ...] = ()) -> int:
        if name not in depth:
            deps = [
                d.name for d in project.services[name].depends_on if d.name in chosen and d.name not in seen
            ]
            depth[name] = 1 + max((of(d, (*seen, name)) for d in deps), default=-1)
        return depth[name]

    out: list[list[str]] = []
    for name in selected:
        level = of(name)
        while len(out) <= level:
            out.append([])
        out[level].append(name)
    return [level for level in out if level]


def parallel(work: Callable[[T], None], items: Sequence[T]) -> None:
    """``work`` on every item, up to :data:`PARALLEL` at once; one item runs in this thread."""
    if len(items) <= 1:
        for item in items:
            work(item)
        return
    with ThreadPoolExecutor(max_workers=min(PARALLEL, len(items))) as pool:
        for future in [pool.submit(work, item) for item in items]:
            future.result()


def _restart_forced(project: ComposeProject, service: Service, result: UpResult) -> bool:
    """A service sharing the namespace of a recreated one (``network_mode: service:X``) is recreated."""
    mode = service.spec.config.network.mode
    if not mode.startswith("container:"):
        return False
    target = mode.split(":", 1)[1]
    return target in result.changed


def _restart_dependents(
    engine: Engine, project: ComposeProject, service: Service, result: UpResult, say: Say
) -> None:
    """Dependents declared with ``restart: true`` restart when ``service`` was recreated."""
    recreated = {n for n in result.recreated if n.startswith(f"{project.name}-{service.name}-")}
    if not recreated:
        return
    for other in project.services.values():
        if not any(d.name == service.name and d.restart for d in other.depends_on):
            continue
        for number in range(1, other.scale + 1):
            name = container_name(project.name, other.name, number)
            if name in result.changed or not _alive(engine, name):
                continue
            say("Container", name, "Restarting")
            engine.stop(name)
            engine.start(name)
            say("Container", name, "Started")


def _dependencies_ready(
    engine: Engine,
    *,
    project: ComposeProject,
    service: Service,
    result: UpResult,
    touched: set[str],
    options: UpOptions,
) -> str | None:
    for dep in service.depends_on:
        target = project.services.get(dep.name)
        if target is None:
            if dep.required:
                return f"dependency {dep.name} is not in the project"
            continue
        if dep.name in result.failed:
            if not dep.required:
                continue
            return f"dependency {dep.name} failed to start"
        if not options.start:
            continue
        for number in range(1, target.scale + 1):
            name = container_name(project.name, dep.name, number)
            if _current(engine, name) is None:
                if dep.required:
                    return f"dependency {dep.name} has no container {name}"
                continue
            why = wait_condition(
                engine, name, dep.condition, options.wait_timeout or 120.0, touched=name in touched
            )
            if why:
                if not dep.required:
                    continue
                return f"dependency failed to start: container {name} {why}"
    return None


def _scale_down(
    engine: Engine, service: Service, deployments: Sequence[Deployment], result: UpResult, say: Say
) -> None:
    for d in sorted(deployments, key=number_of, reverse=True):
        if number_of(d) > service.scale:
            say("Container", d.name, "Stopping")
            engine.remove(d.name)
            say("Container", d.name, "Removed")
            result.removed.append(d.name)


def _converge(
    engine: Engine,
    *,
    project: ComposeProject,
    service: Service,
    number: int,
    name: str,
    recreate: bool,
    options: UpOptions,
    result: UpResult,
    say: Say,
) -> bool:
    """Create, recreate, start or leave ``name`` as the project says; False when it was started
    without waiting for its checks (a fresh container, see below), so that a dependent waiting
    for it to be healthy checks it then."""
    current = _current(engine, name)
    same = current is not None and current.state.owner.labels.get(HASH) == service.config_hash
    if current is not None and (options.no_recreate or (same and not recreate)):
        if options.start and not _alive(engine, name):  # docker compose starts exited ones again
            say("Container", name, "Starting")
            engine.start(name)
            if service.name in project.completions:
                final = engine.containers.wait(name, options.wait_timeout or 120.0)
                if final.exit_code != 0:
                    raise StartFailed(f"{name}: exited with code {final.exit_code}")
            say("Container", name, "Started")
            result.started.append(name)
        else:
            say("Container", name, "Running")
            result.untouched.append(name)
        return True
    spec = service.replica(project.name, number, as_job=service.name in project.completions)
    owner = project.owner(service.name, number)
    say("Container", name, "Recreate" if current is not None else "Creating")
    # A recreate is watched until it is up (settle window or health check) and rolled back if it
    # does not come up. A fresh container has no previous version to go back to: as docker
    # compose's `up -d`, it is done once started (one that exits later shows as exited in `ps`),
    # unless --wait asks for it to be up, or it is a one-shot a dependent waits for.
    watch = current is not None or options.wait or spec.config.role in ("job", "init")
    # a one-shot service (it exits 0 and is not restarted) is up when it has done its work
    try:
        engine.deploy(
            spec,
            owner=owner,
            start=options.start,
            exit_ok=spec.config.restart.policy in ("no", "on-failure"),
            wait="up" if watch else "started",
        )
    except StartFailed:
        # attached, a new container that ran and exited is shown exiting, as docker compose shows it
        status = engine.status(name) if options.attached and current is None else None
        if status is None or status.exit_code is None or status.state not in ("exited", "stopped"):
            raise
    (result.recreated if current is not None else result.created).append(name)
    say("Container", name, "Recreated" if current is not None else "Created")
    if options.start:
        say("Container", name, "Started")
    return watch


def _wait_all(
    engine: Engine,
    *,
    project: ComposeProject,
    selected: Sequence[str],
    result: UpResult,
    timeout: float | None,
    say: Say,
) -> None:
    deadline = time.monotonic() + (timeout if timeout is not None else 120.0)
    for service_name in selected:
        if service_name in result.failed:
            continue
        service = project.services[service_name]
        for number in range(1, service.scale + 1):
            name = container_name(project.name, service_name, number)
            left = max(0.1, deadline - time.monotonic())
            if service_name in project.completions:
                why = wait_condition(engine, name, "completed_successfully", left, touched=True)
            elif engine.probe_plans(name):
                why = wait_condition(engine, name, "healthy", left, touched=False)
            else:
                why = wait_condition(engine, name, "started", left, touched=True)
            if why:
                result.failed[service_name] = f"container {name} {why}"
                say("Container", name, "Error")
            else:
                say("Container", name, "Healthy" if engine.probe_plans(name) else "Running")


def stop_all(engine: Engine, names: Sequence[str], timeout: float | None, say: Say) -> None:
    """Stop containers (in the order given), reporting each."""
    for name in names:
        if not _alive(engine, name):
            continue
        say("Container", name, "Stopping")
        try:
            engine.stop(name, timeout=timeout)
        except RuntimeFailure as exc:
            say("Container", name, f"Error: {exc}")
            continue
        say("Container", name, "Stopped")
