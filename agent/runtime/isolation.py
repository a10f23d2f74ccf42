"""Namespaces and the kernel interfaces hidden from a container.

A container gets new pid, ipc, uts and mount namespaces, and a network namespace unless it runs on
the host network; a namespace may be joined instead (a pod group's network namespace) by its path.
``maskedPaths`` and ``readonlyPaths`` are podman's defaults (runc's plus /sys/fs/selinux and
/sys/dev/block); a privileged container sees everything, as in docker and podman.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agent.runtime.configerrors import BundleError
from agent.runtime.inputs import NAMESPACES
from translators.spec.security import Security

MASKED_PATHS = (
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/fs/selinux",
    "/sys/dev/block",
)  # fmt: skip
READONLY_PATHS = ("/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

# sysctls a container may set: those namespaced by the kernel (docker's and runc's rule)
_IPC_SYSCTLS = ("kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
                "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced")  # fmt: skip


def namespaces(mode: str, join: Mapping[str, Path]) -> list[dict[str, Any]]:
    """``linux.namespaces`` for a network ``mode`` (host, none, bridge) and namespaces to join."""
    unknown = sorted(set(join) - set(NAMESPACES))
    if unknown:
        raise BundleError(
            f"cannot join namespaces of type {', '.join(unknown)}: expected {', '.join(NAMESPACES)}"
        )
    if mode.startswith("container:") and "network" not in join:
        raise BundleError(
            f"network.mode {mode}: the path of that container's network namespace is needed to join it"
        )
    out: list[dict[str, Any]] = []
    for kind in NAMESPACES:
        if kind == "network" and mode == "host":
            if "network" in join:
                raise BundleError(
                    "network.mode host runs in the host's network namespace: none can be joined"
                )
            continue
        entry: dict[str, Any] = {"type": kind}
        if kind in join:
            entry["path"] = str(join[kind])
        out.append(entry)
    return out


def sysctls(security: Security, *, network_mode: str) -> dict[str, str]:
    """The spec's sysctls, refused when they are not namespaced or would change the host's."""
    for key in security.sysctls:
        if key in _IPC_SYSCTLS or key.startswith("fs.mqueue."):
            continue
        if key.startswith("net."):
            if network_mode == "host":
                raise BundleError(
                    f"security.sysctls: {key} would change the host's network settings (network.mode host)"
                )
            continue
        if key in ("kernel.domainname", "kernel.hostname"):
            raise BundleError(f"security.sysctls: set {key} with network.hostname/domainname instead")
        raise BundleError(f"security.sysctls: {key} is not namespaced: a container cannot set it")
    return dict(security.sysctls)


def masked_paths(security: Security) -> list[str]:
    if security.privileged:
        return []
    if security.masked_paths is not None:
        return list(security.masked_paths)
    return list(MASKED_PATHS)


def readonly_paths(security: Security) -> list[str]:
    return [] if security.privileged else list(READONLY_PATHS)
