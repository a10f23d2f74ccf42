"""Named volumes in the store: ``volumes/<name>/_data``, outliving deployments.

We test these aspects:
- create makes ``_data`` (idempotent, keeping what is there) and list names it; bad names are
  refused with the rule;
- neither gc nor removing the deployment that mounts a volume touches it;
- remove refuses a volume a kept version (current or rollback) mounts, naming the deployment,
  unless forced; an unknown volume is an error naming it; ``store check`` has nothing to say.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.store import checking, collecting, deploying
from agent.store.volumes import VolumeError, VolumeInUse
from tests.support.layers import Entry, layer
from tests.support.storing import put_image

IMG = "localhost:5000/vol/app:1"


def _deploy(root: Path, name: str, volumes: list[str]) -> None:
    spec = deploying.build_spec({"name": name, "image": IMG, "config": {"volumes": volumes}})
    deploying.deploy(root, spec)


@pytest.fixture
def root(store_root: Path) -> Path:
    put_image(store_root, IMG, [layer([Entry("srv/", "dir"), Entry("srv/v", data=b"1")])])
    return store_root


def test_create_list_and_names(root: Path) -> None:
    store = deploying.Store.open(root)
    data = store.volumes.create("www")
    assert data == root / "volumes" / "www" / "_data" and data.is_dir()
    (data / "index.html").write_text("kept")
    assert store.volumes.create("www") == data and (data / "index.html").read_text() == "kept"
    store.volumes.create("db.data-1")
    assert store.volumes.list() == ["db.data-1", "www"]
    for bad in ("..", ".hidden", "a/b", "", "sp ace"):
        with pytest.raises(VolumeError, match="invalid volume name"):
            store.volumes.create(bad)


def test_volumes_outlive_deployments_and_gc(root: Path) -> None:
    _deploy(root, "web", ["www:/srv/www"])
    store = deploying.Store.open(root)
    (store.volumes.create("www") / "page").write_text("data")
    deploying.remove(root, "web", cleanup=True)  # removes the image and collects garbage
    collecting.collect(root)
    assert (root / "volumes" / "www" / "_data" / "page").read_text() == "data"
    assert checking.check(root) == []


def test_remove_refuses_a_mounted_volume(root: Path) -> None:
    _deploy(root, "web", ["www:/srv/www:ro", "/host/dir:/mnt"])
    _deploy(root, "other", ["logs:/var/log"])
    store = deploying.Store.open(root)
    store.volumes.create("www")
    store.volumes.create("spare")
    with pytest.raises(VolumeInUse, match="volume 'www' is mounted by deployment web: remove it first"):
        deploying.remove_volume(root, "www")
    _deploy(root, "web", [])  # the current version mounts nothing, its rollback still does
    assert store.volumes.users("www") == ["web"]
    with pytest.raises(VolumeInUse):
        deploying.remove_volume(root, "www")
    deploying.remove_volume(root, "spare")
    deploying.remove_volume(root, "www", force=True)
    assert store.volumes.list() == []
    with pytest.raises(VolumeError, match="no volume named 'www'"):
        deploying.remove_volume(root, "www")
    assert list((root / "trash").iterdir()) == [] and checking.check(root) == []
