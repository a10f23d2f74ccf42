"""What the supervisor is told about each running container (the runtime's side of the seam)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agent.oci.imageconfig import ImageHealthcheck
from agent.runtime.probes import ProbeError
from translators.spec.probes import Probe


class Target(Protocol):
    """One running container. A new ``pid`` means a new process: its health starts over."""

    @property
    def name(self) -> str: ...

    @property
    def pid(self) -> int:
        """The container's init process on the host (its network namespace is probed)."""

    @property
    def healthcheck(self) -> Probe | None:
        """The spec's liveness check (compose healthcheck, Kubernetes livenessProbe)."""

    @property
    def readiness(self) -> Probe | None: ...

    @property
    def startup(self) -> Probe | None: ...

    @property
    def image_healthcheck(self) -> ImageHealthcheck | None:
        """The image's HEALTHCHECK, inherited by the liveness check as docker does."""

    @property
    def health_file(self) -> Path:
        """Where the health record goes (read by ``container health NAME``)."""

    @property
    def cgroup(self) -> str | None:
        """runc's cgroupsPath; None: found from the pid."""

    @property
    def restarts(self) -> int: ...

    @property
    def restart_on_unhealthy(self) -> bool:
        """Restart when liveness turns unhealthy (Kubernetes); docker only marks it unhealthy."""

    def exec(self, argv: Sequence[str], timeout: float) -> tuple[int, str]:
        """Run ``argv`` in the container; raise TimeoutError after ``timeout`` seconds."""

    def restart(self, reason: str) -> None:
        """Restart the container (its restart policy and backoff apply); ``reason`` is logged."""

    def health_changed(self, status: str) -> None:
        """The container turned ``healthy`` or ``unhealthy`` (its ``health_status`` event)."""


TargetSource = Callable[[], Iterable[Target]]
"""Called every refresh interval: the containers running now."""


def _no_exec(argv: Sequence[str], timeout: float) -> tuple[int, str]:
    raise ProbeError("this container has no exec function: exec checks cannot run")


def _no_restart(reason: str) -> None:
    return None


def _no_health(status: str) -> None:
    return None


@dataclass(frozen=True)
class StaticTarget:
    """A :class:`Target` made of plain values and two functions."""

    name: str
    pid: int
    health_file: Path
    healthcheck: Probe | None = None
    readiness: Probe | None = None
    startup: Probe | None = None
    image_healthcheck: ImageHealthcheck | None = None
    cgroup: str | None = None
    restarts: int = 0
    restart_on_unhealthy: bool = True
    exec_fn: Callable[[Sequence[str], float], tuple[int, str]] = _no_exec
    restart_fn: Callable[[str], None] = _no_restart
    health_fn: Callable[[str], None] = _no_health

    def exec(self, argv: Sequence[str], timeout: float) -> tuple[int, str]:
        return self.exec_fn(argv, timeout)

    def restart(self, reason: str) -> None:
        self.restart_fn(reason)

    def health_changed(self, status: str) -> None:
        self.health_fn(status)
