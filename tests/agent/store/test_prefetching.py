"""Pipelined unpacking: a layer is decompressed on a second core (agent.store.prefetching).

We test these aspects:
- the reader gets the same bytes in the same order, whatever sizes it reads with (tar headers of
  512 bytes, file data of any length), from a real gzip layer through streams.open_tar_stream;
- an error of the inner stream (the size cap of a decompression bomb) is raised as the same
  exception, only once the reader has had every byte before it, and again on later reads;
- closing early (the unpacker stopped at a hostile entry) stops the thread, even when it is
  blocked on a full queue, and reads no further than its few chunks ahead;
- an unpacked layer is the same through ensure_layer as through the plain stream.
"""

from __future__ import annotations

import gzip
import io
import os
import random
import threading
from pathlib import Path

import pytest

from agent.store import layers, prefetching, streams, unpacking
from agent.store.blobs import BlobStore
from agent.store.layout import Layout
from tests.support.layers import Entry, layer
from tests.support.storing import put_image
from tests.support.trees import describe


def test_same_bytes_whatever_the_read_sizes() -> None:
    data = os.urandom(3 << 20) + b"tail"
    blob = gzip.compress(data, compresslevel=1)
    rng = random.Random(7)  # noqa: S311 - read sizes, not secrets
    with io.BytesIO(blob) as raw:
        stream, kind = streams.open_tar_stream(raw)
        assert kind == "gzip"
        out = bytearray()
        with prefetching.read_ahead(stream, chunk=64 << 10, depth=2) as ahead:
            while chunk := ahead.read(rng.choice([1, 512, 4096, 70_000, 1 << 20])):
                out += chunk
            assert ahead.read(512) == b""
    assert bytes(out) == data


class _Failing:
    """``good`` bytes, then the error a size cap raises."""

    def __init__(self, good: bytes, error: BaseException) -> None:
        self.inner = io.BytesIO(good)
        self.error = error

    def read(self, size: int = -1) -> bytes:
        data = self.inner.read(size)
        if not data:
            raise self.error
        return data


def test_an_error_is_raised_where_it_happened() -> None:
    good = os.urandom(300_000)
    error = streams.LayerTooLarge("layer is larger than 300000 bytes uncompressed")
    with prefetching.read_ahead(_Failing(good, error), chunk=4096, depth=3) as ahead:
        assert ahead.read(len(good)) == good  # every byte before the error first
        with pytest.raises(streams.LayerTooLarge) as caught:
            ahead.read(512)
        assert caught.value is error
        with pytest.raises(streams.LayerTooLarge):
            ahead.read(512)


class _Endless:
    """An endless stream that counts what was read from it."""

    def __init__(self) -> None:
        self.served = 0

    def read(self, size: int = -1) -> bytes:
        self.served += size
        return b"\0" * size


def test_closing_early_stops_the_thread_and_bounds_the_read_ahead() -> None:
    inner = _Endless()
    ahead = prefetching.read_ahead(inner, chunk=1024, depth=4)
    assert ahead.read(100) == b"\0" * 100
    before = {t.name for t in threading.enumerate()}
    assert "berth-read-ahead" in before
    ahead.close()  # the thread is blocked on a full queue by now, or about to be
    assert "berth-read-ahead" not in {t.name for t in threading.enumerate()}
    # read so far: the chunk handed out, the queue's four, and the one it was putting
    assert inner.served <= 1024 * (1 + 4 + 2)


def test_ensure_layer_unpacks_the_same_tree(store_root: Path, shm: Path) -> None:
    root = store_root
    entries = [Entry(f"d{i % 7}/f{i}", data=os.urandom(i * 37 % 5000)) for i in range(400)]
    entries += [Entry("d1/link", "symlink", linkname="f1"), Entry("d2/hard", "link", linkname="d2/f2")]
    image = put_image(root, "localhost/prefetch:1", [layer(entries, "gzip")])
    source = layers.ensure_layer(Layout(root), BlobStore(root), image.layers[0].digest)
    plain = shm / "plain"
    plain.mkdir()
    with open(BlobStore(root).path(image.layers[0].digest), "rb") as raw:
        stream, _ = streams.open_tar_stream(raw)
        desc = unpacking.unpack_stream(stream, plain)
    assert describe(source.diff, mtimes=True) == describe(plain, mtimes=True)
    assert source.desc.entries == desc.entries and len(desc.entries) > 400
