"""A work queue keyed by object, as client-go's rate-limited queue: a key is queued once however
often it changes, is handed to one worker at a time, and a key that failed waits its own backoff
(doubling up to a cap) so that one failing resource never holds back the others.

A key whose delay is over goes before the keys added meanwhile: it has waited its turn already,
and it is most often a rollout to finish (a new version whose settle window ended is judged
before the next resource is deployed), so 500 resources applied at once become Ready one after
the other instead of all at the end."""

from __future__ import annotations

import heapq
import threading
import time

BASE_DELAY = 0.5
MAX_DELAY = 60.0


class WorkQueue:
    def __init__(self, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> None:
        self._cond = threading.Condition()
        self._ready: list[str] = []
        self._queued: set[str] = set()
        self._active: set[str] = set()
        self._dirty: set[str] = set()  # changed while a worker had it: queued again when done
        self._later: list[tuple[float, str]] = []
        self._failures: dict[str, int] = {}
        self._base, self._cap = base, cap
        self._closed = False

    def add(self, key: str) -> None:
        with self._cond:
            if key in self._active:
                self._dirty.add(key)
            elif key not in self._queued:
                self._queued.add(key)
                self._ready.append(key)
                self._cond.notify()

    def add_after(self, key: str, delay: float) -> None:
        with self._cond:
            heapq.heappush(self._later, (time.monotonic() + delay, key))
            self._cond.notify()

    def retry(self, key: str) -> float:
        """Queue ``key`` again after its backoff; returns the delay."""
        with self._cond:
            n = self._failures.get(key, 0)
            self._failures[key] = n + 1
        delay = float(min(self._cap, self._base * 2.0**n))
        self.add_after(key, delay)
        return delay

    def forget(self, key: str) -> None:
        """``key`` succeeded: its backoff starts over."""
        with self._cond:
            self._failures.pop(key, None)

    def get(self, timeout: float | None = None) -> str | None:
        """The next key to work on (None when closed or after ``timeout``); call done() after."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                due = []
                while self._later and self._later[0][0] <= now:
                    _, key = heapq.heappop(self._later)
                    if key in self._active:
                        self._dirty.add(key)
                    elif key not in due:
                        if key in self._queued:  # added again meanwhile: it goes first all the same
                            self._ready.remove(key)
                        self._queued.add(key)
                        due.append(key)
                self._ready[0:0] = due
                if self._closed:
                    return None
                if self._ready:
                    key = self._ready.pop(0)
                    self._queued.discard(key)
                    self._active.add(key)
                    return key
                wait = None if deadline is None else deadline - now
                if self._later:
                    until = self._later[0][0] - now
                    wait = until if wait is None else min(wait, until)
                if wait is not None and wait <= 0 and deadline is not None and now >= deadline:
                    return None
                self._cond.wait(wait)

    def done(self, key: str) -> None:
        with self._cond:
            self._active.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                if key not in self._queued:
                    self._queued.add(key)
                    self._ready.append(key)
                    self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._ready) + len(self._active)
