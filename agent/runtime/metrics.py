"""A container's resource use, read from its cgroup (v1 per-controller hierarchies or v2 unified).

The figures are the ones ``docker stats`` and the kubelet show: CPU time and usage over an
interval, memory usage (and the working set: usage less inactive file pages, which the kernel
can drop) against the limit, the peak, OOM events, pids against their limit (and forks refused
at it), block I/O bytes. Restarts, uptime and health come from the caller, who knows them.

Where the cgroup lives is read from ``/proc/<pid>/cgroup`` and ``/proc/self/mountinfo`` rather
than guessed: this host mounts ``cpu`` and ``cpuacct`` apart, others co-mount them, and v2 hosts
have one tree. A cgroup can also be named by its path (runc's ``cgroupsPath``) once the container
has exited. Every file is optional: a controller that is not enabled gives ``None``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.runtime.errors import RuntimeFailure
from agent.store import mountpoints

V1_CONTROLLERS = ("cpu", "cpuacct", "memory", "pids", "blkio")
UNLIMITED = 1 << 62
"""v1 reports 'no limit' as a huge number (PAGE_COUNTER_MAX pages); anything above this is none."""
USER_HZ = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Mounts:
    """Where the cgroup hierarchies are mounted: v1 controller -> (mount point, mount root)."""

    v1: Mapping[str, tuple[Path, str]] = field(default_factory=dict)
    v2: tuple[Path, str] | None = None

    @classmethod
    def read(cls, mountinfo: str | None = None) -> Mounts:
        v1: dict[str, tuple[Path, str]] = {}
        v2: tuple[Path, str] | None = None
        for entry in mountpoints.entries(mountinfo):
            if entry.fstype == "cgroup2":
                v2 = (Path(entry.point), entry.root)
            elif entry.fstype == "cgroup":
                for option in entry.super_options:
                    if option in V1_CONTROLLERS:
                        v1.setdefault(option, (Path(entry.point), entry.root))
        return cls(v1, v2)

    @property
    def version(self) -> Literal[1, 2]:
        """v1 when the memory controller sits on a v1 hierarchy (hybrid hosts like this one)."""
        return 1 if "memory" in self.v1 or self.v2 is None else 2


def _under(point: Path, root: str, path: str) -> Path:
    """The directory of cgroup ``path`` under a mount of the hierarchy whose root is ``root``."""
    if root != "/" and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    return point / path.lstrip("/")


@dataclass(frozen=True)
class Cgroup:
    """One container's cgroup: a directory per v1 controller, or the single v2 directory."""

    version: Literal[1, 2]
    dirs: Mapping[str, Path]
    """v1: controller -> directory; v2: ``{"": directory}``."""

    @classmethod
    def of_pid(cls, pid: int, mounts: Mounts | None = None) -> Cgroup:
        """The cgroup a running process is in."""
        mounts = mounts or Mounts.read()
        try:
            text = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError as exc:
            raise RuntimeFailure(
                f"process {pid} is gone: its cgroup cannot be read ({exc.strerror})"
            ) from exc
        v1: dict[str, Path] = {}
        unified: str | None = None
        for line in text.splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers == "":
                unified = path
            for controller in controllers.split(","):
                if controller in mounts.v1:
                    point, root = mounts.v1[controller]
                    v1[controller] = _under(point, root, path)
        if mounts.version == 1:
            return cls(1, v1)
        if unified is None or mounts.v2 is None:
            raise RuntimeFailure(f"process {pid}: no cgroup v2 membership in /proc/{pid}/cgroup")
        return cls(2, {"": _under(*mounts.v2, unified)})

    @classmethod
    def at(cls, path: str, mounts: Mounts | None = None) -> Cgroup:
        """The cgroup named by its path (runc's ``cgroupsPath``, ``/berth/web``), running or not."""
        mounts = mounts or Mounts.read()
        if mounts.version == 1:
            return cls(1, {c: _under(point, "/", path) for c, (point, _) in mounts.v1.items()})
        if mounts.v2 is None:
            raise RuntimeFailure("no cgroup hierarchy is mounted (see /proc/self/mountinfo)")
        return cls(2, {"": _under(mounts.v2[0], "/", path)})

    def exists(self) -> bool:
        return any(d.is_dir() for d in self.dirs.values())

    def _file(self, controller: str, name: str) -> str | None:
        directory = self.dirs.get("" if self.version == 2 else controller)
        if directory is None:
            return None
        try:
            return (directory / name).read_text()
        except (FileNotFoundError, ProcessLookupError, OSError):
            return None

    def _int(self, controller: str, name: str) -> int | None:
        text = self._file(controller, name)
        if text is None:
            return None
        text = text.strip()
        if text == "max":
            return None
        try:
            return int(text)
        except ValueError:
            return None

    def _keyed(self, controller: str, name: str) -> dict[str, int]:
        """A flat-keyed file (``key value`` per line): memory.stat, cpu.stat, pids.events..."""
        out: dict[str, int] = {}
        for line in (self._file(controller, name) or "").splitlines():
            key, _, value = line.partition(" ")
            try:
                out[key] = int(value.strip())
            except ValueError:
                continue
        return out

    def stats(self) -> CgroupStats:
        """Read every counter once."""
        return _stats_v1(self) if self.version == 1 else _stats_v2(self)


@dataclass(frozen=True)
class CgroupStats:
    """Counters at one moment (``taken`` on the monotonic clock); None: not available."""

    taken: float
    cpu_ns: int | None = None
    cpu_user_ns: int | None = None
    cpu_system_ns: int | None = None
    cpu_limit: float | None = None
    """CPUs the quota allows (0.5 = half a core); None: unlimited."""
    cpu_throttled_periods: int | None = None
    memory_usage: int | None = None
    memory_working_set: int | None = None
    """Usage less inactive file cache: what the kubelet and ``docker stats`` show as in use."""
    memory_limit: int | None = None
    memory_max_usage: int | None = None
    oom_events: int | None = None
    """Times the cgroup hit its limit and the OOM killer was invoked (v2 ``oom``; v1 counts kills)."""
    oom_kills: int | None = None
    pids_current: int | None = None
    pids_limit: int | None = None
    pids_denied: int | None = None
    """Forks refused at the limit (``pids.events`` max)."""
    blkio_read_bytes: int | None = None
    blkio_write_bytes: int | None = None


def _limit(value: int | None) -> int | None:
    return None if value is None or value >= UNLIMITED else value


def _working_set(usage: int | None, inactive_file: int | None) -> int | None:
    if usage is None:
        return None
    return max(0, usage - (inactive_file or 0))


def _blkio_v1(cg: Cgroup) -> tuple[int | None, int | None]:
    for name in (
        "blkio.throttle.io_service_bytes_recursive",
        "blkio.io_service_bytes_recursive",
        "blkio.bfq.io_service_bytes_recursive",
    ):
        text = cg._file("blkio", name)
        if text is None:
            continue
        read = write = 0
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] in ("Read", "Write"):
                if parts[1] == "Read":
                    read += int(parts[2])
                else:
                    write += int(parts[2])
        if read or write or name.startswith("blkio.bfq"):
            return read, write
    return None, None


def _stats_v1(cg: Cgroup) -> CgroupStats:
    cpu_ns = cg._int("cpuacct", "cpuacct.usage")
    user_ns = cg._int("cpuacct", "cpuacct.usage_user")
    sys_ns = cg._int("cpuacct", "cpuacct.usage_sys")
    if user_ns is None:
        ticks = cg._keyed("cpuacct", "cpuacct.stat")
        if ticks:
            user_ns = ticks.get("user", 0) * 1_000_000_000 // USER_HZ
            sys_ns = ticks.get("system", 0) * 1_000_000_000 // USER_HZ
    quota = cg._int("cpu", "cpu.cfs_quota_us")
    period = cg._int("cpu", "cpu.cfs_period_us")
    cpu_stat = cg._keyed("cpu", "cpu.stat")
    usage = cg._int("memory", "memory.usage_in_bytes")
    memory_stat = cg._keyed("memory", "memory.stat")
    inactive = memory_stat.get("total_inactive_file", memory_stat.get("inactive_file"))
    oom = cg._keyed("memory", "memory.oom_control")
    oom_kills = oom.get("oom_kill") if "oom_kill_disable" in oom else None
    read, write = _blkio_v1(cg)
    return CgroupStats(
        taken=time.monotonic(),
        cpu_ns=cpu_ns,
        cpu_user_ns=user_ns,
        cpu_system_ns=sys_ns,
        cpu_limit=quota / period if quota and quota > 0 and period else None,
        cpu_throttled_periods=cpu_stat.get("nr_throttled"),
        memory_usage=usage,
        memory_working_set=_working_set(usage, inactive),
        memory_limit=_limit(cg._int("memory", "memory.limit_in_bytes")),
        memory_max_usage=cg._int("memory", "memory.max_usage_in_bytes"),
        oom_events=oom_kills,
        oom_kills=oom_kills,
        pids_current=cg._int("pids", "pids.current"),
        pids_limit=cg._int("pids", "pids.max"),
        pids_denied=cg._keyed("pids", "pids.events").get("max"),
        blkio_read_bytes=read,
        blkio_write_bytes=write,
    )


def _stats_v2(cg: Cgroup) -> CgroupStats:
    cpu_stat = cg._keyed("", "cpu.stat")
    cpu_max = (cg._file("", "cpu.max") or "max").split()
    cpu_limit = int(cpu_max[0]) / int(cpu_max[1]) if len(cpu_max) == 2 and cpu_max[0] != "max" else None
    usage = cg._int("", "memory.current")
    events = cg._keyed("", "memory.events")
    read = write = None
    io = cg._file("", "io.stat")
    if io is not None:
        read = write = 0
        for line in io.splitlines():
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                if key == "rbytes":
                    read += int(value)
                elif key == "wbytes":
                    write += int(value)

    def us(key: str) -> int | None:
        return cpu_stat[key] * 1000 if key in cpu_stat else None

    return CgroupStats(
        taken=time.monotonic(),
        cpu_ns=us("usage_usec"),
        cpu_user_ns=us("user_usec"),
        cpu_system_ns=us("system_usec"),
        cpu_limit=cpu_limit,
        cpu_throttled_periods=cpu_stat.get("nr_throttled"),
        memory_usage=usage,
        memory_working_set=_working_set(usage, cg._keyed("", "memory.stat").get("inactive_file")),
        memory_limit=cg._int("", "memory.max"),
        memory_max_usage=cg._int("", "memory.peak"),
        oom_events=events.get("oom"),
        oom_kills=events.get("oom_kill"),
        pids_current=cg._int("", "pids.current"),
        pids_limit=cg._int("", "pids.max"),
        pids_denied=cg._keyed("", "pids.events").get("max"),
        blkio_read_bytes=read,
        blkio_write_bytes=write,
    )


def cpu_percent(before: CgroupStats, after: CgroupStats) -> float | None:
    """CPU use between two readings, in percent of one CPU (200 = two cores busy), as ``top``."""
    if before.cpu_ns is None or after.cpu_ns is None or after.taken <= before.taken:
        return None
    return max(0.0, (after.cpu_ns - before.cpu_ns) / ((after.taken - before.taken) * 1e9) * 100)


@dataclass(frozen=True)
class ContainerMetrics:
    """What ``container metrics NAME`` shows and the supervisor exports."""

    name: str
    stats: CgroupStats
    cpu_percent: float | None = None
    restarts: int = 0
    uptime: float | None = None
    """Seconds since the current process started; None when it is not running."""
    health: str | None = None
    """starting, healthy, unhealthy, or None without a health check."""

    def to_json(self) -> dict[str, Any]:
        stats = asdict(self.stats)
        stats.pop("taken")
        return {
            "name": self.name,
            **stats,
            "cpu_percent": None if self.cpu_percent is None else round(self.cpu_percent, 2),
            "restarts": self.restarts,
            "uptime": None if self.uptime is None else round(self.uptime, 3),
            "health": self.health,
        }


def collect(
    name: str,
    cgroup: Cgroup,
    *,
    previous: CgroupStats | None = None,
    sample: float = 0.0,
    restarts: int = 0,
    uptime: float | None = None,
    health: str | None = None,
) -> ContainerMetrics:
    """The container's metrics now. CPU usage needs two readings: pass the ``previous`` one (the
    supervisor keeps it) or a ``sample`` interval to wait for a second reading (the CLI)."""
    if not cgroup.exists():
        where = ", ".join(str(d) for d in cgroup.dirs.values())
        raise RuntimeFailure(f"container {name}: its cgroup is gone ({where}); is it running?")
    if previous is None and sample > 0:
        previous = cgroup.stats()
        time.sleep(sample)
    stats = cgroup.stats()
    percent = cpu_percent(previous, stats) if previous is not None else None
    return ContainerMetrics(name, stats, percent, restarts, uptime, health)


def process_uptime(pid: int) -> float | None:
    """Seconds since process ``pid`` started (``/proc/<pid>/stat`` start time), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        since_boot = float(Path("/proc/uptime").read_text().split()[0])
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return max(0.0, since_boot - int(fields[19]) / USER_HZ)
