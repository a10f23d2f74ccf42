"""Small file-system work (links, small files) handed over in batches to a few threads.

Creating a file or a hard link is a few system calls that release the GIL; most of their cost is
the kernel's. Two threads doing them use both cores while the caller's thread goes on parsing
entries or deciding what to link. The unpacker (:mod:`agent.store.following`) and the merge
(:mod:`agent.store.merging`) both hand work over here.

Memory stays bounded: at most ``waiting`` batches of at most ``batch`` items wait. :meth:`flush`
returns once everything handed over is done, or raises the first failure; :meth:`close` drops
what still waits, stops the threads and always waits for them, so nothing writes into a tree
once its owner has returned or raised.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Batches(Generic[Item]):
    """``do(item)`` for every item handed over, on ``threads`` threads, in the order of no one: the
    caller hands over only items that need nothing not yet done (flush first when they do).

    ``fail_fast``: a failure is raised at the next hand-over too, not only at the next flush
    (the unpacker stops reading a layer whose files cannot be created; the merge keeps going to
    its next flush point, so that the first error of a layer is the one it reports)."""

    def __init__(
        self,
        do: Callable[[Item], None],
        *,
        name: str,
        threads: int,
        batch: int,
        waiting: int,
        fail_fast: bool,
    ) -> None:
        self._do = do
        self._size = batch
        self._fail_fast = fail_fast
        self._queue: queue.Queue[list[Item] | None] = queue.Queue(waiting)
        self._batch: list[Item] = []
        self._error: BaseException | None = None
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=name, daemon=True) for _ in range(threads)]
        for thread in self._threads:
            thread.start()

    def add(self, item: Item) -> None:
        self._batch.append(item)
        if len(self._batch) >= self._size:
            self._send()

    def _send(self) -> None:
        if self._error is not None and self._fail_fast:
            raise self._error
        batch, self._batch = self._batch, []
        if self._error is None:
            self._queue.put(batch)

    def flush(self) -> None:
        if self._batch:
            self._send()
        self._queue.join()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._batch = []
        self._closed = True  # what still waits is dropped
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _work(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                for item in batch:
                    if self._error is not None or self._closed:
                        break
                    self._do(item)
            except BaseException as exc:  # the caller's thread raises it at its next flush
                self._error = self._error or exc
            finally:
                self._queue.task_done()
