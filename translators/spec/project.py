"""The project around a set of specs: shared networks, named volumes and start order.

Compose files and Kubernetes manifests describe several containers at once; what they share
(networks, volumes, the order in which to start them) lives here rather than in each spec.
"""

from typing import Any

from pydantic import Field

from translators.spec.base import SpecModel, empty_dict, empty_list
from translators.spec.deployment import NAME_PATTERN
from translators.spec.units import parse_memory


class NetworkDef(SpecModel):
    """A network the project uses."""

    name: str
    """Name on the host (compose: <project>_<key> unless named)."""
    driver: str = "bridge"
    """Driver; Berth implements bridge through CNI."""
    external: bool = False
    """Created outside the project: used, never created or removed."""
    internal: bool = False
    """No route to the outside."""
    subnets: list[str] = Field(default_factory=empty_list)
    """IPAM subnets in CIDR form."""
    labels: dict[str, str] = Field(default_factory=empty_dict)
    """Labels."""
    driver_opts: dict[str, str] = Field(default_factory=empty_dict)
    """Driver options (such as com.docker.network.driver.mtu)."""


class VolumeDef(SpecModel):
    """A named volume the project uses."""

    name: str
    """Name on the host (compose: <project>_<key> unless named; Kubernetes: the claim's name)."""
    driver: str = "local"
    """Driver; Berth implements local directories."""
    external: bool = False
    """Created outside the project: used, never created or removed."""
    size: int | None = None
    """Requested size in bytes (Kubernetes PVC storage request); informational."""
    labels: dict[str, str] = Field(default_factory=empty_dict)
    """Labels."""
    driver_opts: dict[str, str] = Field(default_factory=empty_dict)
    """Driver options."""

    def model_post_init(self, context: Any, /) -> None:
        if isinstance(self.size, str):  # pragma: no cover - validated as int
            self.size = parse_memory(self.size)


class Project(SpecModel):
    """Everything several specs share."""

    name: str = Field(pattern=NAME_PATTERN)
    """Project name (compose project, or the Kubernetes namespace)."""
    networks: dict[str, NetworkDef] = Field(default_factory=empty_dict)
    """Networks by the key services use."""
    volumes: dict[str, VolumeDef] = Field(default_factory=empty_dict)
    """Named volumes by the key services use."""
    order: list[str] = Field(default_factory=empty_list)
    """Spec names in an order that respects depends_on (dependencies first)."""
    not_applied: list[str] = Field(default_factory=empty_list)
    """Objects of the input that Berth read but does not apply (kind/name)."""
