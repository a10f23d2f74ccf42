"""Prometheus metrics of the supervised containers, read from their cgroups at scrape time.

A custom collector (no metric objects kept between scrapes) so memory does not grow with
label churn; names follow Prometheus conventions (``_total`` counters, base units) under
``berth_container_`` with a ``container`` label. CPU usage in percent compares with the reading
of the previous scrape, as ``docker stats`` compares with its previous sample.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from agent.runtime import metrics
from agent.runtime.errors import RuntimeFailure
from agent.runtime.metrics import Cgroup, Mounts
from agent.supervisor.supervising import Supervisor, Watched

STATUSES = ("starting", "healthy", "unhealthy")

# (attribute of CgroupStats, metric name, help, counter?, scale)
_RESOURCE = (
    ("cpu_ns", "cpu_seconds", "CPU time used by the container", True, 1e-9),
    ("cpu_limit", "cpu_limit_cpus", "CPUs the container's quota allows", False, 1.0),
    (
        "memory_usage",
        "memory_usage_bytes",
        "Memory charged to the container, page cache included",
        False,
        1.0,
    ),
    ("memory_working_set", "memory_working_set_bytes", "Memory in use less inactive file cache", False, 1.0),
    ("memory_limit", "memory_limit_bytes", "The container's memory limit", False, 1.0),
    ("memory_max_usage", "memory_max_usage_bytes", "Highest memory usage recorded", False, 1.0),
    (
        "oom_events",
        "oom_events",
        "Times the container hit its memory limit and the OOM killer ran",
        True,
        1.0,
    ),
    ("oom_kills", "oom_kills", "Processes of the container killed by the OOM killer", True, 1.0),
    ("pids_current", "pids", "Tasks in the container", False, 1.0),
    ("pids_limit", "pids_limit", "The container's task limit", False, 1.0),
    ("pids_denied", "pids_denied", "Forks refused at the task limit", True, 1.0),
    ("blkio_read_bytes", "blkio_read_bytes", "Bytes read from block devices", True, 1.0),
    ("blkio_write_bytes", "blkio_write_bytes", "Bytes written to block devices", True, 1.0),
)


class ContainerCollector(Collector):
    """Yields the metrics of every container the supervisor watches."""

    def __init__(self, supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        self._mounts: Mounts | None = None

    def _cgroup(self, watched: Watched) -> Cgroup | None:
        if self._mounts is None:
            self._mounts = Mounts.read()
        target = watched.target
        try:
            if target.cgroup:
                return Cgroup.at(target.cgroup, self._mounts)
            return Cgroup.of_pid(target.pid, self._mounts)
        except RuntimeFailure:
            return None

    def collect(self) -> Iterator[Metric]:
        sup = self.supervisor
        label = ["container"]
        status = GaugeMetricFamily(
            "berth_container_health_status",
            "1 for the container's current health status",
            labels=[*label, "status"],
        )
        ready = GaugeMetricFamily("berth_container_ready", "1 when the readiness probe passes", labels=label)
        restarts = CounterMetricFamily("berth_container_restarts", "Restarts of the container", labels=label)
        requested = CounterMetricFamily(
            "berth_container_probe_restarts",
            "Restarts the supervisor asked for after failed probes",
            labels=label,
        )
        uptime = GaugeMetricFamily(
            "berth_container_uptime_seconds", "Seconds since the process started", labels=label
        )
        percent = GaugeMetricFamily(
            "berth_container_cpu_usage_percent",
            "CPU use since the previous scrape, percent of one CPU",
            labels=label,
        )
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {}
        for attr, name, text, counter, _ in _RESOURCE:
            cls = CounterMetricFamily if counter else GaugeMetricFamily
            families[attr] = cls(f"berth_container_{name}", text, labels=label)
        for watched in sup.snapshot():
            name = watched.target.name
            state = watched.health.status
            if state is not None:
                for s in STATUSES:
                    status.add_metric([name, s], 1.0 if s == state else 0.0)
            if watched.health.ready is not None:
                ready.add_metric([name], 1.0 if watched.health.ready else 0.0)
            restarts.add_metric([name], float(watched.target.restarts))
            requested.add_metric([name], float(watched.health.restart_requests))
            up = metrics.process_uptime(watched.target.pid)
            if up is not None:
                uptime.add_metric([name], up)
            cgroup = self._cgroup(watched)
            if cgroup is None or not cgroup.exists():
                continue
            stats = cgroup.stats()
            if watched.last_stats is not None:
                cpu = metrics.cpu_percent(watched.last_stats, stats)
                if cpu is not None:
                    percent.add_metric([name], cpu)
            watched.last_stats = stats
            for attr, _, _, _, scale in _RESOURCE:
                value = getattr(stats, attr)
                if value is not None:
                    families[attr].add_metric([name], value * scale)
        yield from (status, ready, restarts, requested, uptime, percent, *families.values())
        yield GaugeMetricFamily(
            "berth_supervisor_containers", "Containers watched", value=len(sup.snapshot())
        )
        yield CounterMetricFamily("berth_supervisor_checks", "Probe checks run", value=sup.checks)


def registry_for(supervisor: Supervisor) -> CollectorRegistry:
    """A registry of the containers' metrics and the agent's own process metrics (RSS, CPU)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ContainerCollector(supervisor))
    ProcessCollector(registry=registry)
    return registry
