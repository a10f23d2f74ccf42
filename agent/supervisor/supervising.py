"""The supervisor loop: one scheduler thread, a small pool of workers, one record per container.

Resources stay bounded whatever the number of containers: the scheduler sleeps until the next
probe is due (or a result arrives), at most ``workers`` checks run at once, a probe never
overlaps itself, and the only per-container state is its :class:`ContainerHealth` (five results
per probe). HTTP/TCP checks open their socket in a short-lived thread inside the container's
network namespace (:mod:`agent.network.netns`), from a worker.

When liveness (or startup) gives up, the supervisor calls the target's restart function once and
pauses that container's probes until the source reports a new pid: the new process starts over
in ``starting``, as docker resets health on restart.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from agent.network.netns import NetworkNamespace
from agent.runtime import health, metrics, probes
from agent.runtime.health import ContainerHealth
from agent.runtime.metrics import CgroupStats
from agent.runtime.probes import Kind, ProbePlan
from agent.supervisor.targets import Target, TargetSource
from translators.errors import BerthError

log = logging.getLogger(__name__)

DEFAULT_REFRESH = 2.0
DEFAULT_WORKERS = 4
RESTART_GRACE = 60.0
"""Seconds a container's probes stay paused after a restart request when no new pid shows up."""


@dataclass
class Watched:
    """A container the supervisor watches: its target, health, and what is in flight."""

    target: Target
    health: ContainerHealth
    netns: NetworkNamespace
    error: str | None = None
    running: set[Kind] = field(default_factory=set)
    restarting: bool = False
    restart_since: float = 0.0
    restart_error: str | None = None
    last_stats: CgroupStats | None = None
    reported: str | None = None
    """The health status last reported to the target (``health_status`` events on a change)."""

    def record(self) -> dict[str, Any]:
        data = self.health.to_json()
        data["restarts"] = self.target.restarts
        data["restarting"] = self.restarting
        if self.error:
            data["error"] = self.error
        if self.restart_error:
            data["restart_error"] = self.restart_error
        return data


def plans_of(target: Target) -> list[ProbePlan]:
    """The target's probes, resolved (raises :class:`probes.ProbeError`)."""
    return health.plans_from(
        healthcheck=target.healthcheck,
        readiness=target.readiness,
        startup=target.startup,
        image=target.image_healthcheck,
    )


class Supervisor:
    """Runs the probes of every target the source lists. Thread-safe; :meth:`start`/:meth:`stop`."""

    def __init__(
        self, source: TargetSource, *, refresh: float = DEFAULT_REFRESH, workers: int = DEFAULT_WORKERS
    ) -> None:
        self.source = source
        self.refresh = refresh
        self.watched: dict[str, Watched] = {}
        self.lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="berth-probe")
        self._thread: threading.Thread | None = None
        self.heartbeat = time.monotonic()
        self.checks = 0
        self.restarts_requested = 0

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="berth-supervisor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop scheduling, let running checks finish (each is bounded by its timeout)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def alive(self, max_age: float | None = None) -> bool:
        """The scheduler thread runs and has looked at its work recently (``/healthz``)."""
        limit = max_age if max_age is not None else max(3 * self.refresh, 5.0)
        thread = self._thread
        return thread is not None and thread.is_alive() and time.monotonic() - self.heartbeat < limit

    # -- the loop -------------------------------------------------------------------------------

    def _loop(self) -> None:
        next_refresh = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            self.heartbeat = now
            if now >= next_refresh:
                self.sync()
                next_refresh = now + self.refresh
            wake = self._dispatch(now)
            self._wake.wait(max(0.0, min(wake, next_refresh) - time.monotonic()))
            self._wake.clear()

    def sync(self) -> None:
        """Take the source's list: watch new containers, restart the watch of a new pid, drop gone ones."""
        try:
            targets = {t.name: t for t in self.source()}
        except BerthError as exc:
            log.warning("cannot list containers: %s", exc)
            return
        with self.lock:
            for name in list(self.watched):
                if name not in targets:
                    del self.watched[name]
            for name, target in targets.items():
                known = self.watched.get(name)
                if known is not None and known.target.pid == target.pid:
                    known.target = target  # restarts count and functions may change
                    continue
                self.watched[name] = self._watch(target)
                self._write(self.watched[name])

    def _watch(self, target: Target) -> Watched:
        uptime = metrics.process_uptime(target.pid)
        started = time.monotonic() - (uptime or 0.0)
        error = None
        try:
            plans = plans_of(target)
        except probes.ProbeError as exc:
            plans, error = [], f"container {target.name}: {exc}"
            log.warning("%s", error)
        state = ContainerHealth.create(target.name, target.pid, plans, started)
        return Watched(target, state, NetworkNamespace.of_pid(target.pid), error=error)

    def _dispatch(self, now: float) -> float:
        """Hand due probes to the workers; returns when the next one is due."""
        wake = now + self.refresh
        with self.lock:
            for watched in self.watched.values():
                if watched.restarting and now - watched.restart_since < RESTART_GRACE:
                    continue
                watched.restarting = False
                for tracker in watched.health.runnable():
                    kind = tracker.plan.kind
                    if kind in watched.running:
                        continue
                    if tracker.next_due <= now:
                        watched.running.add(kind)
                        self._pool.submit(self._probe, watched, tracker.plan)
                    else:
                        wake = min(wake, tracker.next_due)
        return wake

    def _probe(self, watched: Watched, plan: ProbePlan) -> None:
        target = watched.target
        if not os.path.exists(f"/proc/{target.pid}"):
            # exited: the runtime's restart policy owns that, the source will report the new pid
            with self.lock:
                watched.running.discard(plan.kind)
                watched.health.trackers[plan.kind].next_due = time.monotonic() + plan.interval
            return
        try:
            result = probes.run_check(plan.check, plan.timeout, netns=watched.netns, exec_fn=target.exec)
        except Exception as exc:  # a fault of the runtime's exec function must not stop this probe
            log.exception("probe %s of container %s failed to run", plan.kind, target.name)
            now = time.time()
            result = probes.CheckResult(now, now, probes.EXIT_ERROR, f"the check could not run: {exc}")
        restart_reason = None
        with self.lock:
            watched.running.discard(plan.kind)
            self.checks += 1
            if self.watched.get(target.name) is not watched:
                return  # restarted or gone meanwhile: this result belongs to the old process
            reason = watched.health.record(plan.kind, result, time.monotonic())
            if reason is not None and (plan.kind == "startup" or target.restart_on_unhealthy):
                watched.restarting = True
                watched.restart_since = time.monotonic()
                watched.health.restart_requests += 1
                self.restarts_requested += 1
                restart_reason = reason
            self._write(watched)
        self._wake.set()
        if restart_reason is not None:
            self._restart(watched, restart_reason)

    def _restart(self, watched: Watched, reason: str) -> None:
        log.warning("restarting container %s: %s", watched.target.name, reason)
        try:
            watched.target.restart(reason)
        except Exception as exc:  # BerthError from the runtime, or its bug: logged, probes go on
            with self.lock:
                watched.restarting = False
                watched.restart_error = str(exc)
                self._write(watched)
            log.warning("cannot restart container %s: %s", watched.target.name, exc)
            return
        self.sync()  # the restarted container's new pid, if the runtime already has it
        self._wake.set()

    def _write(self, watched: Watched) -> None:
        record = watched.record()
        try:
            health.write_record(watched.target.health_file, record)
        except OSError as exc:
            log.warning("cannot write %s: %s", watched.target.health_file, exc)
        status = record.get("status")
        if status in ("healthy", "unhealthy") and status != watched.reported:
            watched.reported = str(status)
            try:
                watched.target.health_changed(str(status))
            except Exception as exc:  # an event that cannot be written must not stop the probes
                log.warning("%s: cannot report health %s: %s", watched.target.name, status, exc)

    # -- reading --------------------------------------------------------------------------------

    def snapshot(self) -> list[Watched]:
        with self.lock:
            return list(self.watched.values())
