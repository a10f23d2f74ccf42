"""The ``ContainerDeployment`` custom resource (``berth.io/v1alpha1``).

Its ``spec`` is the native deployment spec plus node targeting; its ``status`` follows the
Kubernetes API conventions (conditions with observedGeneration) and has one entry per node the
agent runs on, since the agent is a DaemonSet and each node reports for itself.
"""

from typing import Literal

from pydantic import Field, model_validator

from translators.spec.base import SpecModel, empty_dict, empty_list
from translators.spec.deployment import NAME_PATTERN, DeploymentSpec

GROUP = "berth.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
KIND = "ContainerDeployment"
PLURAL = "containerdeployments"


class LocalObjectReference(SpecModel):
    """An object of the resource's own namespace, by name (Kubernetes' LocalObjectReference)."""

    name: str = Field(min_length=1, max_length=253)
    """Name of the object."""


class ContainerDeploymentSpec(DeploymentSpec):
    """The deployment spec, applied by the Berth agent on the nodes it targets."""

    name: str | None = Field(default=None, pattern=NAME_PATTERN)  # type: ignore[assignment]
    """Deployment name on the node; null: the resource's metadata.name."""
    nodeName: str | None = None
    """Run only on this node."""
    nodeSelector: dict[str, str] = Field(default_factory=empty_dict)
    """Run only on nodes whose labels match all of these."""
    paused: bool = False
    """True: the agents leave the deployment as it is (no deploy, no rollback, no removal)."""
    runState: Literal["Running", "Stopped"] = "Running"
    """Running: the container runs (per its restart policy); Stopped: it is stopped and kept."""
    restartGeneration: int = Field(default=0, ge=0)
    """Bumping it restarts the container once on every node."""
    imagePullSecrets: list[LocalObjectReference] = Field(default_factory=empty_list)
    """Pull secrets of this namespace (dockerconfigjson or dockercfg): used for the image pull only."""

    @model_validator(mode="after")
    def _no_origin(self) -> "ContainerDeploymentSpec":
        if self.origin is not None:
            raise ValueError("origin is set from the resource's metadata: remove spec.origin")
        return self


class Condition(SpecModel):
    """A Kubernetes-style condition (type Ready, Progressing, Degraded, Disconnected)."""

    type: str
    """Condition type: Ready, Progressing, Degraded (per node also Disconnected)."""
    status: Literal["True", "False", "Unknown"]
    """True, False or Unknown."""
    reason: str = ""
    """One CamelCase word for machines."""
    message: str = ""
    """A sentence for humans."""
    lastTransitionTime: str | None = None
    """When status last changed (RFC 3339)."""
    observedGeneration: int | None = None
    """metadata.generation the condition was computed for."""


class NodeStatus(SpecModel):
    """What one node's agent reports (each node writes only its own entry)."""

    nodeName: str
    """The reporting node."""
    phase: Literal["Pending", "Pulling", "Deploying", "Running", "Failed", "Stopped"] = "Pending"
    """Where the node is with this deployment."""
    imageDigest: str | None = None
    """Manifest digest of the image deployed."""
    generation: int | None = None
    """metadata.generation of the spec deployed on this node."""
    state: str | None = None
    """The container's state: created, running, paused, restarting, exited, stopped."""
    health: str | None = None
    """healthy, unhealthy or starting; null: no health check."""
    ready: bool = False
    """The container runs and its health and readiness checks pass."""
    restarts: int = 0
    """Restarts since the last deploy."""
    rollbackAvailable: bool = False
    """A previous version is kept on the node (annotation berth.io/rollback switches to it)."""
    message: str = ""
    """Details, such as the last error."""
    conditions: list[Condition] = Field(default_factory=empty_list)
    """Ready, Progressing, Degraded and Disconnected (reason Reconnected: the node's last outage)."""
    lastDisconnectedSeconds: int | None = None
    """Seconds the node was last cut off from the API server (null: not since the resource exists)."""
    lastUpdateTime: str | None = None
    """When this entry was written (RFC 3339)."""


class ContainerDeploymentStatus(SpecModel):
    """Observed state, written by the agents through the status subresource."""

    observedGeneration: int | None = None
    """The latest metadata.generation any agent acted on."""
    conditions: list[Condition] = Field(default_factory=empty_list)
    """Summary conditions over all targeted nodes."""
    nodes: list[NodeStatus] = Field(default_factory=empty_list)
    """One entry per node that runs this deployment."""
    readyNodes: str | None = None
    """Nodes ready / nodes reporting, such as 2/3."""


class ObjectMeta(SpecModel):
    """The part of metadata Berth reads; the API server owns the rest."""

    model_config = SpecModel.model_config | {"extra": "allow"}

    name: str = Field(pattern=NAME_PATTERN)
    """Resource name."""
    namespace: str | None = None
    """Namespace."""
    labels: dict[str, str] = Field(default_factory=empty_dict)
    """Labels."""
    annotations: dict[str, str] = Field(default_factory=empty_dict)
    """Annotations."""


class ContainerDeployment(SpecModel):
    """A container deployment for Berth agents on immutable hosts."""

    apiVersion: Literal["berth.io/v1alpha1"] = "berth.io/v1alpha1"
    """berth.io/v1alpha1."""
    kind: Literal["ContainerDeployment"] = "ContainerDeployment"
    """ContainerDeployment."""
    metadata: ObjectMeta
    """Standard object metadata."""
    spec: ContainerDeploymentSpec
    """Desired state."""
    status: ContainerDeploymentStatus | None = None
    """Observed state."""
