"""Unpacked layers (``layers/sha256/<hex>/``) and flattened images (``merged/sha256/<chain>/``).

Each layer is unpacked once, by the digest of its blob, whatever image refers to it; an image's
layers are flattened once into a merged tree of hard links, keyed by the chain of its layer
digests. Both are built under ``tmp/``, flushed with one ``syncfs`` (one for an image's new layers
and its merged tree together) and renamed into place, so a directory under ``layers/`` or
``merged/`` is always complete: a crash leaves only ``tmp/`` debris, which recovery clears. A layer that fails (malformed, hostile, or not the ``rootfs.diff_ids`` entry
its image config names) leaves nothing: its partial tree is deleted before the error is raised.

The uncompressed stream is hashed while it is unpacked and compared with the config's diff_id
before the layer is renamed into place, as containerd and containers/storage do: a layer whose
content is not what the image's config promised is never used.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from agent.store import atomic, crashpoints, merging, streams, syncing, trees, unpacking
from agent.store.blobs import BlobStore
from agent.store.images import ImageRecord
from agent.store.layout import Layout
from agent.store.limits import Limits
from agent.store.merging import LayerSource
from agent.store.tarreading import Reader
from agent.store.unpacking import LayerDescription, LayerError
from translators.errors import BerthError


class ImageConfigError(BerthError):
    """The image config does not describe its layers (``rootfs.diff_ids``)."""


def chain_key(layer_digests: list[str]) -> str:
    """Identity of a stack of layers: the same layers in the same order give the same tree."""
    return "sha256:" + hashlib.sha256("\n".join(layer_digests).encode()).hexdigest()


def _scratch(layout: Layout, what: str) -> Path:
    path = layout.tmp / f"{what}.{os.getpid()}.{os.urandom(4).hex()}"
    path.mkdir()
    return path


def discard(layout: Layout, work: Path) -> None:
    """A failed build goes to the trash and is deleted now: the store is left as it was."""
    trashed = layout.trash / work.name
    os.rename(work, trashed)
    trees.remove(str(trashed))


def diff_ids(image: ImageRecord) -> list[str]:
    """The config's ``rootfs.diff_ids``, one per layer, or :class:`ImageConfigError`."""
    rootfs: Any = image.config.get("rootfs") if isinstance(image.config, dict) else None
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise ImageConfigError(f"image {image.reference}: its config has no rootfs.diff_ids list")
    if len(ids) != len(image.layers):
        raise ImageConfigError(
            f"image {image.reference}: its config lists {len(ids)} diff_ids for {len(image.layers)} layers"
        )
    return list(ids)


def load_layer(layout: Layout, digest: str) -> LayerSource:
    path = layout.layer_dir(digest)
    data = atomic.read_json(path / "layer.json")
    if data is None:
        raise FileNotFoundError(f"layer {digest} is not unpacked")
    return LayerSource(digest, path / "diff", LayerDescription.from_json(data))


def _mismatch(digest: str, found: str, expected: str) -> LayerError:
    return LayerError(
        "", f"uncompressed content hashes to {found}, not to the image config's diff_id {expected}", digest
    )


def ensure_layer(
    layout: Layout,
    blobs: BlobStore,
    digest: str,
    *,
    diff_id: str | None = None,
    limit: int | None = None,
    limits: Limits | None = None,
) -> LayerSource:
    """The unpacked layer of blob ``digest``, unpacking it now if needed (caller holds the lock).

    ``diff_id`` is what the image config says the uncompressed tar hashes to; a layer that
    hashes otherwise is refused (also one unpacked earlier for another image).
    """
    final = layout.layer_dir(digest)
    if (final / "layer.json").is_file():
        return _stored(layout, digest, diff_id)
    work, desc = _unpack(layout, blobs, digest, diff_id=diff_id, limit=limit, limits=limits)
    syncing.syncfs(work)
    crashpoints.hit("unpack:before-rename")
    os.rename(work, final)
    atomic.fsync_dir(final.parent)
    return LayerSource(digest, final / "diff", desc)


def _stored(layout: Layout, digest: str, diff_id: str | None) -> LayerSource:
    source = load_layer(layout, digest)
    if diff_id is not None and source.desc.diff_id != diff_id:
        raise _mismatch(digest, source.desc.diff_id, diff_id)
    return source


def _unpack(
    layout: Layout,
    blobs: BlobStore,
    digest: str,
    *,
    diff_id: str | None,
    limit: int | None = None,
    limits: Limits | None = None,
) -> tuple[Path, LayerDescription]:
    """Unpack blob ``digest`` into a new directory under ``tmp/`` and describe it there
    (``layer.json`` written, nothing flushed or renamed); a failure leaves nothing."""
    return unpack_blob(
        layout, digest, lambda: open(blobs.path(digest), "rb"), diff_id=diff_id, limit=limit, limits=limits
    )


def unpack_blob(
    layout: Layout,
    digest: str,
    opener: Callable[[], BinaryIO],
    *,
    diff_id: str | None,
    limit: int | None = None,
    limits: Limits | None = None,
    wrap: Callable[[Reader], Reader] | None = None,
    creator: unpacking.Creator | None = None,
) -> tuple[Path, LayerDescription]:
    """Unpack the compressed tar that ``opener`` opens (blob ``digest``, seekable to its end for
    its size) into a new directory under ``tmp/``, as :func:`_unpack` does. ``wrap`` may wrap
    the uncompressed stream (a follower decompresses on a thread of its own) and ``creator``
    create its small files (on threads of their own)."""
    limits = limits or Limits.from_env()
    work = _scratch(layout, "layer")
    diff = work / "diff"
    diff.mkdir(mode=0o755)
    hasher = hashlib.sha256()
    try:
        with opener() as raw:
            stream, kind = streams.open_tar_stream(raw, limit, limits)
            tee = _Hashing(wrap(stream) if wrap is not None else stream, hasher)
            desc = unpacking.unpack_stream(tee, diff, limits=limits, creator=creator)
            try:  # the diff_id covers the whole stream, padding after the end blocks included
                while tee.read(1 << 20):
                    pass
            except Exception as exc:
                raise LayerError("<end of archive>", unpacking.describe(exc)) from exc
        found = "sha256:" + hasher.hexdigest()
        if diff_id is not None and found != diff_id:
            raise _mismatch(digest, found, diff_id)
    except BaseException as exc:
        if isinstance(exc, LayerError) and not exc.layer:
            exc.layer = digest
        discard(layout, work)
        raise
    desc.compression = kind
    desc.tar_bytes = tee.total
    desc.diff_id = found
    # compact: a layer of 20,000 files has as many entries, and indenting them costs tens of ms
    atomic.write_bytes(work / "layer.json", json.dumps(desc.to_json(), separators=(",", ":")).encode())
    return work, desc


class _Hashing:
    """Hashes the uncompressed tar as it is read (the layer's diff_id)."""

    def __init__(self, inner: Reader, hasher: hashlib._Hash) -> None:
        self.inner = inner
        self.hasher = hasher
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        self.hasher.update(data)
        self.total += len(data)
        return data

    def tell(self) -> int:
        return self.total


class Unpacked(Protocol):
    """Layers unpacked while their blobs downloaded (:class:`agent.store.following.Following`)."""

    def take(self, digest: str) -> tuple[Path, LayerDescription] | None:
        """The work directory and description of blob ``digest`` unpacked under ``tmp/`` from the
        blob now verified in the store, once that unpack is over; None when there is none (not
        followed, or the download or the unpack failed: the blob is unpacked again here)."""


UNPACK_WORKERS = 2
"""Layers unpacked at once. Most of unpacking is system calls, decompression and hashing, which
release the GIL, so two layers on two threads use both cores (debian:3layer's two large layers:
about 1.4x faster, see benchmarks/ISSUE-14.md)."""
WAITERS = 2
"""Threads that only wait for a layer unpacked while it downloaded (``early``): at most two of
those unpack at once (agent.store.following.FOLLOWERS), so the layers not followed get
:data:`UNPACK_WORKERS` threads of their own beside them."""


class _Unpacking:
    """The layers of ``wanted`` (digest -> diff_id) not in the store yet, unpacked on threads from
    the start, while the caller stacks the ones that are done (in the image's order).

    For each such layer a thread takes what ``early`` unpacked while it downloaded, when its
    diff_id is the expected one, and otherwise unpacks the stored blob (at most
    :data:`UNPACK_WORKERS` of those at once): a layer that was not followed does not wait for
    the followed ones below it any more. Each result lands in ``fresh`` (digest -> its directory
    under ``tmp/`` and the source read from it), for the caller to commit or delete; a failed
    unpack has deleted its own. Leaving the context waits for every thread.

    When they are all done, a ``syncfs`` on a thread of its own starts writing the new layers
    back while the stacking goes on, so the one that must come before the renames has mostly
    the merged tree left to write. Only timing changes: that one still runs.
    """

    def __init__(
        self,
        layout: Layout,
        blobs: BlobStore,
        wanted: dict[str, str],
        fresh: dict[str, tuple[Path, LayerSource]],
        early: Unpacked | None,
    ) -> None:
        self._layout = layout
        self._blobs = blobs
        self._wanted = wanted
        self._fresh = fresh
        self._early = early
        self._slots = threading.BoundedSemaphore(UNPACK_WORKERS)
        self._lock = threading.Lock()
        todo = [d for d in wanted if not (layout.layer_dir(d) / "layer.json").is_file()]
        self._left = len(todo)
        self._writeback: threading.Thread | None = None
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max(1, min(len(todo), UNPACK_WORKERS + WAITERS)), thread_name_prefix="berth-unpack"
        )
        self._futures: dict[str, concurrent.futures.Future[LayerSource]] = {}
        try:
            for digest in todo:
                self._futures[digest] = self._pool.submit(self._one, digest)
        except BaseException:
            self.close()
            raise

    def _one(self, digest: str) -> LayerSource:
        try:
            taken = self._early.take(digest) if self._early is not None else None
            if taken is not None and taken[1].diff_id == self._wanted[digest]:
                work, desc = taken
            else:
                if taken is not None:
                    discard(self._layout, taken[0])
                with self._slots:
                    work, desc = _unpack(self._layout, self._blobs, digest, diff_id=self._wanted[digest])
            source = LayerSource(digest, work / "diff", desc)
            with self._lock:
                self._fresh[digest] = (work, source)
            return source
        finally:
            with self._lock:
                self._left -= 1
                last = not self._left
            if last and self._fresh:
                self._writeback = threading.Thread(
                    target=_write_back, args=(self._layout.tmp,), name="berth-writeback", daemon=True
                )
                self._writeback.start()

    def source(self, digest: str, diff_id: str) -> LayerSource:
        """Layer ``digest`` once it is unpacked (or the stored one), checked against ``diff_id``;
        raises its failure."""
        future = self._futures.get(digest)
        if future is None:
            return _stored(self._layout, digest, diff_id)
        source = future.result()
        if source.desc.diff_id != diff_id:  # the same layer twice, with two diff_ids
            raise _mismatch(digest, source.desc.diff_id, diff_id)
        return source

    def first_error(self, order: list[tuple[str, str]]) -> BaseException | None:
        """Once every thread is done: the error a layer-by-layer unpack would have met first (the
        first failed unpack in the image's order, then the first diff_id that does not match)."""
        self.close()
        for digest, _ in order:
            future = self._futures.get(digest)
            failed = future.exception() if future is not None else None
            if failed is not None:
                return failed
        for digest, diff_id in order:
            try:
                self.source(digest, diff_id)
            except Exception as exc:  # handed to the caller, which raises it
                return exc
        return None

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._writeback is not None:
            self._writeback.join()

    def __enter__(self) -> _Unpacking:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _write_back(path: Path) -> None:
    with contextlib.suppress(OSError):  # reported by the syncfs that counts, if it fails there too
        syncing.syncfs(path)


def ensure_merged(
    layout: Layout, blobs: BlobStore, image: ImageRecord, early: Unpacked | None = None
) -> Path:
    """The flattened root filesystem of ``image`` (``merged/sha256/<chain>/rootfs``).

    The layers not unpacked yet are unpacked under ``tmp/`` (:class:`_Unpacking`) and each is
    stacked as soon as it and the ones below it are there, while the layers above it may still
    be unpacking. Then one ``syncfs`` flushes them and the merged tree together before anything
    is renamed into place: one flush per image instead of one per layer and one more for the
    tree. Nothing is published before every layer is unpacked and matches its diff_id. If
    anything fails, all of it is deleted (the layers are unpacked again next time), and the
    error is the one of stacking after unpacking, layer by layer: the first failed unpack in the
    image's order, then the first diff_id mismatch, then the stacking's own.
    """
    digests = [layer.digest for layer in image.layers]
    final = layout.merged_dir(chain_key(digests))
    if (final / "merged.json").is_file():
        return final / "rootfs"
    expected = diff_ids(image)
    order = list(zip(digests, expected, strict=True))
    fresh: dict[str, tuple[Path, LayerSource]] = {}
    """Layers unpacked now: digest -> (their directory under tmp/, the source read from it)."""
    work = _scratch(layout, "merged")
    rootfs = work / "rootfs"
    try:
        rootfs.mkdir(mode=0o755)
        with _Unpacking(layout, blobs, dict(order), fresh, early) as unpacking:
            error: BaseException | None = None
            try:
                merger = merging.Merger(rootfs, work / "removed")
                sources = []
                with merger.stacking():
                    for digest, diff_id in order:
                        sources.append(unpacking.source(digest, diff_id))
                        merger.add(sources[-1])
                    merger.finish()
                merging.copy_root_meta(sources, rootfs)
            except Exception as exc:
                error = unpacking.first_error(order)
                if error is None or error is exc:
                    raise
            if error is not None:  # an unpack failed too, or a diff_id: reported first, as before
                raise error
    except BaseException:
        discard(layout, work)
        for layer_work, _ in fresh.values():
            discard(layout, layer_work)
        raise
    if (work / "removed").exists():
        os.rename(work / "removed", layout.trash / f"{work.name}.removed")  # gc deletes it
    atomic.write_json(work / "merged.json", {"layers": digests})
    syncing.syncfs(work)
    crashpoints.hit("unpack:before-rename")
    for digest, (layer_work, _) in fresh.items():
        os.rename(layer_work, layout.layer_dir(digest))
    if fresh:
        atomic.fsync_dir(layout.layer_dir(digests[0]).parent)
    crashpoints.hit("merge:before-rename")
    os.rename(work, final)
    atomic.fsync_dir(final.parent)
    return final / "rootfs"
