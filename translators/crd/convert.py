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
from translators.spec.deployment import DeploymentSpec, namespaced
from translators.validation import bind


@dataclass(frozen=True)
class TargetedSpec:
    """A spec read from a resource, with where it should run."""

    spec: DeploymentSpec
    namespace: str | None = None
    node_name: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    generation: int | None = None
    image_pull_secrets: tuple[str, ...] = ()
    """Names of pull secrets in ``namespace`` (the agent reads them; never part of the spec)."""


def from_resource(data: Any, diag: Diagnostics, at: YamlPath = ROOT) -> TargetedSpec | None:
    """Validate one ContainerDeployment; the spec is named after metadata.name unless it names itself.

    Outside the ``default`` namespace the name is ``<namespace>.<name>``: one name in two namespaces
    is two deployments on a node. ``origin`` records the resource (kind, namespace, name, uid).
    """
    resource = bind(models.ContainerDeployment, data, diag, at)
    if resource is None:
        return None
    meta = resource.metadata
    body = resource.spec.model_dump(
        exclude={
            "nodeName",
            "nodeSelector",
            "name",
            "paused",
            "runState",
            "restartGeneration",
            "imagePullSecrets",
        }
    )
    body["name"] = namespaced(meta.namespace, resource.spec.name or meta.name)
    _namespace_references(body["config"], meta.namespace)
    uid = (meta.model_extra or {}).get("uid")
    body["origin"] = {
        "kind": models.KIND,
        "namespace": meta.namespace,
        "name": meta.name,
        "uid": uid if isinstance(uid, str) and uid else None,
    }
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
        image_pull_secrets=tuple(secret.name for secret in resource.spec.imagePullSecrets),
    )


def _namespace_references(config: dict[str, Any], namespace: str | None, *, strip: bool = False) -> None:
    """Names of other deployments (depends_on, group, network container:X) are of the same namespace:
    prefixed when read from a resource, the prefix stripped (``strip``) when written back."""

    def name(value: str) -> str:
        if not strip:
            return namespaced(namespace, value)
        prefix = f"{namespace}."
        return value[len(prefix) :] if namespace and value.startswith(prefix) else value

    for dependency in config.get("depends_on") or []:
        dependency["name"] = name(dependency["name"])
    if config.get("group"):
        config["group"] = name(config["group"])
    network = config.get("network") or {}
    mode = network.get("mode") or ""
    if mode.startswith("container:"):
        network["mode"] = "container:" + name(mode[len("container:") :])


def to_resource(
    spec: DeploymentSpec,
    *,
    namespace: str | None = None,
    node_name: str | None = None,
    node_selector: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A manifest ready for ``kubectl apply``: the canonical spec, named by metadata.name.

    A spec translated from a namespaced object goes back to that namespace under its own name
    (``shop.web-app`` -> ``web-app`` in ``shop``), unless ``namespace`` says otherwise.
    """
    body = spec.model_dump(mode="json", exclude={"name", "origin"}, exclude_defaults=True)
    body.setdefault("image", spec.image)
    if node_name:
        body["nodeName"] = node_name
    if node_selector:
        body["nodeSelector"] = dict(node_selector)
    name = spec.name
    origin = spec.origin
    own = origin.namespace if origin is not None else None
    if own and name.startswith(f"{own}.") and namespace in (None, own):
        namespace = own
        name = name[len(own) + 1 :]
        _namespace_references(body.get("config") or {}, namespace, strip=True)
    metadata: dict[str, Any] = {"name": _dns_name(name)}
    if metadata["name"] != name:
        body["name"] = name
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    return {"apiVersion": models.API_VERSION, "kind": models.KIND, "metadata": metadata, "spec": body}


def _dns_name(name: str) -> str:
    """Kubernetes object names are lowercase RFC 1123 subdomains."""
    out = "".join(c if c.isalnum() or c in "-." else "-" for c in name.lower()).strip("-.")
    return out[:253] or "berth"
