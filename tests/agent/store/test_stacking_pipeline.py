"""Stacking while unpacking, and links made on threads (agent.store.layers, agent.store.merging).

We test these aspects:
- a layer is stacked as soon as it and the layers below it are there: the layer below is in the
  merged tree while the layer above it is still being waited for;
- a layer that was not followed during the pull is unpacked at once, not after the followed
  layer below it is done;
- a link that fails on a linking thread is reported as it was on one thread: the first error in
  the layer's order (before a refused entry further on), one line naming the layer, with no
  linking thread left running and nothing committed.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.store import layers, merging
from agent.store.blobs import BlobStore
from agent.store.layout import Layout
from agent.store.unpacking import LayerDescription, LayerError
from tests.support.layers import Entry, layer
from tests.support.storing import put_image

WAIT = 20.0


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _many(prefix: str, count: int) -> list[Entry]:
    return [Entry(f"{prefix}/f{i:04d}", data=f"{prefix}{i}".encode()) for i in range(count)]


def _until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


class _Waiting:
    """An ``early`` (layers.Unpacked) that followed nothing, whose ``take`` of one layer first waits
    for ``condition`` (as a follower still unpacking would keep it waiting) and records whether it
    came true."""

    def __init__(self, digest: str, condition: Callable[[], bool]) -> None:
        self.digest = digest
        self.condition = condition
        self.seen: bool | None = None

    def take(self, digest: str) -> tuple[Path, LayerDescription] | None:
        if digest == self.digest:
            self.seen = _until(self.condition)
        return None


def _in_tmp(layout: Layout, pattern: str) -> Callable[[], bool]:
    return lambda: any(layout.tmp.glob(pattern))


def test_a_layer_is_stacked_while_the_layer_above_it_is_awaited(store_root: Path) -> None:
    base, top = layer(_many("base", 300)), layer(_many("top", 50))
    image = put_image(store_root, "localhost/pipe:1", [base, top])
    layout, blobs = Layout(store_root), BlobStore(store_root)
    early = _Waiting(_digest(top), _in_tmp(layout, "merged.*/rootfs/base/f0299"))
    rootfs = layers.ensure_merged(layout, blobs, image, early)
    assert early.seen, "the base layer was not stacked before the top layer was taken"
    assert sorted(p.name for p in rootfs.iterdir()) == ["base", "top"]
    assert (rootfs / "base" / "f0299").read_bytes() == b"base299"
    assert list(layout.tmp.iterdir()) == []


def test_a_layer_not_followed_does_not_wait_for_a_followed_one_below(store_root: Path) -> None:
    below, above = layer(_many("below", 50)), layer(_many("above", 50))
    image = put_image(store_root, "localhost/pipe:2", [below, above])
    layout, blobs = Layout(store_root), BlobStore(store_root)
    # the layer below is "still unpacking" until the one above has been unpacked from its blob
    early = _Waiting(_digest(below), _in_tmp(layout, "layer.*/layer.json"))
    rootfs = layers.ensure_merged(layout, blobs, image, early)
    assert early.seen, "the layer above was only unpacked after the one below was taken"
    assert sorted(p.name for p in rootfs.iterdir()) == ["above", "below"]
    assert len(list(layout.layers.iterdir())) == 2


def test_a_failed_link_on_a_thread_is_the_first_error_of_its_layer(store_root: Path) -> None:
    """Layer 1 lists 600 files (several batches of links), one of them gone from its directory,
    then an entry that the stacking refuses (an implied directory over a lower file): the missing
    file is reported, as one thread linking in order reported it."""
    assert 2 * merging.LINK_BATCH < 600
    lower = layer([Entry("x", data=b"file")])
    upper = layer([*_many("a", 600), Entry("x/y", data=b"below a file")])
    image = put_image(store_root, "localhost/pipe:3", [lower, upper])
    layout, blobs = Layout(store_root), BlobStore(store_root)
    sources = [layers.ensure_layer(layout, blobs, layer_.digest) for layer_ in image.layers]
    (sources[1].diff / "a" / "f0100").unlink()
    dest = store_root / "merged-here"
    dest.mkdir()
    with pytest.raises(LayerError) as info:
        merging.merge_layers(sources, dest, store_root / "removed")
    assert info.value.layer == _digest(upper)
    assert info.value.entry == ""
    assert "(ENOENT)" in str(info.value) and "\n" not in str(info.value)
    assert not [t for t in threading.enumerate() if t.name == "berth-link"]
    # the refusal further on is what a tree without the missing file meets
    (sources[1].diff / "a" / "f0100").write_bytes(b"a100")
    again = store_root / "merged-again"
    again.mkdir()
    with pytest.raises(LayerError) as refused:
        merging.merge_layers(sources, again, store_root / "removed-again")
    assert refused.value.entry == "x/y" and "not a directory" in str(refused.value)


def test_a_deploy_that_fails_in_the_stacking_commits_nothing(store_root: Path) -> None:
    lower = layer([Entry("x", data=b"file")])
    upper = layer([*_many("a", 600), Entry("x/y", data=b"below a file")])
    image = put_image(store_root, "localhost/pipe:4", [lower, upper])
    layout = Layout(store_root)
    with pytest.raises(LayerError) as info:
        layers.ensure_merged(layout, BlobStore(store_root), image)
    assert info.value.layer == _digest(upper) and info.value.entry == "x/y"
    for where in (layout.layers, layout.merged, layout.tmp, layout.trash):
        assert list(where.iterdir()) == [], f"{where} is not empty"
    assert not [t for t in threading.enumerate() if t.name in ("berth-link", "berth-writeback")]
