"""A container's health: its startup, liveness and readiness probes together, and the record on disk.

Kubernetes' rules join the probes: while a startup probe has not passed, the other two wait; a
startup probe that fails ``retries`` times, or a liveness probe that turns unhealthy, asks for a
restart. Readiness only says whether the container is ready for traffic.

The supervisor writes one small JSON record per container (:func:`write_record`, atomic) after
each check, so ``container health NAME`` reads it without talking to the supervisor; its shape
follows docker's ``State.Health`` (status, failing streak, the last five results).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.network.netns import NetworkNamespace
from agent.oci.imageconfig import ImageHealthcheck
from agent.runtime import probes
from agent.runtime.observing import read_health_record
from agent.runtime.probes import CheckResult, ExecFunction, Kind, ProbePlan, ProbeTracker, Status
from translators.spec.probes import Probe

RECORD_VERSION = 1


@dataclass
class ContainerHealth:
    """The probes of one running container (one process: a restart makes a new one)."""

    name: str
    pid: int
    started: float
    """Start of the container on the monotonic clock."""
    trackers: dict[Kind, ProbeTracker] = field(default_factory=dict)
    restart_requests: int = 0

    @classmethod
    def create(cls, name: str, pid: int, plans: Iterable[ProbePlan], started: float) -> ContainerHealth:
        trackers = {p.kind: ProbeTracker(p, started) for p in plans}
        return cls(name, pid, started, trackers)

    @property
    def started_up(self) -> bool:
        startup = self.trackers.get("startup")
        return startup is None or startup.status == "healthy"

    def runnable(self) -> list[ProbeTracker]:
        """The probes that may run now (startup gates the others)."""
        if not self.started_up:
            return [self.trackers["startup"]]
        return [t for t in self.trackers.values() if not t.finished]

    def next_due(self) -> float | None:
        due = [t.next_due for t in self.runnable()]
        return min(due) if due else None

    def record(self, kind: Kind, result: CheckResult, now: float) -> str | None:
        """Take one result; returns why the container must be restarted, or None."""
        tracker = self.trackers[kind]
        was_started = self.started_up
        tracker.record(result, now)
        if kind == "startup" and not was_started and self.started_up:
            for other in self.trackers.values():
                if other.plan.kind == "readiness":
                    other.next_due = now
                elif other.plan.kind == "liveness":
                    other.next_due = now + other.plan.interval
        if kind in ("startup", "liveness") and tracker.status == "unhealthy":
            return (
                f"{kind} probe failed {tracker.failing_streak} times in a row "
                f"({tracker.plan.check.describe()}): {result.output.splitlines()[0] if result.output else ''}"
            ).rstrip(": ")
        return None

    @property
    def status(self) -> Status | None:
        """starting, healthy or unhealthy; None when the container has no probes."""
        startup = self.trackers.get("startup")
        if startup is not None and startup.status != "healthy":
            return startup.status
        kinds: tuple[Kind, ...] = ("liveness", "readiness")
        for kind in kinds:
            tracker = self.trackers.get(kind)
            if tracker is not None:
                return tracker.status
        return None

    @property
    def ready(self) -> bool | None:
        """Ready for traffic: the readiness probe passes (None without one)."""
        readiness = self.trackers.get("readiness")
        if readiness is None:
            return None
        return self.started_up and readiness.status == "healthy"

    def to_json(self) -> dict[str, Any]:
        main = (
            self.trackers["startup"]
            if not self.started_up
            else self.trackers.get("liveness")
            or self.trackers.get("readiness")
            or self.trackers.get("startup")
        )
        return {
            "version": RECORD_VERSION,
            "name": self.name,
            "pid": self.pid,
            "status": self.status,
            "ready": self.ready,
            "failing_streak": main.failing_streak if main else 0,
            "log": [r.to_json() for r in main.log] if main else [],
            "probes": {kind: t.to_json() for kind, t in self.trackers.items()},
            "restart_requests": self.restart_requests,
            "updated": time.time(),
        }


def plans_from(
    *,
    healthcheck: Probe | None,
    readiness: Probe | None = None,
    startup: Probe | None = None,
    image: ImageHealthcheck | None = None,
) -> list[ProbePlan]:
    """The probes to run for a container's spec fields (``config.healthcheck``, ``readiness``,
    ``startup``) and its image's HEALTHCHECK; raises :class:`probes.ProbeError`."""
    kinds: tuple[tuple[Kind, Probe | None], ...] = (
        ("startup", startup),
        ("liveness", healthcheck),
        ("readiness", readiness),
    )
    out = []
    for kind, probe in kinds:
        planned = probes.plan(kind, probe, image if kind == "liveness" else None)
        if planned is not None:
            out.append(planned)
    return out


def run_once(
    plans: Iterable[ProbePlan], *, netns: NetworkNamespace | None, exec_fn: ExecFunction | None
) -> dict[Kind, CheckResult]:
    """Each probe's check run once, now, without the supervisor (``container health --run``)."""
    return {p.kind: probes.run_check(p.check, p.timeout, netns=netns, exec_fn=exec_fn) for p in plans}


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Replace the health record atomically. Records live on tmpfs next to the runtime state:
    no fsync, a crash loses nothing the next check would not write again."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def read_record(path: Path) -> dict[str, Any] | None:
    """The record the supervisor wrote last, or None when there is none (no supervisor ran)."""
    return read_health_record(path)


def describe(record: dict[str, Any]) -> str:
    """``container health NAME`` as text: the status, then each probe with its last results."""
    ready = record.get("ready")
    head = f"{record.get('name')}: {record.get('status') or 'no health check'}"
    if ready is not None:
        head += ", ready" if ready else ", not ready"
    if record.get("restarting"):
        head += ", restart requested"
    lines = [head]
    for key in ("error", "restart_error"):
        if record.get(key):
            lines.append(f"  {key.replace('_', ' ')}: {record[key]}")
    for kind, probe in sorted((record.get("probes") or {}).items()):
        plan = probe.get("plan", {})
        lines.append(
            f"  {kind:<9} {probe.get('status'):<9} {plan.get('check')} every {plan.get('interval'):g}s,"
            f" failing streak {probe.get('failing_streak')}"
        )
        for entry in probe.get("log", []):
            first = (entry.get("output") or "").strip().splitlines()
            lines.append(
                f"    {entry.get('end')}  exit {entry.get('exit_code')}  {first[0] if first else ''}"
            )
    return "\n".join(lines)
