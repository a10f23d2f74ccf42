"""Layers of one image unpacked at once (agent.store.layers): the result and the failures are those
of unpacking them one by one.

We test these aspects:
- an image of several new layers is stacked as before, every layer is committed under
  ``layers/`` with its diff_id, and nothing stays in ``tmp/``;
- when two layers are bad, the error is the one of the first bad layer in the image's order (the
  one a layer-by-layer unpack meets), naming its digest and entry, whichever thread finishes first;
- after a failure no layer is committed (the good ones included) and ``tmp/`` and ``trash/`` are
  empty;
- a layer already stored is used as it is, and only the missing ones are unpacked.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.store import layers
from agent.store.blobs import BlobStore
from agent.store.layout import Layout
from agent.store.unpacking import LayerError
from tests.support.layers import Entry, layer
from tests.support.storing import put_image


def _digest(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def _many(prefix: str, count: int) -> list[Entry]:
    return [Entry(f"{prefix}/f{i:04d}", data=f"{prefix}{i}".encode() * 50) for i in range(count)]


def test_several_new_layers_stack_as_one_by_one(store_root: Path) -> None:
    blobs = [layer(_many("a", 300)), layer(_many("b", 200)), layer([Entry("a/f0001", data=b"top")])]
    image = put_image(store_root, "localhost/par:1", blobs)
    layout = Layout(store_root)
    rootfs = layers.ensure_merged(layout, BlobStore(store_root), image)
    assert (rootfs / "a" / "f0001").read_bytes() == b"top"
    assert (rootfs / "a" / "f0299").read_bytes() == b"a299" * 50
    assert (rootfs / "b" / "f0199").read_bytes() == b"b199" * 50
    config_ids = image.config["rootfs"]["diff_ids"]
    for blob, diff_id in zip(blobs, config_ids, strict=True):
        assert layers.load_layer(layout, _digest(blob)).desc.diff_id == diff_id
    assert list(layout.tmp.iterdir()) == []


@pytest.mark.parametrize("big_first", [True, False], ids=["slow-first", "slow-second"])
def test_the_first_bad_layer_in_order_is_reported(store_root: Path, big_first: bool) -> None:
    """Two bad layers; the one listed first is reported even when the other fails sooner."""
    slow_bad = layer([*_many("s", 2000), Entry("s/../pwned", data=b"x")])
    quick_bad = layer([Entry("q", data=b"1"), Entry("q", data=b"2")])
    good = layer(_many("g", 50))
    ordered = [good, slow_bad, quick_bad] if big_first else [good, quick_bad, slow_bad]
    image = put_image(store_root, "localhost/par:2", ordered)
    layout = Layout(store_root)
    with pytest.raises(LayerError) as info:
        layers.ensure_merged(layout, BlobStore(store_root), image)
    first_bad = ordered[1]
    assert info.value.layer == _digest(first_bad)
    assert info.value.entry == ("s/../pwned" if big_first else "q")
    for where in (layout.layers, layout.merged, layout.tmp, layout.trash):
        assert list(where.iterdir()) == [], f"{where} is not empty"


def test_only_missing_layers_are_unpacked(store_root: Path) -> None:
    base = layer(_many("base", 20))
    put_image(store_root, "localhost/par:base", [base])
    layout = Layout(store_root)
    store_blobs = BlobStore(store_root)
    first = layers.ensure_layer(layout, store_blobs, _digest(base))
    inode = (first.diff / "base" / "f0000").stat().st_ino
    image = put_image(store_root, "localhost/par:3", [base, layer(_many("x", 30)), layer(_many("y", 30))])
    rootfs = layers.ensure_merged(layout, store_blobs, image)
    assert (rootfs / "base" / "f0000").stat().st_ino == inode  # the stored layer, not a new copy
    assert sorted(p.name for p in rootfs.iterdir()) == ["base", "x", "y"]
    assert len(list(layout.layers.iterdir())) == 3
