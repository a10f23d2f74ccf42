"""The images/ tree: a record is complete or absent, never a mix of two pulls.

We test these aspects:
- a re-pull of a tag that fails part-way (here: the disk refuses the config write) leaves no
  record, instead of the old image.json beside the new manifest;
- a re-pull that completes replaces the record, and the manifest digest matches image.json.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from agent.store import atomic
from agent.store.images import ImageNotFound, ImageStore
from tests.support.layers import Entry, layer
from tests.support.storing import put_image

REF = "localhost/pulls/app:1"


def test_failed_repull_leaves_no_mixed_record(shm: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    put_image(shm, REF, [layer([Entry("v", data=b"1")])])
    real = atomic.write_bytes

    def refuse_config(path: Path, data: bytes, mode: int = 0o644) -> None:
        if path.name == "config.json":
            raise OSError(28, "No space left on device")
        real(path, data, mode)

    monkeypatch.setattr(atomic, "write_bytes", refuse_config)
    with pytest.raises(OSError, match="No space"):
        put_image(shm, REF, [layer([Entry("v", data=b"2")])], note="second")
    monkeypatch.undo()
    with pytest.raises(ImageNotFound):
        ImageStore(shm).get("localhost", "pulls/app", "1")


def test_completed_repull_replaces_the_record(shm: Path) -> None:
    first = put_image(shm, REF, [layer([Entry("v", data=b"1")])])
    second = put_image(shm, REF, [layer([Entry("v", data=b"2")])], note="second")
    assert first.digest != second.digest
    record = ImageStore(shm).get("localhost", "pulls/app", "1")
    assert record.digest == second.digest
    assert (
        "sha256:" + hashlib.sha256((record.path / "manifest.json").read_bytes()).hexdigest() == record.digest
    )


def test_a_tag_cannot_stand_in_for_a_pinned_digest(shm: Path) -> None:
    """A tag spelled ``sha256-<hex>`` would share the directory of the digest it spells."""
    pinned = "sha256:" + hashlib.sha256(b"the image the operator reviewed").hexdigest()
    with pytest.raises(ValueError, match="reserved"):
        put_image(shm, "registry.example/team/app:" + pinned.replace(":", "-"), [layer([Entry("evil")])])


def test_a_pinned_deploy_checks_the_records_digest(shm: Path) -> None:
    """Even a record found under the digest's directory must carry that digest."""
    from agent.store import deploying

    record = put_image(shm, "registry.example/team/app:1", [layer([Entry("v", data=b"1")])])
    other = "sha256:" + "0" * 64
    digest_dir = ImageStore(shm).dir_for("registry.example", "team/app", other)
    digest_dir.parent.mkdir(parents=True, exist_ok=True)
    record.path.rename(digest_dir)  # a record of one image filed under another digest
    store = deploying.Store.open(shm)
    with pytest.raises(ImageNotFound, match="not the pinned one"):
        deploying.find_image(store, f"registry.example/team/app@{other}")


def test_the_store_is_private(shm: Path) -> None:
    """Layers may hold private data and setuid binaries: other users cannot reach the store."""
    from agent.store.layout import Layout

    root = shm / "fresh"
    put_image(root, REF, [layer([Entry("bin/su", data=b"su", mode=0o4755)])])
    assert root.stat().st_mode & 0o777 == 0o700
    root.chmod(0o755)
    Layout(root, create=True)
    assert root.stat().st_mode & 0o777 == 0o700


def test_garbage_collection_waits_for_pulls_under_way(shm: Path) -> None:
    """Blobs of a pull are referenced by nothing until its image is recorded: gc must not take them."""
    import threading
    import time

    from agent.store import collecting, locking
    from agent.store.blobs import BlobStore

    root = shm / "store"
    put_image(root, REF, [layer([Entry("v", data=b"1")])])
    holding = threading.Event()
    release = threading.Event()

    def pull_in_progress() -> None:
        with locking.pulling(root):
            BlobStore(root).write_bytes(b"a layer whose image is not recorded yet")
            holding.set()
            release.wait(10)

    puller = threading.Thread(target=pull_in_progress)
    puller.start()
    assert holding.wait(10)
    started = time.monotonic()
    threading.Timer(0.5, release.set).start()
    collected = collecting.collect(root)
    waited = time.monotonic() - started
    puller.join()
    assert waited >= 0.4, "gc ran while a pull was between its blobs and its record"
    assert any(line.startswith("blob ") for line in collected)  # afterwards the orphan goes
