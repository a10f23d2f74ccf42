"""Typed views the store hands out: the runtime, the CLI and the Kubernetes side never read raw
dicts of the store's files.

:class:`Deployment` is what ``Store.get(name)`` returns: one version of a deployment with its
validated spec, its state, the image config it was deployed with and where its files are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agent.oci.imageconfig import ImageConfig
from translators.spec import DeploymentSpec

OwnerKind = Literal["cli", "compose", "kube-play", "agent"]


@dataclass(frozen=True)
class Owner:
    """Who made a deployment, so that each tool finds its own and leaves the others' alone."""

    kind: OwnerKind = "cli"
    project: str | None = None
    """compose: the project name; kube-play: the play's name (its file)."""
    service: str | None = None
    """compose: the service; kube-play: the pod or workload and container."""
    namespace: str | None = None
    """agent: the ContainerDeployment's namespace."""
    resource: str | None = None
    """agent: the ContainerDeployment's name."""
    uid: str | None = None
    """agent: the ContainerDeployment's metadata.uid."""
    labels: dict[str, str] = field(default_factory=dict)
    """compose: com.docker.compose.* labels, as docker compose sets them."""


@dataclass(frozen=True)
class DeploymentState:
    """state.json of one version."""

    name: str
    serial: int
    image: str
    """The reference as deployed (the spec's image)."""
    image_digest: str
    """Manifest digest."""
    config_digest: str
    layers: tuple[str, ...]
    chain: str
    rollback: int | None
    """The version to roll back to; None: none kept."""
    created: float
    """Unix time of the deploy."""
    owner: Owner = field(default_factory=Owner)


@dataclass(frozen=True)
class Deployment:
    """One version of a deployment, everything typed."""

    name: str
    serial: int
    spec: DeploymentSpec
    state: DeploymentState
    image_config: ImageConfig
    path: Path
    """The version directory."""
    rootfs: Path
    """The shared merged tree (resolved): mount it only as an overlay lower layer."""
    upper: Path
    """This version's writable layer (``containers/<name>/<serial>/upper``); created on start."""
    work: Path
    """overlayfs work directory beside ``upper``."""
    versions: tuple[int, ...]
    """Serials kept on disk (current and rollback), ascending."""

    @property
    def rollback(self) -> int | None:
        return self.state.rollback
