"""One writer at a time: an exclusive ``flock`` on ``<root>/lock``.

The CLI and the agent may both write the store; each transaction (and recovery) runs under this
lock. Readers take no lock: everything they read is switched in by a single rename, so they see
the state before a transaction or after it.

Pulls are not transactions (``berth pull`` takes no writer lock, and blobs land one by one), but
between a pull's first blob and its image record those blobs are referenced by nothing: garbage
collection would take them. So every pull holds ``<root>/pulls.lock`` shared, and collection takes
it exclusively, waiting for pulls under way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from agent.store import crashpoints
from agent.store.layout import Layout


@contextlib.contextmanager
def store_lock(layout: Layout) -> Iterator[None]:
    """Hold the store's writer lock (blocking); released on exit, or by the kernel on death."""
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        crashpoints.hit("lock:acquired")
        yield
    finally:
        os.close(fd)


PULLS_LOCK = "pulls.lock"


@contextlib.contextmanager
def _flock(path: Path, operation: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)


def pulling(root: Path) -> contextlib.AbstractContextManager[None]:
    """Held (shared) by a pull from its first blob to its image record."""
    Path(root).mkdir(mode=0o700, parents=True, exist_ok=True)
    return _flock(Path(root) / PULLS_LOCK, fcntl.LOCK_SH)


def no_pulls(layout: Layout) -> contextlib.AbstractContextManager[None]:
    """Held (exclusive) by garbage collection: no pull is between its blobs and its record."""
    return _flock(layout.root / PULLS_LOCK, fcntl.LOCK_EX)
