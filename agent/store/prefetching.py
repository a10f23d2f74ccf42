"""Decompressing a layer on a second core while the unpacker writes files on the first.

Unpacking is a pipeline: decompress (isal or zstd, C code that releases the GIL), parse tar
headers and write files (Python and system calls). Run one after the other, a core sits idle
during each half. :class:`ReadAhead` reads the decompressed stream in 1 MiB chunks on a thread,
a few chunks ahead, and hands them to the unpacker through an ordinary buffered reader.

Nothing about the stream changes for its reader: the same bytes in the same order, and an error
of the decompressor or of the size cap (``streams.LayerTooLarge``) is raised, as the same
exception object, when the reader reaches the point where it happened, never earlier. Memory is
bounded by ``depth`` chunks. The thread only reads its inner stream; :meth:`ReadAhead.close`
stops it and waits for it, so the caller may close the blob file afterwards.
"""

from __future__ import annotations

import contextlib
import io
import queue
import threading
from typing import Any

from agent.store.tarreading import Reader

CHUNK = 1 << 20


class ReadAhead(io.RawIOBase):
    """A raw, read-only stream of ``inner``'s bytes, read ``depth`` chunks ahead on a thread."""

    def __init__(self, inner: Reader, *, chunk: int = CHUNK, depth: int = 4) -> None:
        super().__init__()
        self._inner = inner
        self._chunk = chunk
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._current = memoryview(b"")
        self._done = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._fill, name="berth-read-ahead", daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._inner.read(self._chunk)
                self._put(data)
                if not data:
                    return
        except BaseException as exc:  # handed to the reader, raised where it happened
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._current:
            if self._error is not None:
                raise self._error  # again on every later read, as the inner stream would
            if self._done:
                return 0
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._error = item
                raise item
            if not item:
                self._done = True
                return 0
            self._current = memoryview(item)
        n = min(len(buffer), len(self._current))
        buffer[:n] = self._current[:n]
        self._current = self._current[n:]
        return n

    def close(self) -> None:
        """Stop the thread and wait for it (it finishes the read it is in)."""
        if not self.closed:
            self._stop.set()
            while self._thread.is_alive():
                with contextlib.suppress(queue.Empty):
                    self._queue.get(timeout=0.05)
            self._thread.join()
        super().close()


def read_ahead(inner: Reader, *, chunk: int = CHUNK, depth: int = 4) -> io.BufferedReader:
    """``inner`` as a buffered reader fed by a :class:`ReadAhead` thread; close it when done."""
    return io.BufferedReader(ReadAhead(inner, chunk=chunk, depth=depth), buffer_size=chunk)
