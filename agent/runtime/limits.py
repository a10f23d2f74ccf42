"""What a container may consume: ``linux.resources``, ``process.rlimits`` and ``linux.devices``.

Units follow docker: memory in bytes, ``cpu`` cores become a CFS quota over a 100 ms period,
``memory_swap`` is memory plus swap (-1 unlimited; unset with a memory limit: twice the limit, as
docker and podman set it). Without ulimits for them, RLIMIT_NOFILE and RLIMIT_NPROC are podman's
built-in defaults (1048576, lowered to Berth's own hard limit when that is smaller), so that a
container sees the same limits under Berth as under podman.
Devices are denied except those the spec names (runc adds the standard ones, /dev/null and
friends, by itself); a privileged container gets every host device.
"""

from __future__ import annotations

import os
import resource
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.runtime import capabilities
from agent.runtime.configerrors import BundleError
from translators.spec.mounts import DeviceMapping
from translators.spec.resources import Resources

CPU_PERIOD = 100_000
DEFAULT_RLIMIT = 1_048_576
DEFAULT_RLIMITS = {"nofile": DEFAULT_RLIMIT, "nproc": DEFAULT_RLIMIT}
RLIMITS = (
    "as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
    "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
)  # fmt: skip
UNLIMITED = 2**64 - 1


def _limit(value: int) -> int:
    """-1 (docker's "unlimited") is RLIM_INFINITY."""
    return UNLIMITED if value < 0 else value


def rlimits(resources: Resources) -> list[dict[str, Any]]:
    out = []
    for name, limit in resources.ulimits.items():
        key = name.lower().removeprefix("rlimit_")
        if key not in RLIMITS:
            raise BundleError(f"ulimits: unknown limit {name!r}; known: {', '.join(RLIMITS)}")
        hard = _limit(limit.hard)
        ceiling = _hard_limit(key)
        if hard > ceiling:
            raise BundleError(
                f"ulimits.{name}: hard limit {limit.hard} is above Berth's own ({ceiling}) and this host "
                "does not give Berth CAP_SYS_RESOURCE to raise it: lower the limit"
            )
        out.append({"type": f"RLIMIT_{key.upper()}", "hard": hard, "soft": _limit(limit.soft)})
    given = {r["type"] for r in out}
    for key, default in DEFAULT_RLIMITS.items():
        if f"RLIMIT_{key.upper()}" not in given:
            value = min(default, _hard_limit(key))
            out.append({"type": f"RLIMIT_{key.upper()}", "hard": value, "soft": value})
    return out


def _hard_limit(key: str) -> int:
    """The highest hard limit runc can give: anything with CAP_SYS_RESOURCE; without it (as on
    this machine) this process's own hard limit, to which the default is lowered, as rootless
    podman does."""
    if "CAP_SYS_RESOURCE" in capabilities.host_set("CapEff"):
        return UNLIMITED
    number = getattr(resource, f"RLIMIT_{key.upper()}", None)
    if number is None:  # a limit Python cannot read (locks): runc will say if it cannot set it
        return UNLIMITED
    hard = resource.getrlimit(number)[1]
    return UNLIMITED if hard == resource.RLIM_INFINITY else hard


def resources(spec: Resources, devices: list[Device], *, privileged: bool) -> dict[str, Any]:
    """``linux.resources``: memory, cpu, pids and the device cgroup rules."""
    out: dict[str, Any] = {}
    memory: dict[str, Any] = {}
    if spec.memory is not None:
        memory["limit"] = spec.memory
        if spec.memory_swap is None:
            memory["swap"] = 2 * spec.memory
    if spec.memory_swap is not None:
        if spec.memory is None and spec.memory_swap != -1:
            raise BundleError("resources.memory_swap needs resources.memory (swap counts memory plus swap)")
        if spec.memory is not None and 0 <= spec.memory_swap < spec.memory:
            raise BundleError(
                "resources.memory_swap must be at least resources.memory (it is memory plus swap)"
            )
        if spec.memory_swap == -1:
            memory.pop("swap", None)  # unlimited: no limit written, as podman does
        else:
            memory["swap"] = spec.memory_swap
    if spec.memory_reservation is not None:
        memory["reservation"] = spec.memory_reservation
    if memory:
        out["memory"] = memory
    cpu: dict[str, Any] = {}
    if spec.cpu_shares is not None:
        cpu["shares"] = spec.cpu_shares
    if spec.cpu is not None:
        cpu["quota"] = round(spec.cpu * CPU_PERIOD)
        cpu["period"] = CPU_PERIOD
    if spec.cpuset is not None:
        cpu["cpus"] = spec.cpuset
    if cpu:
        out["cpu"] = cpu
    if spec.pids is not None:
        out["pids"] = {"limit": spec.pids if spec.pids > 0 else -1}
    if privileged:
        out["devices"] = [{"allow": True, "access": "rwm"}]
    else:
        out["devices"] = [{"allow": False, "access": "rwm"}, *(d.rule() for d in devices)]
    return out


@dataclass(frozen=True)
class Device:
    """A host device node given to the container."""

    path: str
    """Inside the container."""
    kind: str
    """c or b."""
    major: int
    minor: int
    mode: int
    uid: int
    gid: int
    access: str
    """cgroup access: r, w, m."""

    def oci(self) -> dict[str, Any]:
        """The ``linux.devices`` entry (runc creates the node)."""
        return {
            "path": self.path, "type": self.kind, "major": self.major, "minor": self.minor,
            "fileMode": self.mode, "uid": self.uid, "gid": self.gid,
        }  # fmt: skip

    def rule(self) -> dict[str, Any]:
        """The device cgroup rule letting the container use it."""
        return {
            "allow": True,
            "type": self.kind,
            "major": self.major,
            "minor": self.minor,
            "access": self.access,
        }


def _device(host: Path, container: str, access: str) -> Device:
    try:
        st = os.stat(host)
    except OSError as exc:
        raise BundleError(f"resources.devices: {host}: {exc.strerror}") from None
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    else:
        raise BundleError(f"resources.devices: {host} is not a character or block device")
    rdev = st.st_rdev
    return Device(
        container,
        kind,
        os.major(rdev),
        os.minor(rdev),
        stat.S_IMODE(st.st_mode),
        st.st_uid,
        st.st_gid,
        access,
    )


def devices(mappings: list[DeviceMapping]) -> list[Device]:
    """The spec's devices. CDI names are refused: this host has no CDI registry."""
    out = []
    for mapping in mappings:
        if not mapping.host.startswith("/"):
            raise BundleError(
                f"resources.devices: {mapping.host}: CDI devices are not supported by Berth yet"
            )
        out.append(_device(Path(mapping.host), mapping.container or mapping.host, mapping.permissions))
    return out


def host_devices(root: Path = Path("/dev")) -> list[Device]:
    """Every device node under /dev (privileged containers), as podman adds them."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in ("pts", "shm", "mqueue"))
        for name in sorted(filenames):
            path = Path(dirpath) / name
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if path == root / "console":
                continue  # runc makes the container's own /dev/console (podman skips it too)
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                out.append(_device(path, str(path), "rwm"))
    return out
