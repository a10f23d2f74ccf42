"""The periodic look at a running deployment, cheap when nothing changed.

Every deployment is looked at again every few seconds (its container may have died, its health
changed) and on every resync. A full reconcile reads and validates the resource, the stored
deployment and the container's whole status (tens of milliseconds of Python): with 500 resources
those looks alone took the agent's whole CPU. A look is skipped when neither side moved since the
last full reconcile: the same resourceVersion of the resource (any spec, annotation, deletion or
status change moves it), the same node labels, and the same container signature (state, pid,
restarts, wanted state, health), which is read from a few small runtime files.
"""

from __future__ import annotations

import threading
from typing import Any

from agent.runtime import health
from agent.runtime.engine import Engine
from agent.runtime.errors import RuntimeFailure
from translators.errors import BerthError


class Looks:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._seen: dict[str, tuple[str, str, tuple[Any, ...]]] = {}
        self._lock = threading.Lock()

    def signature(self, name: str, labels: dict[str, str]) -> tuple[Any, ...] | None:
        """What a status report depends on locally; None when it cannot be read."""
        try:
            ctr = self.engine.container(name)
            run = self.engine.run_state(name)
        except (BerthError, RuntimeFailure, OSError):
            return None
        record = health.read_record(self.engine.health_path(name)) if ctr is not None else None
        return (
            ctr.state.value if ctr is not None else None,
            ctr.pid if ctr is not None else None,
            run.total_restarts,
            run.desired,
            (record or {}).get("status"),
            tuple(sorted(labels.items())),
        )

    def unchanged(self, key: str, obj: dict[str, Any], labels: dict[str, str]) -> bool:
        """Nothing moved since :meth:`remember` for ``key``."""
        with self._lock:
            seen = self._seen.get(key)
        if seen is None:
            return False
        version, name, signature = seen
        if (obj.get("metadata") or {}).get("resourceVersion") != version:
            return False
        return self.signature(name, labels) == signature

    def remember(self, key: str, version: str | None, name: str | None, labels: dict[str, str]) -> None:
        signature = self.signature(name, labels) if name and version else None
        with self._lock:
            if signature is None or version is None or name is None:
                self._seen.pop(key, None)
            else:
                self._seen[key] = (version, name, signature)

    def forget(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)
