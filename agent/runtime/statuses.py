"""What Berth knows about one container: a typed status, and the record kept in its run directory.

The record (``state.json`` in the container's run directory, tmpfs) is written atomically at
each transition: create, start, stop request, exit. The status is derived from it plus what the
kernel and conmon say now (is the pid alive, has conmon written the exit file, did the cgroup
OOM-kill), so a container that died while no Berth process ran still reads as exited.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class State(enum.StrEnum):
    CREATED = "created"
    RUNNING = "running"
    PAUSED = "paused"
    EXITED = "exited"
    UNKNOWN = "unknown"


def rfc3339(timestamp: float | None) -> str | None:
    """Seconds since the epoch as RFC 3339 in UTC with nanosecond-free microseconds (``...Z``)."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Record:
    """The persisted part, one JSON object per container (``state.json``)."""

    name: str
    bundle: str
    cgroup_path: str | None
    log_path: str
    tty: bool = False
    pid: int | None = None
    pid_start: int | None = None
    """Start time of ``pid`` in clock ticks since boot (/proc/PID/stat), so a reused pid is not ours."""
    conmon_pid: int | None = None
    conmon_start: int | None = None
    created_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    stop_requested: bool = False
    """Set before Berth stops or kills the container: the exit command must not restart it."""
    error: str | None = None
    """runc's message when the last create or start failed."""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Record:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in known})


@dataclass(frozen=True)
class ContainerStatus:
    """A container as a user sees it (``container status``)."""

    name: str
    state: State
    pid: int | None
    exit_code: int | None
    oom_killed: bool
    started_at: str | None
    finished_at: str | None
    created_at: str | None
    stop_requested: bool
    log_path: Path
    bundle: Path
    error: str | None = None

    @property
    def alive(self) -> bool:
        return self.state in (State.CREATED, State.RUNNING, State.PAUSED)

    def to_json(self) -> dict[str, Any]:
        value = dataclasses.asdict(self)
        value["state"] = self.state.value
        value["log_path"] = str(self.log_path)
        value["bundle"] = str(self.bundle)
        return value
