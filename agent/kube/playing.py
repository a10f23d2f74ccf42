"""Kubernetes manifests on the Engine: pods as pod groups, replicas as numbered pods, jobs and
init containers run to completion, ConfigMaps and Secrets as files, PVCs as named volumes.

The Kubernetes translator gives one spec per container, grouped by pod (``config.group``), with
the workload's replica count; here each replica becomes its own pod group ``<pod>-<n>`` with
containers ``<pod>-<n>-<container>`` (one replica keeps the translator's names). A host port can
be bound once per host, so only the first replica publishes it (the translator warns).

Re-playing is idempotent like ``compose up``: a container whose configuration hash is unchanged
is left running; a changed one is deployed as a new version with its rollback kept. Every spec of
a play is staged in the store before any starts, so a pod's shared network namespace is created
knowing every member's ports.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.compose.projects import config_hash
from agent.compose.upping import Say, ensure_volumes, quiet
from agent.network.networks import DEFAULT_NETWORK
from agent.runtime.engine import Engine, StartFailed
from agent.store.deployments import DeploymentError
from agent.store.records import Deployment, Owner
from translators.errors import BerthError
from translators.result import Translation
from translators.spec import DeploymentSpec

HASH = "io.berth.kube.config-hash"
POD = "io.berth.kube.pod"


@dataclass
class PlayResult:
    pods: dict[str, list[str]] = field(default_factory=dict)
    """Pod group -> its containers, in start order."""
    created: list[str] = field(default_factory=list)
    recreated: list[str] = field(default_factory=list)
    untouched: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def play_name(files: Sequence[str]) -> str:
    """What a play is known by in the store: its first file's absolute path (``kube down FILE``)."""
    return os.path.abspath(files[0])


def _rename_group(spec: DeploymentSpec, group: str, number: int) -> DeploymentSpec:
    container = spec.name[len(group) + 1 :] if spec.name.startswith(group + "-") else spec.name
    new_group = f"{group}-{number}"
    ports = spec.config.ports if number == 1 else [p for p in spec.config.ports if p.host is None]
    config = spec.config.model_copy(update={"group": new_group, "replicas": 1, "ports": ports})
    return spec.model_copy(update={"name": f"{new_group}-{container}", "config": config})


def expand(translation: Translation) -> list[DeploymentSpec]:
    """Every container of every replica, in start order; the default network is Berth's own."""
    by_name = {s.name: s for s in translation.specs}
    order = [n for n in translation.project.order if n in by_name]
    order += [n for n in by_name if n not in order]
    out = []
    for name in order:
        spec = by_name[name]
        attachments = [
            a.model_copy(update={"name": DEFAULT_NETWORK}) if a.name == "default" else a
            for a in spec.config.network.networks
        ]
        network = spec.config.network.model_copy(update={"networks": attachments})
        update: dict[str, object] = {"network": network}
        if spec.image.startswith("localhost/") and spec.config.pull_policy == "always":
            update["pull_policy"] = "missing"  # podman never pulls localhost/ images: no registry has them
        spec = spec.model_copy(update={"config": spec.config.model_copy(update=update)})
        count = spec.config.replicas
        group = spec.config.group
        if count <= 1 or not group:
            out.append(spec)
            continue
        out.extend(_rename_group(spec, group, n) for n in range(1, count + 1))
    return out


def _owner(name: str, spec: DeploymentSpec) -> Owner:
    origin = spec.origin
    return Owner(
        kind="kube-play",
        project=name,
        service=spec.config.group or spec.name,
        namespace=origin.namespace if origin is not None else None,
        resource=f"{origin.kind}/{origin.name}" if origin is not None else None,
        labels={HASH: config_hash(spec), POD: spec.config.group or spec.name},
    )


def _current(engine: Engine, name: str) -> Deployment | None:
    try:
        return engine.store().get(name)
    except DeploymentError:
        return None


def play(
    engine: Engine, translation: Translation, name: str, *, replace: bool = False, say: Say = quiet
) -> PlayResult:
    """Run every object of the play; failures are in the result, named by container."""
    result = PlayResult()
    if replace:
        down(engine, name, say=say)
    for vol in translation.project.volumes.values():
        result.volumes.append(vol.name)
    ensure_volumes(engine, translation.project, say)
    specs = expand(translation)
    staged: list[tuple[Deployment, bool, bool]] = []
    for spec in specs:
        result.pods.setdefault(spec.config.group or spec.name, []).append(spec.name)
        owner = _owner(name, spec)
        current = _current(engine, spec.name)
        if current is not None and current.state.owner.labels.get(HASH) == owner.labels[HASH]:
            result.untouched.append(spec.name)
            continue
        ctr = engine.container(spec.name)
        was_running = ctr is not None and ctr.alive
        try:
            deployment = engine.deploy(spec, owner=owner, start=False)
        except BerthError as exc:
            result.failed[spec.name] = str(exc)
            continue
        (result.recreated if current is not None else result.created).append(spec.name)
        # a recreate is watched until it is up and rolled back if it does not come up; a first
        # version has nothing to roll back to and is done once started, as podman kube play's
        # (init containers and Jobs are still waited for: what comes after them needs them done)
        watch = current is not None or spec.config.role in ("job", "init")
        staged.append((deployment, was_running, watch))
    staged_names = {d.name for d, _, _ in staged}
    for spec in specs:
        if spec.name in result.failed:
            continue
        group = spec.config.group
        if group and any(result.failed.get(n) for n in result.pods.get(group, [])):
            result.failed.setdefault(spec.name, "another container of its pod failed")
            continue
        try:
            if spec.name in staged_names:
                deployment, was_running, watch = next(t for t in staged if t[0].name == spec.name)
                engine.activate(deployment, was_running=was_running, wait="up" if watch else "started")
            elif spec.config.role == "service":
                ctr = engine.container(spec.name)
                if ctr is None or not ctr.alive:
                    engine.start(spec.name)
        except (StartFailed, BerthError) as exc:
            result.failed[spec.name] = str(exc)
    return result


def down(engine: Engine, name: str, *, say: Say = quiet) -> list[str]:
    """Stop and remove every container of the play (volumes stay, as podman keeps them)."""
    removed = []
    found = engine.store().list(owner_kind="kube-play", project=name)
    for deployment in sorted(found, key=lambda d: d.name, reverse=True):
        with contextlib.suppress(DeploymentError):
            engine.remove(deployment.name)
            say("Container", deployment.name, "Removed")
            removed.append(deployment.name)
    return removed
