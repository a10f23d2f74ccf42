"""Where runtime state of one store lives: a tmpfs directory, so a reboot leaves none behind.

Several stores may run containers on one host (the test suite does): each store gets its own run
directory, runc root and cgroup parent, derived from the store root's path, so two stores never
see each other's containers. ``$BERTH_RUN_ROOT`` (or ``--run-root``) overrides the run directory.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from agent.store.layout import DEFAULT_ROOT

DEFAULT_RUN_BASE = Path("/run/berth")
ENV_RUN_ROOT = "BERTH_RUN_ROOT"


def store_key(root: Path) -> str:
    """A short, stable name for a store root: '' for the default store."""
    resolved = Path(os.path.abspath(root))
    if resolved == DEFAULT_ROOT:
        return ""
    return hashlib.sha256(str(resolved).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RunPaths:
    """Runtime directories of one store."""

    run: Path
    """The store's run directory (tmpfs)."""
    key: str
    """store_key of the store root: names the cgroup parent."""

    @classmethod
    def for_store(cls, root: Path, run_root: Path | None = None) -> RunPaths:
        key = store_key(root)
        if run_root is None:
            env = os.environ.get(ENV_RUN_ROOT)
            run_root = Path(env) if env else (DEFAULT_RUN_BASE / key if key else DEFAULT_RUN_BASE)
        return cls(Path(run_root), key)

    @property
    def runc_root(self) -> Path:
        return self.run / "runc"

    def container(self, name: str) -> Path:
        return self.run / "containers" / name

    def attachment(self, name: str) -> Path:
        """The network attachment of container (or ``group.<group>``) ``name``, as
        :class:`agent.network.attaching.Attacher` keeps it."""
        return self.run / "networks" / "attached" / f"{name}.json"

    def bundle(self, name: str) -> Path:
        return self.container(name) / "bundle"

    @property
    def cgroup_parent(self) -> str:
        """cgroupsPath prefix: ``/berth`` for the default store, ``/berth-<key>`` otherwise."""
        return f"/berth-{self.key}" if self.key else "/berth"

    def cgroup_path(self, name: str) -> str:
        return f"{self.cgroup_parent}/{name}"
