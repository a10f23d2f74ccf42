"""``compose down``: containers (dependents first), then networks, then, with ``-v``, volumes,
and with ``--rmi`` images (:mod:`agent.compose.imageremoving`).

Works from the store alone when the compose file is gone: deployments and networks carry the
project's label; with the file, its declared networks and volumes are removed too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from agent.compose import imageremoving
from agent.compose.projects import ComposeProject
from agent.compose.upping import Say, levels, parallel, project_deployments, quiet
from agent.network.networks import Networks
from agent.runtime.engine import Engine
from agent.store import deploying
from agent.store.deployments import DeploymentError
from agent.store.records import Deployment


@dataclass
class DownResult:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    images: dict[str, str] = field(default_factory=dict)
    """With ``rmi``: each image's fate (``removed``, ``in use``, ``missing``)."""


def down(
    engine: Engine,
    name: str,
    project: ComposeProject | None,
    *,
    volumes: bool = False,
    remove_orphans: bool = False,
    timeout: float | None = None,
    rmi: str | None = None,
    say: Say = quiet,
) -> DownResult:
    result = DownResult()
    deployments = project_deployments(engine, name)
    order = list(project.services) if project is not None else []
    rank = {svc: i for i, level in enumerate(levels(project, order)) for svc in level} if project else {}
    known = set(order) if project is not None else None
    doomed = []
    for d in deployments:
        service = d.state.owner.service or ""
        if known is not None and service not in known:
            result.orphans.append(d.name)
            if not remove_orphans:
                continue
        doomed.append(d)
    images = imageremoving.wanted(name, project, doomed, rmi) if rmi else {}
    by_level: dict[int, list[Deployment]] = {}
    for d in doomed:
        by_level.setdefault(rank.get(d.state.owner.service or "", -1), []).append(d)

    def take_down(d: Deployment) -> None:
        ctr = engine.container(d.name)
        if ctr is not None and ctr.alive:
            say("Container", d.name, "Stopping")
            engine.stop(d.name, timeout=timeout)
            say("Container", d.name, "Stopped")
        say("Container", d.name, "Removing")
        with contextlib.suppress(DeploymentError):  # removed meanwhile
            engine.remove(d.name)
        say("Container", d.name, "Removed")
        result.containers.append(d.name)

    for level in sorted(by_level, reverse=True):  # dependents first, as docker compose stops them
        parallel(take_down, by_level[level])
    networks = Networks(engine.root)
    wanted = {n.name for n in project.project.networks.values() if not n.external} if project else set()
    wanted |= {n.name for n in networks.list() if n.labels.get("com.docker.compose.project") == name}
    for net in sorted(wanted):
        if not networks.exists(net) or engine.attacher.users(net):
            continue
        say("Network", net, "Removing")
        networks.remove(net)
        say("Network", net, "Removed")
        result.networks.append(net)
    if volumes:
        store = deploying.Store.open(engine.root)
        have = store.volumes.list()
        names = {v.name for v in project.project.volumes.values() if not v.external} if project else set()
        names |= {v for v in have for d in result.containers if v.startswith(f"{d}-anon-")}
        for vol in sorted(names & set(have)):
            say("Volume", vol, "Removing")
            deploying.remove_volume(engine.root, vol)
            say("Volume", vol, "Removed")
            result.volumes.append(vol)
    result.images = imageremoving.remove(engine.root, images, say)
    return result
