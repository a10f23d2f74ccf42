"""Unpacked layers (``layers/sha256/<hex>/``) and flattened images (``merged/sha256/<chain>/``).

Each layer is unpacked once, by the digest of its blob, whatever image refers to it; an image's
layers are flattened once into a merged tree of hard links, keyed by the chain of its layer
digests. Both are built under ``tmp/``, flushed with one ``syncfs`` and renamed into place, so a
directory under ``layers/`` or ``merged/`` is always complete: a crash leaves only ``tmp/`` debris,
which recovery clears.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from agent.store import atomic, crashpoints, merging, streams, syncing, unpacking
from agent.store.blobs import BlobStore
from agent.store.images import ImageRecord
from agent.store.layout import Layout
from agent.store.merging import LayerSource
from agent.store.tarreading import Reader
from agent.store.unpacking import LayerDescription


def chain_key(layer_digests: list[str]) -> str:
    """Identity of a stack of layers: the same layers in the same order give the same tree."""
    return "sha256:" + hashlib.sha256("\n".join(layer_digests).encode()).hexdigest()


def _scratch(layout: Layout, what: str) -> Path:
    path = layout.tmp / f"{what}.{os.getpid()}.{os.urandom(4).hex()}"
    path.mkdir()
    return path


def _discard(layout: Layout, work: Path) -> None:
    """A failed build goes to the trash (deleted later, in a batch)."""
    os.rename(work, layout.trash / work.name)


def load_layer(layout: Layout, digest: str) -> LayerSource:
    path = layout.layer_dir(digest)
    data = atomic.read_json(path / "layer.json")
    if data is None:
        raise FileNotFoundError(f"layer {digest} is not unpacked")
    return LayerSource(digest, path / "diff", LayerDescription.from_json(data))


def ensure_layer(layout: Layout, blobs: BlobStore, digest: str, *, limit: int | None = None) -> LayerSource:
    """The unpacked layer of blob ``digest``, unpacking it now if needed (caller holds the lock)."""
    final = layout.layer_dir(digest)
    if (final / "layer.json").is_file():
        return load_layer(layout, digest)
    work = _scratch(layout, "layer")
    diff = work / "diff"
    diff.mkdir(mode=0o755)
    hasher = hashlib.sha256()
    try:
        with open(blobs.path(digest), "rb") as raw:
            stream, kind = streams.open_tar_stream(raw, limit)
            tee = _Hashing(stream, hasher)
            desc = unpacking.unpack_stream(tee, diff)
    except BaseException:
        _discard(layout, work)
        raise
    desc.compression = kind
    desc.tar_bytes = tee.total
    desc.diff_id = "sha256:" + hasher.hexdigest()
    # compact: a layer of 20,000 files has as many entries, and indenting them costs tens of ms
    atomic.write_bytes(work / "layer.json", json.dumps(desc.to_json(), separators=(",", ":")).encode())
    syncing.syncfs(work)
    crashpoints.hit("unpack:before-rename")
    os.rename(work, final)
    atomic.fsync_dir(final.parent)
    return LayerSource(digest, final / "diff", desc)


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


def ensure_merged(layout: Layout, blobs: BlobStore, image: ImageRecord) -> Path:
    """The flattened root filesystem of ``image`` (``merged/sha256/<chain>/rootfs``)."""
    digests = [layer.digest for layer in image.layers]
    final = layout.merged_dir(chain_key(digests))
    if (final / "merged.json").is_file():
        return final / "rootfs"
    sources = [ensure_layer(layout, blobs, digest) for digest in digests]
    work = _scratch(layout, "merged")
    rootfs = work / "rootfs"
    rootfs.mkdir(mode=0o755)
    try:
        merging.merge_layers(sources, rootfs, work / "removed")
    except BaseException:
        _discard(layout, work)
        raise
    if (work / "removed").exists():
        os.rename(work / "removed", layout.trash / f"{work.name}.removed")
    atomic.write_json(work / "merged.json", {"layers": digests})
    syncing.syncfs(work)
    crashpoints.hit("merge:before-rename")
    os.rename(work, final)
    atomic.fsync_dir(final.parent)
    return final / "rootfs"
