"""The agent's deployments in the store, found by resource key without listing the store.

A reconcile needs the one local deployment of its resource. Listing the store for it reads every
deployment's records, so N resources cost N listings of N: at 500 resources that was most of the
agent's time. One full listing (at the first use, and after every full list of the API, where
orphans are looked for anyway) gives ``namespace/name -> deployment name``; the reconciles keep it
up to date as they deploy and remove, and every lookup reads the one deployment it names (so the
map is only a hint: a stale entry is dropped, never trusted).
"""

from __future__ import annotations

import threading

from agent.runtime.engine import Engine
from agent.store.deployments import DeploymentError
from agent.store.records import Deployment


def key_of(deployment: Deployment) -> str:
    owner = deployment.state.owner
    return f"{owner.namespace or 'default'}/{owner.resource}"


class LocalDeployments:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._names: dict[str, str] | None = None
        self._lock = threading.Lock()

    def all(self) -> dict[str, Deployment]:
        """Every deployment the agent made, by resource key (a full listing; refreshes the map)."""
        found = {key_of(d): d for d in self.engine.store().list(owner_kind="agent")}
        with self._lock:
            self._names = {key: d.name for key, d in found.items()}
        return found

    def get(self, key: str) -> Deployment | None:
        """The local deployment of resource ``key``, if there is one."""
        with self._lock:
            names = self._names
        if names is None:
            return self.all().get(key)
        with self._lock:
            name = names.get(key)
        if name is None:
            return None
        deployment = self.by_name(name)
        if deployment is None or key_of(deployment) != key:
            with self._lock:
                if names.get(key) == name:
                    del names[key]
            return None
        return deployment

    def by_name(self, name: str) -> Deployment | None:
        """Deployment ``name`` if it exists and the agent made it."""
        try:
            deployment = self.engine.store().get(name)
        except DeploymentError:
            return None
        return deployment if deployment.state.owner.kind == "agent" else None

    def added(self, key: str, name: str) -> None:
        with self._lock:
            if self._names is not None:
                self._names[key] = name

    def removed(self, name: str) -> None:
        with self._lock:
            if self._names is not None:
                for key in [k for k, v in self._names.items() if v == name]:
                    del self._names[key]
