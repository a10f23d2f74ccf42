"""Reading a container's status from files alone, for commands that only look.

A status is derived from the store's ``containers/<name>/run.json`` (what was asked last), the
container record and conmon's exit file in the run directory, the network attachment and the
health record the supervisor writes. None of it needs runc, the spec models or the network
code, so this module imports none of them: ``berth compose ps`` lists 200 containers without
building a pydantic validator. :class:`agent.runtime.engine.Engine` reads statuses through it too,
so there is one rule for what a state is called.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.runtime.errors import ContainerNotFound
from agent.runtime.paths import RunPaths
from agent.runtime.recorded import Recorded
from agent.runtime.statuses import ContainerStatus, State, rfc3339
from agent.store import atomic
from agent.store.layout import Layout
from agent.store.records import Deployment


@dataclass(frozen=True)
class RunState:
    """What the store remembers of a container between runs (``containers/<name>/run.json``)."""

    desired: str = "stopped"
    """running or stopped: what the user (or the agent) asked for last; survives reboots."""
    restarts: int = 0
    """Restarts by policy in the current crash loop."""
    total_restarts: int = 0
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    serial: int | None = None
    """The version that ran last."""
    last_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunState:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Status:
    """A deployment as ``container status`` shows it."""

    name: str
    state: str
    """created, running, paused, restarting, exited, stopped (never started or stopped by the user)."""
    version: int
    image: str
    image_digest: str
    pid: int | None
    exit_code: int | None
    oom_killed: bool
    started_at: str | None
    finished_at: str | None
    restarts: int
    health: str | None
    ports: list[dict[str, Any]] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_health_record(path: Path) -> dict[str, Any] | None:
    """The record the supervisor wrote last, or None when there is none (no supervisor ran)."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        from agent.runtime.probes import ProbeError

        raise ProbeError(
            f"{path}: unreadable health record ({exc}); it is rewritten after the next check"
        ) from exc
    return data if isinstance(data, dict) else None


class Observer:
    """The statuses of one store's containers, read from their files."""

    def __init__(self, layout: Layout, paths: RunPaths, containers: Recorded | None = None) -> None:
        self.layout = layout
        self.paths = paths
        self.containers = containers or Recorded(paths)

    def run_state(self, name: str) -> RunState:
        data = atomic.read_json(self.layout.containers / name / "run.json")
        return RunState.from_json(data) if isinstance(data, dict) else RunState()

    def container(self, name: str) -> ContainerStatus | None:
        try:
            return self.containers.state(name)
        except ContainerNotFound:
            return None

    def health_path(self, name: str) -> Path:
        return self.paths.container(name) / "health.json"

    def attachment(self, deployment: Deployment) -> dict[str, Any] | None:
        """The network attachment of the container or of its group (the JSON
        :class:`agent.network.attaching.Attacher` keeps), None when it has none."""
        data = atomic.read_json(self.paths.attachment(deployment.name))
        if not data:
            group = (deployment.spec_data.get("config") or {}).get("group")
            data = atomic.read_json(self.paths.attachment(f"group.{group}")) if group else None
        return data if isinstance(data, dict) and data else None

    def status(self, deployment: Deployment) -> Status:
        """The status of ``deployment`` (its current version as the store has it)."""
        name = deployment.name
        run = self.run_state(name)
        ctr = self.container(name)
        attached = self.attachment(deployment)
        record = read_health_record(self.health_path(name)) if ctr is not None else None
        if ctr is None:  # nothing of it runs: stopped (never started, or stopped) or exited with a code
            if run.started_at is None:
                state = "created" if run.desired == "running" else "stopped"
            else:
                state = "exited" if run.exit_code is not None else "stopped"
        elif (
            ctr.state is State.EXITED
            and run.desired == "running"
            and not ctr.stop_requested
            and will_restart(deployment, ctr, run)
        ):
            state = "restarting"
        else:
            state = ctr.state.value
        exit_code = ctr.exit_code if ctr is not None and ctr.exit_code is not None else run.exit_code
        return Status(
            name=name,
            state=state,
            version=deployment.serial,
            image=deployment.state.image,
            image_digest=deployment.state.image_digest,
            pid=ctr.pid if ctr is not None and ctr.alive else None,
            exit_code=None if ctr is not None and ctr.alive else exit_code,
            oom_killed=(ctr.oom_killed if ctr is not None else run.oom_killed),
            started_at=ctr.started_at if ctr is not None else rfc3339(run.started_at),
            finished_at=None
            if ctr is not None and ctr.alive
            else (ctr.finished_at if ctr is not None and ctr.finished_at else rfc3339(run.finished_at)),
            restarts=run.total_restarts,
            health=str(record.get("status")) if record and record.get("status") else None,
            ports=[dict(p) for p in attached.get("ports", ())] if attached else [],
            addresses={e["network"]: e["ipv4"] for e in attached.get("endpoints", ())} if attached else {},
            error=(ctr.error if ctr is not None else None) or run.last_error,
        )


def will_restart(deployment: Deployment, ctr: ContainerStatus, run: RunState) -> bool:
    """Whether the exit command is about to start an exited container again (this needs the
    validated spec, so only a container in that state pays for it)."""
    from agent.runtime import restarting
    from agent.runtime.engine import backoff_kind

    return restarting.decide(
        deployment.spec.config.restart,
        exit_code=ctr.exit_code if ctr.exit_code is not None else 255,
        stopped_by_user=ctr.stop_requested,
        restarts=run.restarts,
        uptime=0.0,
        kind=backoff_kind(deployment.spec),
    ).restart
