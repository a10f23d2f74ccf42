"""Named networks for the agent's deployments: made when a resource needs one, gone when unused.

``berth compose up`` creates a project's networks from its ``networks:`` section before the
services; a ContainerDeployment (``berth translate --to crd`` of a compose file) carries only the
names its service attaches to (``<project>_default``, ...). The agent therefore creates a missing
network on first use as a plain bridge network (subnet from the host's free ranges), labelled as
the agent's, and removes it once no deployment in the store names it and no container is
attached. Networks made by the CLI, or by an administrator (``berth network create`` with a subnet
of their choosing, before the resource is applied), are used as they are and never removed.
"""

from __future__ import annotations

import threading

from agent.network.networks import DEFAULT_NETWORK
from agent.runtime.engine import Engine
from translators.spec import DeploymentSpec

OWNER_LABEL = "io.berth.owner"
OWNER = "agent"
_LOCK = threading.Lock()
"""Reconciles run on several workers: one network is created once."""


def named(spec: DeploymentSpec) -> list[str]:
    """The named networks ``spec`` attaches to (the default network is the runtime's own)."""
    network = spec.config.network
    if network.mode != "bridge":
        return []
    return [n.name for n in network.networks if n.name != DEFAULT_NETWORK]


def ensure(engine: Engine, spec: DeploymentSpec) -> list[str]:
    """Create the networks ``spec`` names that the node lacks; the names created."""
    networks = engine.attacher.networks
    created = []
    with _LOCK:
        for name in named(spec):
            if not networks.exists(name):
                networks.create(name, labels={OWNER_LABEL: OWNER}, exist_ok=True)
                created.append(name)
    return created


def remove_unused(engine: Engine, candidates: list[str]) -> list[str]:
    """Remove those of ``candidates`` (the networks a removed deployment named) that are the
    agent's and that no stored deployment names and no container uses. Only then is the store
    listed: removing deployments without named networks costs nothing here."""
    networks = engine.attacher.networks
    removed: list[str] = []
    mine = [
        name
        for name in candidates
        if networks.exists(name) and networks.get(name).labels.get(OWNER_LABEL) == OWNER
    ]
    if not mine:
        return removed
    with _LOCK:
        wanted = {name for deployment in engine.store().list() for name in named(deployment.spec)}
        for network in [networks.get(name) for name in mine if networks.exists(name)]:
            if network.name in wanted:
                continue
            if engine.attacher.users(network.name):
                continue
            networks.remove(network.name)
            removed.append(network.name)
    return removed
