"""One writer at a time: an exclusive ``flock`` on ``<root>/lock``.

The CLI and the agent may both write the store; each transaction (and recovery) runs under this
lock. Readers take no lock: everything they read is switched in by a single rename, so they see
the state before a transaction or after it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

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
