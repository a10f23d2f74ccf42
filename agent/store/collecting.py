"""Garbage collection: blobs, layers and merged trees that nothing refers to.

Blobs are needed by images; unpacked layers and merged trees by images and by every kept version
of a deployment, current or rollback (a deployment keeps its layers even when its image is gone,
so the checker can verify its rootfs), and a kept version's image config blob as well. Container
directories (``containers/``) and named volumes (``volumes/``) are never collected here: a
version's container directory goes to the trash with its version, and volumes only by
:func:`agent.store.volumes.remove`.
Everything unreferenced is first renamed into ``trash/`` (cheap, atomic), then the trash is
deleted in one pass at the end: deletions are batched, never interleaved with file creation, which
this kind of disk punishes (see shared/peers-here.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from agent.store import layers, locking, trees
from agent.store.locking import store_lock

if TYPE_CHECKING:
    from agent.store.deploying import Store


def referenced(store: Store) -> tuple[set[str], set[str], set[str]]:
    """(blob digests, layer digests, merged chain keys) in use."""
    blobs: set[str] = set()
    layer_set: set[str] = set()
    chains: set[str] = set()
    for image in store.images.list():
        digests = [layer.digest for layer in image.layers]
        blobs.update(digests)
        blobs.add(image.config_digest)
        layer_set.update(digests)
        chains.add(layers.chain_key(digests))
    for kept in store.deployments.references().values():
        for version in kept:
            layer_set.update(version.get("layers") or [])
            chains.add(str(version.get("chain")))
            # versions deployed before image-config.json was kept still read the blob
            blobs.add(str(version.get("config_digest")))
    return blobs, layer_set, chains


def collect_locked(store: Store) -> list[str]:
    """Move unreferenced blobs, layers and merged trees to the trash, then empty it.

    Waits for pulls under way: their blobs are not referenced until their image is recorded.
    """
    with locking.no_pulls(store.layout):
        return _collect(store)


def _collect(store: Store) -> list[str]:
    blobs, layer_set, chains = referenced(store)
    layout = store.layout
    removed: list[str] = []
    candidates: list[tuple[str, Path]] = []
    for digest in store.blobs.digests():
        if digest not in blobs:
            candidates.append((f"blob {digest}", store.blobs.path(digest)))
    for path in sorted(layout.layers.iterdir()):
        if f"sha256:{path.name}" not in layer_set:
            candidates.append((f"layer sha256:{path.name}", path))
    for path in sorted(layout.merged.iterdir()):
        if f"sha256:{path.name}" not in chains:
            candidates.append((f"merged sha256:{path.name}", path))
    for what, path in candidates:
        os.rename(path, layout.trash / f"{path.name}.{os.urandom(4).hex()}")
        removed.append(what)
    purge_trash(store)
    return removed


def purge_trash(store: Store) -> None:
    """Delete everything in ``trash/`` in one pass, iteratively (trees may be very deep)."""
    for child in list(store.layout.trash.iterdir()):
        trees.remove(str(child))


def collect(root: Path) -> list[str]:
    from agent.store.deploying import Store, recover_locked  # avoids an import cycle

    store = Store.open(root, create=False)
    store.layout.ensure()
    with store_lock(store.layout):
        recover_locked(store)
        return collect_locked(store)
