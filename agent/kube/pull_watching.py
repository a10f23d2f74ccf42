"""A deploy's pull, watched so that only a pull that takes long is reported while it runs.

The agent writes a resource's Progressing condition once its new version is started (what a
kubectl user wants to see, and one write of the three a clean rollout may make: finalizer,
Progressing, Ready). A pull is under way before that; most take a fraction of a second (an image
already in the store is not pulled at all), so reporting every pull would cost a fourth write and
show ``Pulling`` for a moment nobody sees. :class:`PullWatch` wraps the store's puller: when a pull
has run for :data:`PULL_REPORT_AFTER` seconds, ``slow`` is called once from a timer thread (the
reconciler writes Pulling then), and :meth:`PullWatch.settle` waits for that write, so it never
lands after a later one. A pull that fails is reported by the failure's own status.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.store.blobs import Watching

PULL_REPORT_AFTER = 2.0
"""Seconds a pull runs before the resource's status says it is pulling."""


class PullWatch:
    """A :class:`agent.store.deploying.Puller` that times the pulls it passes on."""

    def __init__(
        self, puller: Callable[..., Any], slow: Callable[[], None], *, after: float = PULL_REPORT_AFTER
    ) -> None:
        """``puller``: an :class:`agent.store.deploying.Puller`."""
        self.puller, self.slow, self.after = puller, slow, after
        self.pulls = 0
        self.seconds = 0.0
        """How long the pulls took, together."""
        self.reported = False
        self._timers: list[threading.Timer] = []

    def __call__(
        self,
        reference: str,
        root: Path,
        /,
        *,
        transport: str,
        digest: str | None = None,
        watching: Watching | None = None,
    ) -> Any:
        # called under the store's writer lock: the slow report runs in its own thread, never here
        timer = threading.Timer(self.after, self._report)
        timer.daemon = True
        self._timers.append(timer)
        began = time.monotonic()
        timer.start()
        try:
            # ``watching``: the store unpacks the layers while they download (agent.store.following)
            return self.puller(reference, root, transport=transport, digest=digest, watching=watching)
        finally:
            timer.cancel()
            self.pulls += 1
            self.seconds += time.monotonic() - began

    def _report(self) -> None:
        self.reported = True
        self.slow()

    def settle(self) -> bool:
        """Wait for a slow report under way; True if one was made."""
        for timer in self._timers:
            timer.cancel()
            timer.join()  # at once unless its report is being written
        return self.reported
