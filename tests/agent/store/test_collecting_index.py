"""Garbage collection at a removal reads what is still referenced from the metadata index.

We test these aspects:
- ``remove --cleanup`` collects exactly what no kept version (current or rollback) nor image
  record refers to: the removed deployment's image when nobody else runs it, with its blobs, layer
  and merged tree; an image a rollback target keeps stays;
- a removal reads the versions of the deployment it removes and of no other (the index says what
  the others keep: reading them all made deleting 500 deployments quadratic), and what the index
  says equals what every version says;
- an index written by an older Berth (no ``kept`` entries) is not trusted: the versions are read,
  and the next write rewrites the index in the current form;
- ``store gc`` (no transaction) reads every version, and finds nothing left to collect.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.store import atomic, checking, collecting, deploying
from agent.store.deployments import Deployments
from tests.support.layers import Entry, layer
from tests.support.storing import put_image

IMG1 = "localhost:5000/gc/app:1"
IMG2 = "localhost:5000/gc/app:2"
IMG3 = "localhost:5000/gc/app:3"


def _images(root: Path) -> dict[str, list[str]]:
    """Three images of one distinct layer each; their (config and layer) blob digests."""
    made = {}
    for ref, text in ((IMG1, b"1\n"), (IMG2, b"2\n"), (IMG3, b"3\n")):
        record = put_image(root, ref, [layer([Entry("etc/", "dir"), Entry("etc/v", data=text)])])
        made[ref] = [record.config_digest, *(item.digest for item in record.layers)]
    return made


def _deploy(root: Path, name: str, image: str) -> None:
    deploying.deploy(root, deploying.build_spec({"name": name, "image": image}))


def _full(store: deploying.Store) -> dict[str, list[dict[str, object]]]:
    """What every version says it keeps, read from the versions themselves."""
    return {name: entry["kept"] for name, entry in store.deployments.index()[0].items()}


def _blobs_of(removed: list[str]) -> set[str]:
    return {what.split(" ", 1)[1] for what in removed if what.startswith("blob ")}


def test_a_removal_collects_exactly_the_unreferenced_reading_only_its_own_versions(
    shm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = shm / "store"
    blobs = _images(root)
    _deploy(root, "a", IMG1)
    _deploy(root, "b", IMG2)
    _deploy(root, "b", IMG3)  # b runs IMG3 and keeps IMG2 for rollback
    _deploy(root, "c", IMG3)
    store = deploying.Store.open(root)
    read: list[str] = []
    real = Deployments.version

    def counted(self: Deployments, name: str, serial: int) -> object:
        read.append(name)
        return real(self, name, serial)

    monkeypatch.setattr(Deployments, "version", counted)

    removed = deploying.remove(root, "a", cleanup=True)
    assert set(read) == {"a"}, f"the removal of a read the versions of {sorted(set(read))}"
    assert f"image {IMG1}" in removed
    assert _blobs_of(removed) == set(blobs[IMG1])
    assert sum(w.startswith("layer ") for w in removed) == 1
    assert sum(w.startswith("merged ") for w in removed) == 1
    assert {i.reference for i in store.images.list()} >= {IMG2, IMG3}
    assert checking.check(root) == []

    read.clear()
    assert deploying.remove(root, "c", cleanup=True) == []  # b still runs IMG3
    assert set(read) == {"c"}

    read.clear()
    removed = deploying.remove(root, "b", cleanup=True)
    assert set(read) == {"b"}
    assert f"image {IMG3}" in removed and _blobs_of(removed) == set(blobs[IMG3])
    # IMG2 was only b's rollback target: its record stays (nobody removed it), and so do its blobs
    assert {i.reference for i in store.images.list()} == {IMG2}
    assert all(store.blobs.path(d).exists() for d in blobs[IMG2])
    assert checking.check(root) == [] and collecting.collect(root) == []


def test_the_index_says_what_the_versions_say_and_an_older_one_is_not_trusted(shm: Path) -> None:
    root = shm / "store"
    _images(root)
    _deploy(root, "a", IMG1)
    _deploy(root, "a", IMG2)  # rollback: IMG1
    _deploy(root, "b", IMG3)
    store = deploying.Store.open(root)
    index = atomic.read_json(store.layout.metadata / "deployments.json")
    assert {name: entry["kept"] for name, entry in index.items()} == _full(store)
    assert [v["image_digest"] for v in index["a"]["kept"]] == [
        store.get("a").state.image_digest,
        store.get_version("a", 1).state.image_digest,
    ]

    # an index of an older Berth: no "kept"; the removal must not take it as "nothing is kept"
    for entry in index.values():
        del entry["kept"]
    atomic.write_json(store.layout.metadata / "deployments.json", index)
    store.deployments.index_trusted = True  # as in a transaction that found the index matching
    assert store.deployments.references() == _full(store)
    store.deployments.index_trusted = False

    removed = deploying.remove(root, "b", cleanup=True)
    assert f"image {IMG3}" in removed and f"image {IMG1}" not in removed  # a's rollback keeps IMG1
    rewritten = atomic.read_json(store.layout.metadata / "deployments.json")
    assert {name: entry["kept"] for name, entry in rewritten.items()} == _full(store)
    assert checking.check(root) == []
