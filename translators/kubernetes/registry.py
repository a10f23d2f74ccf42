"""Which (apiVersion, kind) pairs Berth applies, in which order, and why the others are not applied.

Objects are handled in rank order, as lightkube's ``RANK_ORDER`` sorts them: ConfigMaps, Secrets
and claims first (workloads refer to them), then workloads, then Services (they decorate the
workloads' specs). A kind Berth knows under another apiVersion, a kind it does not apply and an
unknown custom resource are all listed in ``Project.not_applied`` with a warning, never an error.
"""

from __future__ import annotations

from typing import NamedTuple

from translators.kubernetes import workloads
from translators.kubernetes.versions import DEPRECATED


class Kind(NamedTuple):
    """How one (apiVersion, kind) is handled."""

    rank: int
    category: str
    """reference (ConfigMap, Secret, claim), workload, or service."""
    handler: workloads.Handler | None = None


REFERENCES = {
    ("v1", "ConfigMap"): Kind(10, "reference"),
    ("v1", "Secret"): Kind(11, "reference"),
    ("v1", "PersistentVolumeClaim"): Kind(20, "reference"),
}
WORKLOADS = {
    ("v1", "Pod"): Kind(50, "workload", workloads.pod),
    ("apps/v1", "Deployment"): Kind(50, "workload", workloads.deployment),
    ("apps/v1", "StatefulSet"): Kind(50, "workload", workloads.stateful_set),
    ("apps/v1", "DaemonSet"): Kind(50, "workload", workloads.daemon_set),
    ("apps/v1", "ReplicaSet"): Kind(50, "workload", workloads.deployment),
    ("v1", "ReplicationController"): Kind(50, "workload", workloads.replication_controller),
    ("batch/v1", "Job"): Kind(50, "workload", workloads.job),
    ("batch/v1", "CronJob"): Kind(50, "workload", workloads.cron_job),
}
WORKLOADS.update({key: WORKLOADS[(old.replacement, key[1])] for key, old in DEPRECATED.items()})


SERVICES = {("v1", "Service"): Kind(60, "service")}
REGISTRY: dict[tuple[str, str], Kind] = {**REFERENCES, **WORKLOADS, **SERVICES}

NOT_APPLIED = {
    "Ingress": "there is no ingress controller: publish ports with a NodePort or LoadBalancer Service",
    "IngressClass": "there is no ingress controller",
    "NetworkPolicy": "containers of the project network reach each other freely",
    "HorizontalPodAutoscaler": "replicas are fixed",
    "PodDisruptionBudget": "there is one node and no evictions",
    "Namespace": "the project is named after the namespace; nothing is created for it",
    "StorageClass": "volumes are local directories",
    "PersistentVolume": "claims become local volumes; PersistentVolumes are not bound",
    "ServiceAccount": "there is no API server",
    "Role": "there is no API server",
    "RoleBinding": "there is no API server",
    "ClusterRole": "there is no API server",
    "ClusterRoleBinding": "there is no API server",
    "ContainerDeployment": "a Berth custom resource: apply it with the agent, not the Kubernetes translator",
}


def lookup(api_version: str, kind: str) -> Kind | None:
    return REGISTRY.get((api_version, kind))


def reason_not_applied(api_version: str, kind: str) -> str:
    """Why an object is not applied, with advice when the kind is known under another apiVersion."""
    known = sorted(v for v, k in REGISTRY if k == kind and (v, k) not in DEPRECATED)
    if known:
        return f"apiVersion {api_version!r} of {kind} is not supported: use {' or '.join(known)}"
    if kind in NOT_APPLIED:
        return f"{kind} is not applied: {NOT_APPLIED[kind]}"
    return f"{kind} ({api_version}) is not a kind Berth applies"
