"""Containers as their records say: a record loaded, its status derived, liveness read in /proc.

What every command that only looks needs (``compose ps``, ``container status``, the supervisor's
refresh), without runc, conmon, mounts or network namespaces: :class:`agent.runtime.containers.
Containers` adds the lifecycle on top of :class:`Recorded`, and
:mod:`agent.runtime.observing` reads through this alone, so ``berth compose ps`` imports none of
them (30 ms of imports by ``-X importtime``, 15-20 ms of the whole process here: benchmarks/ISSUE-14.md).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from agent.runtime import cgroups
from agent.runtime.errors import ContainerNotFound, RuntimeFailure
from agent.runtime.paths import RunPaths
from agent.runtime.statuses import ContainerStatus, Record, State, rfc3339


def pid_stat(pid: int) -> tuple[int, str] | None:
    """Start time (clock ticks since boot) and state letter of ``pid``, None when it is gone."""
    try:  # os-level calls: asked for every container at every supervisor refresh
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        stat = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    fields = stat.rsplit(b")", 1)[1].split()
    return int(fields[19]), fields[0].decode()  # fields 22 and 3 of stat(5)


def pid_start(pid: int) -> int | None:
    """Start time of ``pid`` (clock ticks since boot), None when it is gone."""
    stat = pid_stat(pid)
    return stat[0] if stat is not None else None


def alive(pid: int | None, start: int | None) -> bool:
    if not pid:
        return False
    stat = pid_stat(pid)  # one read: every container's status is asked for often
    if stat is None:
        return False
    now, state = stat
    if start is not None and now != start:
        return False
    return state != "Z"  # a zombie is not alive: conmon has not reaped it yet, but it will not run again


def read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    try:
        return int(text)
    except ValueError:
        return None


class Recorded:
    """The containers of one store, read from their records (see the module's docstring)."""

    def __init__(self, paths: RunPaths) -> None:
        self.paths = paths
        self._records: dict[str, tuple[tuple[int, int, int], Record]] = {}
        """name -> (the record file's inode, mtime and size, the record): see :meth:`live_pid`."""

    def dir(self, name: str) -> Path:
        return self.paths.container(name)

    def _record_path(self, name: str) -> Path:
        return self.dir(name) / "state.json"

    def _exit_file(self, name: str) -> Path:
        return self.dir(name) / "exits" / name

    def _load(self, name: str) -> Record:
        try:
            value = json.loads(self._record_path(name).read_bytes())
        except FileNotFoundError:
            raise ContainerNotFound(
                f"container {name}: no such container (never created, or removed)"
            ) from None
        except ValueError as exc:
            raise RuntimeFailure(
                f"container {name}: unreadable record {self._record_path(name)}: {exc}"
            ) from exc
        return Record.from_json(value)

    def state(self, name: str) -> ContainerStatus:
        return self._status(self._load(name))

    def live_pid(self, name: str) -> int | None:
        """The pid of ``name``'s process while it lives (created, running or paused), else None.

        What the supervisor asks of every container at each refresh (every 2 s): with 500
        containers, parsing each record and building its whole status there was a tenth of the
        node agent's CPU (py-spy). The record is parsed again only when its file changed (it is
        replaced on every write, so a new inode), and liveness is one read of /proc/PID/stat."""
        path = self._record_path(name)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._records.pop(name, None)
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        known = self._records.get(name)
        if known is not None and known[0] == key:
            record = known[1]
        else:
            try:
                record = self._load(name)
            except (ContainerNotFound, RuntimeFailure):
                return None
            self._records[name] = (key, record)
        if record.pid is None or record.exit_code is not None:
            return None
        return record.pid if alive(record.pid, record.pid_start) else None

    def list(self) -> list[ContainerStatus]:
        found: list[ContainerStatus] = []
        base = self.paths.run / "containers"
        if not base.is_dir():
            return found
        for entry in sorted(base.iterdir()):
            try:
                found.append(self.state(entry.name))
            except ContainerNotFound:
                continue
        return found

    def _finished_at(self, record: Record) -> float | None:
        """When conmon wrote the exit file (the kernel's coarse clock may lag the start by a tick)."""
        try:
            mtime = self._exit_file(record.name).stat().st_mtime
        except OSError:
            return None
        return max(mtime, record.started_at or record.created_at or mtime)

    def _status(self, record: Record) -> ContainerStatus:
        exit_code = record.exit_code
        if exit_code is None:
            exit_code = read_int(self._exit_file(record.name))
        oom = record.oom_killed
        finished = record.finished_at
        if exit_code is not None:
            state = State.EXITED
            finished = finished or self._finished_at(record)
            if not oom:
                oom = (self.dir(record.name) / "persist" / "oom").exists() or bool(
                    record.cgroup_path and cgroups.oom_kills(record.cgroup_path) > 0
                )
        elif record.pid is None:
            state = State.EXITED if record.error else State.CREATED
        elif alive(record.pid, record.pid_start):
            if record.started_at is None:
                state = State.CREATED
            elif record.cgroup_path and cgroups.frozen(record.cgroup_path):
                state = State.PAUSED
            else:
                state = State.RUNNING
        elif alive(record.conmon_pid, record.conmon_start):
            state = State.RUNNING  # the process is gone; conmon is writing the exit file right now
        else:
            state = State.UNKNOWN
        return ContainerStatus(
            name=record.name,
            state=state,
            pid=record.pid if state in (State.CREATED, State.RUNNING, State.PAUSED) else None,
            exit_code=exit_code,
            oom_killed=oom,
            created_at=rfc3339(record.created_at),
            started_at=rfc3339(record.started_at),
            finished_at=rfc3339(finished),
            stop_requested=record.stop_requested,
            log_path=Path(record.log_path),
            bundle=Path(record.bundle),
            error=record.error,
        )
