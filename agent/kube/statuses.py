"""What a node reports on a ContainerDeployment, following the Kubernetes API conventions.

Each node applies (server-side apply, its own field manager ``berth-agent/<node>``) only its own
entry of ``status.nodes`` (a list keyed by nodeName) plus the summary over the entries it sees, so
nodes never overwrite each other's entries. A condition's ``lastTransitionTime`` is carried over
from what was there unless its status changed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from translators.crd import models

READY, PROGRESSING, DEGRADED = "Ready", "Progressing", "Degraded"


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass(frozen=True)
class Report:
    """One node's view of one resource after a reconcile."""

    phase: str
    reason: str
    """The CamelCase reason of the deciding condition (Running, Pulling, ImagePullFailed, ...)."""
    message: str = ""
    ready: bool = False
    progressing: bool = False
    degraded: bool = False
    image_digest: str | None = None
    generation: int | None = None
    state: str | None = None
    health: str | None = None
    restarts: int = 0
    rollback_available: bool = False


def _conditions(
    report: Report, generation: int | None, previous: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    before = {c.get("type"): c for c in previous}
    out = []
    for kind, value in (
        (READY, report.ready),
        (PROGRESSING, report.progressing),
        (DEGRADED, report.degraded),
    ):
        status = "True" if value else "False"
        old = before.get(kind) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else None
        out.append(
            {
                "type": kind,
                "status": status,
                "reason": report.reason,
                "message": report.message,
                "lastTransitionTime": since or now(),
                "observedGeneration": generation,
            }
        )
    return out


def node_entry(
    node: str, report: Report, generation: int | None, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """This node's status entry; ``previous`` is the entry the server has (for transition times)."""
    return {
        "nodeName": node,
        "phase": report.phase,
        "imageDigest": report.image_digest,
        "generation": report.generation,
        "state": report.state,
        "health": report.health,
        "ready": report.ready,
        "restarts": report.restarts,
        "rollbackAvailable": report.rollback_available,
        "message": report.message,
        "conditions": _conditions(report, generation, (previous or {}).get("conditions") or []),
    }


_VOLATILE = {"lastUpdateTime", "lastTransitionTime"}


def same(a: Any, b: Any) -> bool:
    """Equal but for timestamps: an unchanged entry is not written again."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (set(a) | set(b)) - _VOLATILE
        return all(same(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) or (
        a in (None, "", False, 0, []) and b in (None, "", False, 0, []) and type(a) is type(b)
    )


def summary(
    entries: list[dict[str, Any]], generation: int | None, previous: list[dict[str, Any]]
) -> dict[str, Any]:
    """The resource-wide conditions over all node entries: Ready when every reporting node is,
    Progressing when any is, Degraded when any is (its reason and message then win)."""
    ready = sum(1 for e in entries if e.get("ready"))

    def cond(entry: dict[str, Any], kind: str) -> bool:
        return any(c.get("type") == kind and c.get("status") == "True" for c in entry.get("conditions") or [])

    degraded = [e for e in entries if cond(e, DEGRADED)]
    progressing = [e for e in entries if cond(e, PROGRESSING)]
    deciding = (degraded or progressing or [e for e in entries if not e.get("ready")] or entries or [{}])[0]
    deciding_reason = next(
        (c.get("reason", "") for c in deciding.get("conditions") or [] if c.get("type") == READY), ""
    )
    message = deciding.get("message") or ""
    if deciding.get("nodeName") and message:
        message = f"{deciding['nodeName']}: {message}"
    report = Report(
        phase="",
        reason=deciding_reason or "NoNodes",
        message=message,
        ready=bool(entries) and ready == len(entries),
        progressing=bool(progressing),
        degraded=bool(degraded),
    )
    return {
        "observedGeneration": generation,
        "readyNodes": f"{ready}/{len(entries)}",
        "conditions": _conditions(report, generation, previous),
    }


def apply_body(
    obj: dict[str, Any], node: str, entry: dict[str, Any] | None, others: list[dict[str, Any]]
) -> dict[str, Any]:
    """The apply configuration for this node: its entry (none: leave the list) and the summary."""
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    entries = [*others, *([entry] if entry is not None else [])]
    body: dict[str, Any] = {
        "apiVersion": models.API_VERSION,
        "kind": models.KIND,
        "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")},
        "status": summary(entries, meta.get("generation"), status.get("conditions") or []),
    }
    if entry is not None:
        body["status"]["nodes"] = [{**entry, "lastUpdateTime": now()}]
    return body


def field_manager(node: str) -> str:
    return f"berth-agent-{node}"[:128]
