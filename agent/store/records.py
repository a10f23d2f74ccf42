"""Typed views the store hands out: the runtime, the CLI and the Kubernetes side never read raw
dicts of the store's files.

:class:`Deployment` is what ``Store.get(name)`` returns: one version of a deployment with its
validated spec, its state, the image config it was deployed with and where its files are. The spec
is validated when first read (``record.spec``), from the config.json bytes read with the record:
``berth container list`` shows fifty deployments without building or running a spec validator.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from agent.oci.imageconfig import ImageConfig

if TYPE_CHECKING:
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

    def to_json(self) -> dict[str, Any]:
        """The form kept in state.json: only the fields that are set, besides ``kind``."""
        out: dict[str, Any] = {"kind": self.kind}
        for key in ("project", "service", "namespace", "resource", "uid"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.labels:
            out["labels"] = dict(self.labels)
        return out

    @classmethod
    def from_json(cls, data: Any) -> Owner:
        """state.json's owner; a version written before owners were recorded was the CLI's."""
        if not isinstance(data, dict):
            return cls()
        kind = data.get("kind", "cli")
        if kind not in get_args(OwnerKind):
            raise ValueError(
                f"unknown owner kind {kind!r} (expected one of {', '.join(get_args(OwnerKind))})"
            )

        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value is not None else None

        labels = data.get("labels")
        return cls(
            kind=kind,
            project=text("project"),
            service=text("service"),
            namespace=text("namespace"),
            resource=text("resource"),
            uid=text("uid"),
            labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
        )


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
    image_record: str = ""
    """Where the image store keeps the image (``oci:/x/web:1`` -> ``localhost/web:1``); "" for
    versions deployed before it was recorded (then ``image`` names it)."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeploymentState:
        """Parse state.json; a missing or mistyped field raises KeyError/ValueError/TypeError,
        which the store turns into an error naming the file."""
        rollback = data.get("rollback")
        return cls(
            name=str(data["name"]),
            serial=int(data["serial"]),
            image=str(data["image"]),
            image_digest=str(data["image_digest"]),
            config_digest=str(data["config_digest"]),
            layers=tuple(str(d) for d in data.get("layers", [])),
            chain=str(data["chain"]),
            rollback=int(rollback) if rollback is not None else None,
            created=float(data.get("created", 0)),
            owner=Owner.from_json(data.get("owner")),
            image_record=str(data.get("image_record") or ""),
        )


@dataclass(frozen=True)
class Deployment:
    """One version of a deployment, everything typed."""

    name: str
    serial: int
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
    load_spec: Callable[[], DeploymentSpec] = field(repr=False, compare=False)
    """Validates this version's spec (its config.json as read with the record); see :attr:`spec`."""
    spec_data: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """config.json as read, not validated: for readers that show a few fields (``compose ps``)
    and must not pay for a validator; anything that acts on the spec uses :attr:`spec`."""

    @functools.cached_property
    def spec(self) -> DeploymentSpec:
        """The validated spec, built on first use (InvalidSpec naming config.json if it is not
        valid) and kept."""
        return self.load_spec()

    @property
    def rollback(self) -> int | None:
        return self.state.rollback
