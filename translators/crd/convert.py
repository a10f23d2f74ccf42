"""ContainerDeployment resources to specs and back.

``berth translate --to crd`` writes resources that ``kubectl apply`` accepts, and the agent reads
resources back into the same :class:`DeploymentSpec` the CLI deploys: one spec, two front doors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from translators.crd import models
from translators.errors import Diagnostics
from translators.paths import ROOT, YamlPath
from translators.spec.deployment import DeploymentSpec
from translators.validation import bind


@dataclass(frozen=True)
class TargetedSpec:
    """A spec read from a resource, with where it should run."""

    spec: DeploymentSpec
    namespace: str | None = None
    node_name: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    generation: int | None = None


def from_resource(data: Any, diag: Diagnostics, at: YamlPath = ROOT) -> TargetedSpec | None:
    """Validate one ContainerDeployment; the spec is named after metadata.name unless it names itself."""
    resource = bind(models.ContainerDeployment, data, diag, at)
    if resource is None:
        return None
    body = resource.spec.model_dump(exclude={"nodeName", "nodeSelector", "name"})
    body["name"] = resource.spec.name or resource.metadata.name
    spec = bind(DeploymentSpec, body, diag, at / "spec")
    if spec is None:
        return None
    generation = data.get("metadata", {}).get("generation") if isinstance(data, dict) else None
    return TargetedSpec(
        spec=spec,
        namespace=resource.metadata.namespace,
        node_name=resource.spec.nodeName,
        node_selector=dict(resource.spec.nodeSelector),
        generation=generation if isinstance(generation, int) else None,
    )


def to_resource(
    spec: DeploymentSpec,
    *,
    namespace: str | None = None,
    node_name: str | None = None,
    node_selector: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A manifest ready for ``kubectl apply``: the canonical spec, named by metadata.name."""
    body = spec.model_dump(mode="json", exclude={"name"}, exclude_defaults=True)
    body.setdefault("image", spec.image)
    if node_name:
        body["nodeName"] = node_name
    if node_selector:
        body["nodeSelector"] = dict(node_selector)
    metadata: dict[str, Any] = {"name": _dns_name(spec.name)}
    if metadata["name"] != spec.name:
        body["name"] = spec.name
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": models.API_VERSION, "kind": models.KIND, "metadata": metadata, "spec": body}


def _dns_name(name: str) -> str:
    """Kubernetes object names are lowercase RFC 1123 subdomains."""
    out = "".join(c if c.isalnum() or c in "-." else "-" for c in name.lower()).strip("-.")
    return out[:253] or "berth"
