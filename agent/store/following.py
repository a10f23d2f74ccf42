"""Unpacking layers while their blobs download: a thread per layer follows the blob's partial file.

A deploy that has to pull an image hands the puller a :class:`Following` (a
:class:`agent.store.blobs.Watching`). For each layer blob downloaded from its first byte, a
:class:`Follower` thread reads the partial file through its own descriptor as the download writes
it, waiting at the written end, and unpacks it under ``tmp/`` exactly as a stored blob is unpacked
(:func:`agent.store.layers.unpack_blob`: same reader, limits and checks). The download thread only
writes and hashes; decompression, hashing of the tar and file creation run on the follower's
thread, and gunzip, sha256 and system calls release the GIL, so the two overlap on two cores.

Nothing read this way is trusted early. The result is handed to the deploy
(:meth:`Following.take`) only when the download ended with the blob verified (its digest and
size) and moved into place, and the unpack read exactly the announced size; the caller still
compares its diff_id with the image config's. Anything else (a failed or retried download, a
hostile layer, a deploy that stops) discards the follower's directory, and the layer is unpacked
again from the verified blob the usual way, which reports any problem as it always did: a
follower never produces an error of its own. The partial file is the buffer between the two
threads, so memory stays that of one unpack however fast the network is. Followers write only
under ``tmp/``, with the store lock held by the deploy, which joins them before it lets go.
"""

from __future__ import annotations

import io
import os
import queue
import threading
from pathlib import Path
from typing import Any, BinaryIO, cast

from agent.store import layers
from agent.store.batching import Batches
from agent.store.blobs import BlobStore, Watcher
from agent.store.layout import Layout
from agent.store.tarreading import CHUNK, Reader
from agent.store.unpacking import CREATE_FLAGS, LayerDescription

FOLLOWERS = 2
"""Layers unpacked while they download, at most, at once (as many as layers.UNPACK_WORKERS): a
layer whose download starts while two are unpacking is unpacked after the pull, as before."""
CREATORS = 2
"""Threads creating a follower's small files: the two cores."""
BATCH_FILES = 32
BATCHES = 8
AHEAD = 2
"""Uncompressed chunks (of :data:`agent.store.tarreading.CHUNK`, 1 MiB) a follower's
decompression runs ahead of its unpacker: memory stays bounded whatever the layer's size."""


class _Abandoned(Exception):
    """The download failed or the deploy stopped: the follower gives up."""


class Follower:
    """Unpacks one layer blob while it is written (a :class:`agent.store.blobs.Watcher`)."""

    def __init__(self, layout: Layout, partial: Path, digest: str, size: int) -> None:
        self.digest = digest
        self.size = size
        """The announced size: where the stream ends for the unpacker, however long the file gets."""
        self._layout = layout
        self._partial = partial
        self._cond = threading.Condition()
        self._fd = -1
        self._written = 0
        self._ended: bool | None = None
        self._stopped = False
        self._done = False
        self.result: tuple[Path, LayerDescription] | None = None
        """The work directory and description, when the unpack got through."""
        self._thread = threading.Thread(target=self._run, name=f"berth-follow-{digest[7:19]}", daemon=True)
        self._thread.start()

    # -- the download's side ------------------------------------------------------------------
    def written(self, total: int) -> None:
        with self._cond:
            if self._fd < 0 and not (self._stopped or self._done):
                try:  # opened here, while the partial file certainly exists under its name
                    self._fd = os.open(self._partial, os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    self._stopped = True  # the download goes on; the layer is unpacked later
            self._written = total
            self._cond.notify_all()

    def ended(self, committed: bool) -> None:
        with self._cond:
            self._ended = committed
            self._cond.notify_all()

    # -- the deploy's side --------------------------------------------------------------------
    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self) -> tuple[Path, LayerDescription] | None:
        """Wait for the unpack; its result if the blob was verified, else None (nothing kept)."""
        self._thread.join()
        with self._cond:
            verified = self._ended is True and not self._stopped
        if self.result is not None and not verified:
            layers.discard(self._layout, self.result[0])
            self.result = None
        return self.result

    # -- the follower's thread ----------------------------------------------------------------
    def read_at(self, view: memoryview, pos: int) -> int:
        """Read into ``view`` at ``pos``, waiting for the download; 0 at the announced end."""
        with self._cond:
            while True:
                if self._stopped or self._done or self._ended is False:
                    raise _Abandoned(self.digest)
                if pos >= self.size:
                    return 0
                if self._fd >= 0 and self._written > pos:
                    break
                self._cond.wait()
            fd, wanted = self._fd, min(len(view), min(self._written, self.size) - pos)
        count = os.preadv(fd, [view[:wanted]], pos)  # the fd stays open: only this thread closes it
        if count <= 0:  # the file shrank under us: only a failed download does that
            raise _Abandoned(self.digest)
        return count

    def _run(self) -> None:
        ahead: list[_ReadAhead] = []

        def wrap(stream: Reader) -> Reader:
            ahead.append(_ReadAhead(stream, self.digest))
            return ahead[0]

        creator = _Creating(self.digest)
        try:
            self.result = layers.unpack_blob(
                self._layout,
                self.digest,
                lambda: cast(BinaryIO, _Growing(self)),
                diff_id=None,
                wrap=wrap,
                creator=creator,
            )
        except Exception:  # unpacked again from the verified blob, which reports the problem
            self.result = None
        finally:
            creator.close()  # the unpacker closed it already, unless it never started
            with self._cond:  # a decompression still waiting for the download gives up
                self._done = True
                self._cond.notify_all()
            for reader in ahead:
                reader.close()
            with self._cond:
                fd, self._fd = self._fd, -1
            if fd >= 0:
                os.close(fd)


class _Growing(io.RawIOBase):
    """The partial file as a stream that waits at its written end; it reads like a regular file
    (a read returns all it asked for unless the end is reached) and seeks, for its size."""

    def __init__(self, follower: Follower) -> None:
        self._follower = follower
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: self._follower.size}[whence]
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view):
            count = self._follower.read_at(view[done:], self._pos)
            if not count:
                break
            self._pos += count
            done += count
        return done


class _ReadAhead:
    """Decompresses on a thread of its own, at most :data:`AHEAD` chunks before the unpacker.

    Only a follower reads this way: an error of the stream is raised at the next read, maybe
    before the entries that precede it are unpacked, which is fine where errors are not reported
    (the verified blob is unpacked again, without it)."""

    def __init__(self, inner: Reader, digest: str) -> None:
        self._inner = inner
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(AHEAD)
        self._stop = threading.Event()
        self._chunk = b""
        self._pos = 0
        self._end = False
        self._thread = threading.Thread(target=self._fill, name=f"berth-inflate-{digest[7:19]}", daemon=True)
        self._thread.start()

    def _fill(self) -> None:
        try:
            while not self._stop.is_set():
                chunk = self._inner.read(CHUNK)
                self._put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the reader, which raises it
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        if self._pos >= len(self._chunk):
            if self._end:
                return b""
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._end = True
                raise item
            self._chunk, self._pos = item, 0
            if not item:
                self._end = True
                return b""
        if self._pos == 0 and (size < 0 or size >= len(self._chunk)):
            self._pos = len(self._chunk)
            return self._chunk
        end = len(self._chunk) if size < 0 else self._pos + size
        data = self._chunk[self._pos : end]
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _Creating:
    """Creates a follower's small plain files on :data:`CREATORS` threads, in batches
    (:class:`agent.store.batching.Batches`).

    Creating a file is four system calls (open, write, futimens, close) that release the GIL,
    and the kernel's part of them is most of an unpack's time: two threads use both cores while
    the unpacker's thread reads the next entries. Memory stays bounded: at most :data:`BATCHES`
    batches of at most :data:`BATCH_FILES` files (each at most :attr:`max_size`) wait."""

    max_size = 64 << 10

    def __init__(self, digest: str) -> None:
        self._batches: Batches[tuple[str, int, bytes, int]] = Batches(
            _create,
            name=f"berth-create-{digest[7:19]}",
            threads=CREATORS,
            batch=BATCH_FILES,
            waiting=BATCHES,
            fail_fast=True,
        )

    def create(self, path: str, mode: int, data: bytes, mtime_ns: int) -> None:
        self._batches.add((path, mode, data, mtime_ns))

    def flush(self) -> None:
        self._batches.flush()

    def close(self) -> None:
        self._batches.close()


def _create(item: tuple[str, int, bytes, int]) -> None:
    path, mode, data, mtime_ns = item
    fd = os.open(path, CREATE_FLAGS, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.utime(fd, ns=(mtime_ns, mtime_ns))
    finally:
        os.close(fd)


class Following:
    """The layers of one deploy's pull, unpacked as they download (a
    :class:`agent.store.blobs.Watching`, and the :class:`agent.store.layers.Unpacked` the deploy
    stacks from). Use it as a context manager around the pull and the stacking: leaving it stops
    and joins every follower and deletes whatever was not taken."""

    def __init__(self, layout: Layout, blobs: BlobStore) -> None:
        self._layout = layout
        self._blobs = blobs
        self._lock = threading.Lock()
        self._followers: dict[str, Follower] = {}

    def watch(self, digest: str, size: int) -> Watcher | None:
        if (self._layout.layer_dir(digest) / "layer.json").is_file():
            return None
        with self._lock:
            if digest in self._followers:
                return None  # one try per deploy: a retried download is unpacked afterwards
            if sum(1 for f in self._followers.values() if f.running()) >= FOLLOWERS:
                return None  # memory and threads stay those of FOLLOWERS unpacks, whatever the image
            follower = self._followers[digest] = Follower(
                self._layout, self._blobs.partial_path(digest), digest, size
            )
        return follower

    def take(self, digest: str) -> tuple[Path, LayerDescription] | None:
        with self._lock:
            follower = self._followers.pop(digest, None)
        return follower.join() if follower is not None else None

    def close(self) -> None:
        with self._lock:
            left = list(self._followers.values())
            self._followers.clear()
        for follower in left:
            follower.stop()
        for follower in left:
            follower.join()

    def __enter__(self) -> Following:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
