"""Older apiVersions of workload kinds: what replaced them, and the defaults that differ.

Users' old manifests are the common case on the hosts Berth targets, so ``extensions/v1beta1``,
``apps/v1beta1`` and ``apps/v1beta2`` workloads and ``batch/v1beta1`` CronJobs are translated as their
replacement (the fields Berth reads did not change), with a warning. The one default that differs
for Berth: before ``apps/v1beta2`` a missing ``selector`` was filled from the pod template's labels
(``apps/v1`` refuses it).
"""

from __future__ import annotations

from typing import NamedTuple


class Deprecated(NamedTuple):
    """An older apiVersion of a workload kind: translated as its replacement, with its own defaults."""

    replacement: str
    removed_in: str
    defaults: str = ""
    """What differs from the replacement, said in the warning ("" when nothing Berth uses does)."""


_SELECTOR_DEFAULT = "a missing selector selects the pod template's labels"
DEPRECATED: dict[tuple[str, str], Deprecated] = {
    ("extensions/v1beta1", "Deployment"): Deprecated("apps/v1", "1.16", _SELECTOR_DEFAULT),
    ("extensions/v1beta1", "DaemonSet"): Deprecated("apps/v1", "1.16", _SELECTOR_DEFAULT),
    ("extensions/v1beta1", "ReplicaSet"): Deprecated("apps/v1", "1.16", _SELECTOR_DEFAULT),
    ("apps/v1beta1", "Deployment"): Deprecated("apps/v1", "1.16", _SELECTOR_DEFAULT),
    ("apps/v1beta1", "StatefulSet"): Deprecated("apps/v1", "1.16", _SELECTOR_DEFAULT),
    ("apps/v1beta2", "Deployment"): Deprecated("apps/v1", "1.16"),
    ("apps/v1beta2", "DaemonSet"): Deprecated("apps/v1", "1.16"),
    ("apps/v1beta2", "ReplicaSet"): Deprecated("apps/v1", "1.16"),
    ("apps/v1beta2", "StatefulSet"): Deprecated("apps/v1", "1.16"),
    ("batch/v1beta1", "CronJob"): Deprecated("batch/v1", "1.25"),
    ("batch/v2alpha1", "CronJob"): Deprecated("batch/v1", "1.21"),
}
"""Old apiVersions users still have (Kubernetes' deprecated API migration guide)."""


def selector_defaults(api_version: str, kind: str) -> bool:
    """Whether this apiVersion fills a missing selector from the template's labels (before apps/v1beta2)."""
    old = DEPRECATED.get((api_version, kind))
    return old is not None and old.defaults == _SELECTOR_DEFAULT


def deprecation(api_version: str, kind: str) -> str | None:
    """The warning for an old apiVersion, or None for a current one."""
    old = DEPRECATED.get((api_version, kind))
    if old is None:
        return None
    differs = f", with the defaults of {api_version} ({old.defaults})" if old.defaults else ""
    return (
        f"apiVersion {api_version} of {kind} is deprecated (removed in Kubernetes {old.removed_in}): "
        f"translated as {old.replacement}{differs}; update the manifest to {old.replacement}"
    )
