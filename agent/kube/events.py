"""Events on a ContainerDeployment, as ``kubectl describe`` shows them, deduplicated.

One event per (resource, node, reason, message): the same thing happening again bumps its count
and lastTimestamp instead of adding an object, as the kubelet's event correlator does. Events are
best effort: a failure to record one is logged, never fatal.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from agent.kube.client import MERGE, Kube, KubeError
from agent.kube.outages import Link
from agent.kube.statuses import now

log = logging.getLogger("berth.agent")


class Recorder:
    def __init__(self, kube: Kube, node: str) -> None:
        self.kube, self.node = kube, node
        self.counts: dict[str, int] = {}
        self.link: Link | None = None
        """While the link to the API server is down events are logged only (they are history;
        the status written on reconnection says what the node is)."""

    def record(self, obj: dict[str, Any], kind: str, reason: str, message: str) -> None:
        if self.link is not None and not self.link.up:
            log.info("event %s not recorded (API server unreachable): %s", reason, message)
            return
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        digest = hashlib.sha256(f"{meta.get('uid')}|{self.node}|{reason}|{message}".encode()).hexdigest()[:16]
        name = f"{meta.get('name')}.{digest}"[:253]
        path = f"/api/v1/namespaces/{namespace}/events"
        stamp = now()
        count = self.counts.get(name, 0) + 1
        self.counts[name] = count
        try:
            if count > 1:
                self.kube.call(
                    "PATCH",
                    f"{path}/{name}",
                    body={"count": count, "lastTimestamp": stamp},
                    content_type=MERGE,
                )
                return
            self.kube.call(
                "POST",
                path,
                body={
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"name": name, "namespace": namespace},
                    "involvedObject": {
                        "apiVersion": obj.get("apiVersion"),
                        "kind": obj.get("kind"),
                        "name": meta.get("name"),
                        "namespace": namespace,
                        "uid": meta.get("uid"),
                    },
                    "type": kind,
                    "reason": reason,
                    "message": message[:1024],
                    "source": {"component": "berth-agent", "host": self.node},
                    "reportingComponent": "berth.io/agent",
                    "reportingInstance": self.node,
                    "firstTimestamp": stamp,
                    "lastTimestamp": stamp,
                    "count": 1,
                },
            )
        except KubeError as exc:
            if exc.status == 409:  # made by an agent before us (restarted): count on it
                self.counts[name] = 1
                return
            log.warning("event %s not recorded: %s", reason, exc)
