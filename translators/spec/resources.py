"""Limits on what a container may consume."""

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, model_validator

from translators.spec.base import SpecModel, also_accepts, empty_dict, empty_list
from translators.spec.mounts import Devices
from translators.spec.units import parse_cpu, parse_memory

Bytes = Annotated[int, BeforeValidator(parse_memory, json_schema_input_type=int | str)]
Cores = Annotated[float, BeforeValidator(parse_cpu, json_schema_input_type=float | str)]


class Ulimit(SpecModel):
    """A resource limit (setrlimit); an integer is taken as both soft and hard."""

    soft: int
    """Soft limit."""
    hard: int
    """Hard limit, at least the soft one."""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"soft": value, "hard": value}
        return value

    @model_validator(mode="after")
    def _order(self) -> "Ulimit":
        if self.hard >= 0 and self.soft > self.hard:
            raise ValueError(f"soft limit {self.soft} exceeds hard limit {self.hard}")
        return self


class Resources(SpecModel):
    """cgroup limits and devices. Null means unlimited."""

    memory: Bytes | None = None
    """Memory limit in bytes; accepts 512M, 1G, 512Mi (M and G are binary, as in docker)."""
    memory_reservation: Bytes | None = None
    """Soft memory limit in bytes."""
    memory_swap: int | None = None
    """Memory plus swap limit in bytes; -1: unlimited swap."""
    cpu: Cores | None = None
    """CPU limit in cores; accepts 0.5, "500m", 2."""
    cpu_shares: int | None = Field(default=None, ge=2, le=262144)
    """Relative CPU weight (cgroup v1 shares)."""
    cpuset: str | None = None
    """CPUs the container may run on, e.g. 0-1."""
    pids: int | None = Field(default=None, ge=-1)
    """Maximum number of processes; -1: unlimited."""
    shm_size: Bytes | None = None
    """Size of /dev/shm in bytes."""
    devices: Devices = Field(default_factory=empty_list)
    """Host devices; short form "/dev/fuse" or "/dev/a:/dev/b:rwm"."""
    ulimits: dict[str, Annotated[Ulimit, also_accepts(Ulimit | int)]] = Field(default_factory=empty_dict)
    """Resource limits by name (nofile, nproc, core, ...)."""

    @model_validator(mode="before")
    @classmethod
    def _swap(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("memory_swap"), str):
            value = dict(value)
            swap = value["memory_swap"]
            value["memory_swap"] = -1 if swap.strip() == "-1" else parse_memory(swap)
        return value
