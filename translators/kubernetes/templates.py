"""What every workload kind boils down to: a pod template, and what its containers may ask about it.

Deployments, StatefulSets, Jobs and the rest differ in how many pods they run and when; the pod
template inside them is the same type. Workload handlers produce a :class:`PodTemplate`; the pod,
container, env, volume and probe modules only ever see that and a :class:`PodContext`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from translators.kubernetes.objects import Obj, Store
from translators.kubernetes.reporting import ObjectDiagnostics
from translators.paths import YamlPath

Role = Literal["service", "job"]
Restart = Literal["Always", "OnFailure", "Never"]


@dataclass
class PodTemplate:
    """A pod to run, as a workload describes it."""

    name: str
    """Pod name: the workload's name (a Pod's own name); prefix of every spec name and the group."""
    spec: dict[str, Any]
    """The raw pod spec."""
    at: YamlPath
    """Path of the pod spec in the object (``spec.template.spec``)."""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    replicas: int = 1
    role: Role = "service"
    """service: kept running; job: runs to completion (Job, CronJob)."""
    restart_policies: tuple[Restart, ...] = ("Always",)
    """restartPolicy values the kind allows; the first is the default."""
    max_retries: int | None = None
    """Job ``backoffLimit``, applied to on-failure restarts."""
    claim_templates: dict[str, str] = field(default_factory=dict)
    """StatefulSet ``volumeClaimTemplates``: template name to the volume name used."""
    claim_sizes: dict[str, int | None] = field(default_factory=dict)
    """Storage requested by each claim template, by volume name."""
    hostname: str | None = None
    """The pod's host name when the kind fixes it (StatefulSet: ``<set>-0``); else the pod name."""
    subdomain: str | None = None
    """The pod's subdomain when the kind fixes it (StatefulSet: its ``serviceName``)."""


@dataclass
class PodContext:
    """What a container of a pod may refer to: the pod's metadata, the input's objects, its volumes."""

    obj: Obj
    template: PodTemplate
    store: Store
    namespace: str
    service_account: str = "default"
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Raw ``resources`` of every container by name, for ``resourceFieldRef``."""

    @property
    def diag(self) -> ObjectDiagnostics:
        return self.obj.diag
