"""List + watch of ContainerDeployments into a local cache, as client-go's reflector does.

A full list gives the cache and a resourceVersion; a watch from there (with bookmarks, so the
version stays fresh on quiet resources) applies each change and queues its key. When the server
answers 410 Gone (the version was compacted) the reflector lists again; when the connection
drops or the API server restarts it reconnects with backoff, from the last version seen. Every
``resync`` seconds every cached key is queued again, so drift on the node is repaired even when
nothing changes in the API.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from agent.kube.client import Kube, KubeError

log = logging.getLogger("berth.agent")

WATCH_TIMEOUT = 300
"""Seconds a watch asks the server to keep it open (the server ends it then; we watch again)."""
UNREACHABLE_BACKOFF = 5.0
"""Longest wait between two tries while the API server cannot be reached at all."""


def key_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name')}"


class Reflector:
    """Keeps ``cache`` equal to the server's objects under ``path``; ``on_change(key)`` on every change."""

    def __init__(
        self,
        kube: Kube,
        path: str,
        on_change: Callable[[str], None],
        *,
        resync: float = 300.0,
        on_synced: Callable[[], None] | None = None,
    ) -> None:
        self.kube, self.path, self.on_change = kube, path, on_change
        self.resync, self.on_synced = resync, on_synced
        self.cache: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.version: str | None = None
        self.synced = threading.Event()
        self.lists = 0
        """How many full lists were made (the first, then one per 410 Gone)."""
        self.connected = threading.Event()
        self.last_contact: float | None = None
        self._wake = threading.Event()

    def wake(self) -> None:
        """Cut a backoff short: the API server answers again (or the agent stops)."""
        self._wake.set()

    def get(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            return self.cache.get(key)

    def names(self) -> list[str]:
        with self.lock:
            return list(self.cache)

    def _list(self) -> None:
        data = self.kube.call("GET", self.path)
        fresh = {key_of(item): item for item in data.get("items") or []}
        with self.lock:
            gone = set(self.cache) - set(fresh)
            self.cache = fresh
        self.version = (data.get("metadata") or {}).get("resourceVersion")
        self.lists += 1
        self.last_contact = time.time()
        for key in [*fresh, *gone]:
            self.on_change(key)
        if not self.synced.is_set():
            self.synced.set()
            if self.on_synced is not None:
                self.on_synced()

    def _watch(self, stop: threading.Event) -> None:
        query = {
            "watch": True,
            "allowWatchBookmarks": True,
            "resourceVersion": self.version or "",
            "timeoutSeconds": WATCH_TIMEOUT,
        }
        for event in self.kube.stream(self.path, query=query, timeout=WATCH_TIMEOUT + 30):
            self.connected.set()
            self.last_contact = time.time()
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                code = obj.get("code", 0)
                raise KubeError(
                    f"watch {self.path}: {code} {obj.get('message', '')}", code, obj.get("reason", "")
                )
            version = (obj.get("metadata") or {}).get("resourceVersion")
            if kind == "BOOKMARK":
                self.version = version or self.version
                continue
            key = key_of(obj)
            with self.lock:
                if kind == "DELETED":
                    self.cache.pop(key, None)
                else:
                    self.cache[key] = obj
            self.version = version or self.version
            self.on_change(key)
            if stop.is_set():
                return

    def run(self, stop: threading.Event) -> None:
        """List, then watch until ``stop``; 410 lists again, other failures back off and reconnect."""
        delay = 0.2
        failures = 0
        next_resync = time.monotonic() + self.resync
        while not stop.is_set():
            try:
                if self.version is None:
                    self._list()
                self._watch(stop)
                delay, failures = 0.2, 0
            except KubeError as exc:
                self.connected.clear()
                if exc.status == 410 or exc.reason in ("Expired", "Gone"):
                    log.info("watch of %s expired (410 Gone): listing again", self.path)
                    self.version = None
                    continue
                # unreachable: retry often (a refused connection costs the server nothing) until the
                # link is back, which also wakes us; an answering server in trouble gets more room
                cap = UNREACHABLE_BACKOFF if exc.status == 0 else 30.0
                failures += 1
                if failures <= 5 or failures % 100 == 0:  # an edge node may be cut off for days
                    log.warning("%s; again in %.1f s (try %d)", exc, min(delay, cap), failures)
                self._wake.wait(min(delay, cap))
                self._wake.clear()
                delay = min(delay * 2, cap)
            if time.monotonic() >= next_resync:
                next_resync = time.monotonic() + self.resync
                for key in self.names():
                    self.on_change(key)
