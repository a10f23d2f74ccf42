"""The process's capability sets, as podman writes them for runc.

docker's default set, plus ``add``, minus ``drop`` (``ALL`` in either); every capability when
privileged. The bounding set is the container's whole set. For root, effective and permitted are
the same and nothing is inheritable or ambient. For another user, podman makes the capabilities
*added explicitly* effective, permitted, inheritable and ambient, so that they survive ``execve``
of a non-root process (docker leaves them out, so ``cap_add`` does nothing for a non-root user
there); Berth does as podman.

A capability this host does not hold (Berth's own bounding set: on this machine CAP_SYS_RESOURCE is
missing) cannot be given to a container: runc would fail to start it. ``privileged`` and ``add:
[ALL]`` mean "every capability the host has", as in podman; naming a missing one is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.runtime.configerrors import BundleError
from translators.spec.security import ALL_CAPABILITIES, Security

BITS = ALL_CAPABILITIES
"""In capability.h order: a capability's index is its bit number."""


def host_set(field: str = "CapBnd", status: Path = Path("/proc/self/status")) -> frozenset[str]:
    """A capability set of this process by name: CapBnd (what it may pass on), CapEff, ..."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                mask = int(line.split()[1], 16)
                return frozenset(name for bit, name in enumerate(BITS) if mask >> bit & 1)
    except (OSError, ValueError):
        pass
    return frozenset(BITS)


def container_set(security: Security, available: frozenset[str] | None = None) -> list[str]:
    """The container's capabilities (sorted): its bounding set."""
    available = host_set() if available is None else available
    if security.privileged:
        return sorted(available)
    wanted = set(security.capabilities.effective())
    named = set(security.capabilities.add) - {"ALL"}
    missing = sorted(c for c in named & wanted if c not in available)
    if missing:
        raise BundleError(
            f"security.capabilities.add: {', '.join(missing)} cannot be granted: "
            "this host does not give it to Berth (not in its bounding set)"
        )
    return sorted(wanted & available)


def process_capabilities(caps: list[str], security: Security, uid: int) -> dict[str, Any]:
    """``process.capabilities`` for a container holding ``caps`` and running as ``uid``."""
    if uid == 0:
        sets = {"bounding": caps, "effective": caps, "permitted": caps}
    else:
        added = security.capabilities.add
        kept = caps if security.privileged or "ALL" in added else sorted(c for c in caps if c in added)
        sets = {"bounding": caps, "effective": kept, "permitted": kept, "inheritable": kept, "ambient": kept}
    return {k: v for k, v in sets.items() if v}
