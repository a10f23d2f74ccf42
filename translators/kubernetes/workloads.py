"""Workload kinds -> the pod template they run, how many copies, and how they restart.

- Pod: itself, restartPolicy Always (default), OnFailure or Never.
- Deployment, ReplicaSet, ReplicationController, StatefulSet: ``spec.replicas`` copies (default 1)
  of ``spec.template``, restartPolicy Always only. The selector must match the template's labels,
  as the API server checks. A StatefulSet's pods are named as its first pod: host name
  ``<set>-0`` (``<set>-<ordinals.start>``) in the subdomain ``serviceName``; its
  ``volumeClaimTemplates`` become the named volumes ``<template>-<set>-0``, the first replica's claims (one volume for every replica: reported).
- DaemonSet: one copy (Berth runs one node).
- Job: its template run to completion (role ``job``); restartPolicy OnFailure or Never is required.
  Failed pods are retried ``backoffLimit`` times (default 6): both policies become ``on-failure``
  with that many retries. ``completions``/``parallelism`` other than 1 are reported.
- CronJob: its job template, run once when deployed; the schedule is reported as not applied.
- Older apiVersions (:mod:`.versions`) use the handler of their replacement; before apps/v1beta2
  a missing selector selects the template's labels, as those versions defaulted it.
- A suspended Job or CronJob (``suspend: true``) starts no pod in Kubernetes: it gets no spec and
  is listed in ``Project.not_applied``. ``activeDeadlineSeconds`` is reported: nothing stops a job.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from translators.kubernetes import reporting, versions
from translators.kubernetes.objects import Obj, quantity_bytes
from translators.kubernetes.templates import PodTemplate
from translators.paths import YamlPath

SPEC = YamlPath.of("spec")
_ROLLOUT = "rollouts are the agent's: specs are replaced as a whole"
_NO_SCHEDULER = "Berth has no scheduler: the job runs once when deployed"
_INDEXED = "indexed completions are not supported: a job runs one pod once"
# Keys with an empty reason are ignored without a warning: each has no effect on what runs on one
# node (the comment says why). Every other key is reported at its path.
_CONTROLLER_IGNORED = {
    "strategy": _ROLLOUT,
    "updateStrategy": _ROLLOUT,
    "minReadySeconds": _ROLLOUT,
    "revisionHistoryLimit": "",  # how many old ReplicaSets are kept for rollbacks: no pod runs from them
    "progressDeadlineSeconds": _ROLLOUT,
    "paused": "a paused Deployment starts no pods in Kubernetes; Berth deploys them",
    "persistentVolumeClaimRetentionPolicy": "the claims' volumes are kept when the set is removed",
    "rollbackTo": "rollbacks are the agent's: use berth container rollback",  # extensions/v1beta1
    "templateGeneration": "",  # extensions/v1beta1 DaemonSet: the controller's own counter, nothing runs from it
}
_JOB_IGNORED = {
    "ttlSecondsAfterFinished": "a finished job is not deleted after a delay",
    "manualSelector": "",  # only lets the selector be written by hand; it selects nothing else here
    "podFailurePolicy": "every failure is retried up to backoffLimit, whatever the exit code",
    "backoffLimitPerIndex": _INDEXED,
    "maxFailedIndexes": _INDEXED,
    "successPolicy": _INDEXED,
    "podReplacementPolicy": "a failed pod's container is restarted in place",
    "managedBy": "Berth runs the job itself, not the controller named here",
}
_CRON_IGNORED = {
    "concurrencyPolicy": _NO_SCHEDULER,
    "successfulJobsHistoryLimit": _NO_SCHEDULER,
    "failedJobsHistoryLimit": _NO_SCHEDULER,
    "startingDeadlineSeconds": _NO_SCHEDULER,
    "timeZone": _NO_SCHEDULER,
}
_JOB_BACKOFF = 6


def _labels(raw: object, at: YamlPath, obj: Obj) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in reporting.mapping(raw, at, obj.diag).items():
        text = reporting.string(value, at.child(key), obj.diag)
        if text is not None:
            out[key] = text
    return out


def _template(obj: Obj, at: YamlPath) -> PodTemplate | None:
    """A ``template`` (metadata + spec) at ``at``."""
    diag = obj.diag
    raw = _at(obj.data, at)
    if raw is None:
        diag.error(at, "required key is missing")
        return None
    template = reporting.mapping(raw, at, diag)
    reporting.check_keys(template, at, diag, {"metadata", "spec"})
    meta = reporting.mapping(template.get("metadata"), at / "metadata", diag)
    reporting.check_keys(
        meta,
        at / "metadata",
        diag,
        {"labels", "annotations"},
        # the controller names its pods and puts them in its own namespace: these are not used
        {"name": "", "creationTimestamp": "", "namespace": "", "generateName": ""},
    )
    spec = reporting.mapping(template.get("spec"), at / "spec", diag)
    return PodTemplate(
        name=obj.name,
        spec=spec,
        at=at / "spec",
        labels=_labels(meta.get("labels"), at / "metadata" / "labels", obj),
        annotations=_labels(meta.get("annotations"), at / "metadata" / "annotations", obj),
    )


def _at(data: dict[str, Any], at: YamlPath) -> Any:
    value: Any = data
    for part in at:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _selector(obj: Obj, spec: dict[str, Any], template: PodTemplate, *, plain: bool) -> None:
    """The selector must select the template's own labels, as the API server requires."""
    if "selector" not in spec:
        if not plain and not versions.selector_defaults(obj.api_version, obj.kind):
            obj.diag.warn(
                SPEC / "selector",
                "missing, which the API server refuses since apps/v1: the pod template's labels are selected",
                code="notice",
            )
        return
    at = SPEC / "selector"
    selector = reporting.mapping(spec["selector"], at, obj.diag)
    if plain:
        wanted = selector
    else:
        reporting.check_keys(
            selector,
            at,
            obj.diag,
            {"matchLabels"},
            {"matchExpressions": "not checked against the template's labels"},
        )
        wanted = reporting.mapping(selector.get("matchLabels"), at / "matchLabels", obj.diag)
    for key, value in wanted.items():
        if template.labels.get(key) != value:
            obj.diag.error(at, f"selects {key}={value}, which the pod template's labels do not have")


def pod(obj: Obj) -> PodTemplate | None:
    diag = obj.diag
    reporting.check_keys(
        obj.data, YamlPath(), diag, {"apiVersion", "kind", "metadata", "spec"}, {"status": ""}
    )
    meta_at = YamlPath.of("metadata")
    meta = reporting.mapping(obj.data.get("metadata"), meta_at, diag)
    if "spec" not in obj.data:
        diag.error(SPEC, "required key is missing")
        return None
    return PodTemplate(
        name=obj.name,
        spec=reporting.mapping(obj.data.get("spec"), SPEC, diag),
        at=SPEC,
        labels=_labels(meta.get("labels"), meta_at / "labels", obj),
        annotations=_labels(meta.get("annotations"), meta_at / "annotations", obj),
        restart_policies=("Always", "OnFailure", "Never"),
    )


def _controller(
    obj: Obj, *, replicas: bool, plain_selector: bool = False, claims: bool = False
) -> PodTemplate | None:
    diag = obj.diag
    reporting.check_keys(
        obj.data, YamlPath(), diag, {"apiVersion", "kind", "metadata", "spec"}, {"status": ""}
    )
    spec = reporting.mapping(obj.data.get("spec"), SPEC, diag)
    handled = {"template", "selector"} | ({"replicas"} if replicas else set())
    handled |= {"volumeClaimTemplates", "serviceName", "ordinals", "podManagementPolicy"} if claims else set()
    reporting.check_keys(spec, SPEC, diag, handled, _CONTROLLER_IGNORED)
    template = _template(obj, SPEC / "template")
    if template is None:
        return None
    _selector(obj, spec, template, plain=plain_selector)
    if replicas and "replicas" in spec:
        count = reporting.integer(spec["replicas"], SPEC / "replicas", diag, minimum=0)
        template.replicas = 1 if count is None else count
    if claims:
        policy = reporting.string(spec.get("podManagementPolicy"), SPEC / "podManagementPolicy", diag)
        if policy not in (None, "Parallel"):  # Parallel is what Berth does
            diag.unsupported(
                SPEC / "podManagementPolicy",
                "replicas are not started one after another: they all start at once",
            )
        first = _first_ordinal(obj, spec)
        template.hostname = f"{obj.name}-{first}"
        template.subdomain = reporting.string(spec.get("serviceName"), SPEC / "serviceName", diag) or None
        for path, claim in reporting.mappings(
            spec.get("volumeClaimTemplates"), SPEC / "volumeClaimTemplates", diag
        ):
            meta = reporting.mapping(claim.get("metadata"), path / "metadata", diag)
            name = reporting.string(meta.get("name"), path / "metadata" / "name", diag, required=True)
            if name:
                volume = f"{name}-{obj.name}-{first}"
                template.claim_templates[name] = volume
                template.claim_sizes[volume] = _claim_size(claim, path, obj)
        if template.claim_templates and template.replicas > 1:
            diag.warn(
                SPEC / "volumeClaimTemplates",
                "every replica mounts the first replica's volumes "
                f"({', '.join(template.claim_templates.values())}): per-replica claims are not supported",
            )
    return template


def _first_ordinal(obj: Obj, spec: dict[str, Any]) -> int:
    """``ordinals.start``: the number of a StatefulSet's first pod (0 unless set)."""
    at = SPEC / "ordinals"
    ordinals = reporting.mapping(spec.get("ordinals"), at, obj.diag)
    reporting.check_keys(ordinals, at, obj.diag, {"start"})
    start = reporting.integer(ordinals.get("start"), at / "start", obj.diag, minimum=0)
    return start or 0


def _claim_size(claim: dict[str, Any], at: YamlPath, obj: Obj) -> int | None:
    spec = reporting.mapping(claim.get("spec"), at / "spec", obj.diag)
    resources = reporting.mapping(spec.get("resources"), at / "spec" / "resources", obj.diag)
    requests = reporting.mapping(resources.get("requests"), at / "spec" / "resources" / "requests", obj.diag)
    if "storage" not in requests:
        return None
    return quantity_bytes(requests["storage"], at / "spec" / "resources" / "requests" / "storage", obj.diag)


def deployment(obj: Obj) -> PodTemplate | None:
    return _controller(obj, replicas=True)


def replication_controller(obj: Obj) -> PodTemplate | None:
    return _controller(obj, replicas=True, plain_selector=True)


def stateful_set(obj: Obj) -> PodTemplate | None:
    return _controller(obj, replicas=True, claims=True)


def daemon_set(obj: Obj) -> PodTemplate | None:
    return _controller(obj, replicas=False)


def _suspended(obj: Obj, spec: dict[str, Any], at: YamlPath) -> bool:
    """``suspend: true``: Kubernetes starts no pod for it, so Berth produces no spec (reported)."""
    if not reporting.boolean(spec.get("suspend"), at / "suspend", obj.diag):
        return False
    obj.diag.warn(
        at / "suspend",
        f"{obj.ref} is suspended: Kubernetes starts no pod for it, so no spec is produced",
        code="not-applied",
    )
    obj.not_applied = True
    return True


def _job_spec(obj: Obj, spec: dict[str, Any], at: YamlPath) -> PodTemplate | None:
    diag = obj.diag
    handled = {"template", "backoffLimit", "completions", "parallelism", "selector", "suspend"}
    handled |= {"activeDeadlineSeconds", "completionMode"}
    reporting.check_keys(spec, at, diag, handled, _JOB_IGNORED)
    if _suspended(obj, spec, at):
        return None
    deadline = reporting.integer(spec.get("activeDeadlineSeconds"), at / "activeDeadlineSeconds", diag)
    if deadline is not None:
        diag.unsupported(
            at / "activeDeadlineSeconds", f"the job is not stopped after {deadline} s: no deadline is applied"
        )
    mode = reporting.string(spec.get("completionMode"), at / "completionMode", diag)
    if mode not in (None, "NonIndexed"):
        diag.unsupported(at / "completionMode", "the pod gets no completion index (JOB_COMPLETION_INDEX)")
    template = _template(obj, at / "template")
    if template is None:
        return None
    template.role = "job"
    template.restart_policies = ("OnFailure", "Never")
    backoff = reporting.integer(spec.get("backoffLimit"), at / "backoffLimit", diag, minimum=0)
    template.max_retries = _JOB_BACKOFF if backoff is None else backoff
    for key in ("completions", "parallelism"):
        count = reporting.integer(spec.get(key), at / key, diag, minimum=0)
        if count is not None and count != 1:
            diag.unsupported(at / key, "a job runs one pod once")
    return template


def job(obj: Obj) -> PodTemplate | None:
    reporting.check_keys(
        obj.data, YamlPath(), obj.diag, {"apiVersion", "kind", "metadata", "spec"}, {"status": ""}
    )
    return _job_spec(obj, reporting.mapping(obj.data.get("spec"), SPEC, obj.diag), SPEC)


def cron_job(obj: Obj) -> PodTemplate | None:
    diag = obj.diag
    reporting.check_keys(
        obj.data, YamlPath(), diag, {"apiVersion", "kind", "metadata", "spec"}, {"status": ""}
    )
    spec = reporting.mapping(obj.data.get("spec"), SPEC, diag)
    reporting.check_keys(spec, SPEC, diag, {"jobTemplate", "schedule", "suspend"}, _CRON_IGNORED)
    if _suspended(obj, spec, SPEC):
        return None
    if "schedule" in spec:
        diag.unsupported(SPEC / "schedule", "Berth has no scheduler: the job runs once when deployed")
    at = SPEC / "jobTemplate"
    job_template = reporting.mapping(spec.get("jobTemplate"), at, diag)
    # the metadata is the created Job's own (its labels do not reach the pod): nothing to apply
    reporting.check_keys(job_template, at, diag, {"spec"}, {"metadata": ""})
    return _job_spec(obj, reporting.mapping(job_template.get("spec"), at / "spec", diag), at / "spec")


Handler = Callable[[Obj], PodTemplate | None]
