"""The store's typed facade for a runtime: ``Store.get``, ``get_version``, ``list`` and what they hold.

We test these aspects:
- ``get`` returns the validated spec, the typed state with its owner, the image config the version
  was deployed with, the resolved shared merged tree and the version's own upper/work places
  (which the store does not create), and the serials kept on disk;
- the image config is kept with each version (``image-config.json``, the blob's bytes): a re-pull
  of the tag plus ``store gc`` leaves a deployment's image config readable, for the current and
  the rollback version, including a version made before the file was kept (it reads the config
  blob, which gc now keeps); when both are gone, ``get`` and ``store check`` name the version;
- ownership is recorded at deploy, kept by update and rollback, and ``list`` filters on it;
- gc keeps everything a rollback version uses after its image is gone; container directories go
  to the trash with their version (redeploy, recovery) and with the deployment (remove).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from agent.store import checking, collecting, deploying
from agent.store.deployments import DeploymentError
from agent.store.layout import Layout
from agent.store.records import Owner
from tests.support.layers import Entry, layer
from tests.support.storing import put_image
from translators.spec import DeploymentSpec

IMG = "localhost:5000/app/web:1"


def _spec(name: str = "web", image: str = IMG) -> DeploymentSpec:
    return deploying.build_spec({"name": name, "image": image, "config": {"cmd": "httpd -f"}})


def test_get_returns_typed_records(shm: Path) -> None:
    root = shm / "store"
    image = put_image(root, IMG, [layer([Entry("etc/", "dir"), Entry("etc/v", data=b"1")])], note="one")
    deploying.deploy(root, _spec())
    got = deploying.Store.open(root, create=False).get("web")
    assert got.spec.name == "web" and got.spec.config.cmd == ["httpd", "-f"]
    assert (got.state.name, got.state.serial, got.state.rollback) == ("web", 1, None)
    assert got.state.image == IMG and got.state.image_digest == image.digest
    assert got.state.config_digest == image.config_digest
    assert got.state.owner == Owner(kind="cli")
    assert got.image_config.cmd == ("/bin/sh",) and got.image_config.labels == {"note": "one"}
    layout = Layout(root, create=False)
    assert got.rootfs == layout.merged_dir(got.state.chain) / "rootfs"
    assert got.rootfs.is_absolute() and not got.rootfs.is_symlink()
    assert (got.rootfs / "etc" / "v").read_bytes() == b"1"
    assert got.upper == layout.container_dir("web", 1) / "upper"
    assert got.work == layout.container_dir("web", 1) / "work"
    assert not layout.containers.exists()  # the runtime creates them when it starts the version
    assert got.versions == (1,) and got.path == layout.version_dir("web", 1)
    stored = (got.path / "image-config.json").read_bytes()
    assert "sha256:" + hashlib.sha256(stored).hexdigest() == image.config_digest


def test_get_version_and_unknown_names(shm: Path) -> None:
    root = shm / "store"
    put_image(root, IMG, [layer([Entry("v", data=b"1")])], note="one")
    deploying.deploy(root, _spec())
    put_image(root, IMG, [layer([Entry("v", data=b"2")])], note="two")
    changed, new = deploying.update(root, "web", pull_image=False)
    assert changed and (new.serial, new.rollback, new.versions) == (2, 1, (1, 2))
    store = deploying.Store.open(root, create=False)
    old = store.get_version("web", 1)
    assert old.image_config.labels == {"note": "one"} and (old.rootfs / "v").read_bytes() == b"1"
    assert store.get("web").image_config.labels == {"note": "two"}
    with pytest.raises(DeploymentError, match="no deployment named 'nope'"):
        store.get("nope")
    with pytest.raises(DeploymentError, match="version 7 is missing"):
        store.get_version("web", 7)


def test_image_config_survives_a_re_pull_and_gc(shm: Path) -> None:
    """Before image configs were kept, gc collected a deployed image's config blob once the tag
    moved: the runtime would have lost Entrypoint, Env, User and the rest."""
    root = shm / "store"
    first = put_image(root, IMG, [layer([Entry("v", data=b"1")])], note="one")
    deploying.deploy(root, _spec())
    put_image(root, IMG, [layer([Entry("v", data=b"2")])], note="two")  # a re-pull moves the tag
    collecting.collect(root)
    store = deploying.Store.open(root, create=False)
    assert store.get("web").image_config.labels == {"note": "one"}
    assert store.blobs.has(first.config_digest)  # kept for versions made before image-config.json
    assert checking.check(root) == []


def test_a_version_without_image_config_json_reads_the_blob(shm: Path) -> None:
    root = shm / "store"
    first = put_image(root, IMG, [layer([Entry("v", data=b"1")])], note="one")
    version = deploying.deploy(root, _spec())
    (version.path / "image-config.json").unlink()  # as deployed before this file was kept
    put_image(root, IMG, [layer([Entry("v", data=b"2")])], note="two")
    collecting.collect(root)
    store = deploying.Store.open(root, create=False)
    assert store.get("web").image_config.labels == {"note": "one"}
    assert checking.check(root) == []
    blob = store.blobs.path(first.config_digest)
    os.chmod(blob, 0o644)
    blob.unlink()
    with pytest.raises(
        DeploymentError, match=rf"'web' version 1: its image config is missing .*{first.config_digest}"
    ):
        store.get("web")
    problems = checking.check(root)
    assert any("version 1: its image config is missing" in p for p in problems), problems


def test_check_names_a_changed_image_config(shm: Path) -> None:
    root = shm / "store"
    put_image(root, IMG, [layer([Entry("v", data=b"1")])])
    version = deploying.deploy(root, _spec())
    (version.path / "image-config.json").write_text(json.dumps({"config": {"User": "root"}}))
    problems = checking.check(root)
    assert any("image-config.json does not hash to its config digest" in p for p in problems), problems


def test_owner_is_recorded_kept_and_filtered(shm: Path) -> None:
    root = shm / "store"
    put_image(root, IMG, [layer([Entry("v", data=b"1")])])
    shop = Owner(kind="compose", project="shop", service="web", labels={"com.docker.compose.project": "shop"})
    deploying.deploy(root, _spec("shop-web"), owner=shop)
    deploying.deploy(root, _spec("blog-web"), owner=Owner(kind="compose", project="blog", service="web"))
    deploying.deploy(root, _spec("mine"))
    state = json.loads((root / "deployments" / "shop-web" / "state.json").read_text())
    assert state["owner"] == {
        "kind": "compose",
        "project": "shop",
        "service": "web",
        "labels": {"com.docker.compose.project": "shop"},
    }
    store = deploying.Store.open(root, create=False)
    assert [d.name for d in store.list()] == ["blog-web", "mine", "shop-web"]
    assert [d.name for d in store.list(owner_kind="compose")] == ["blog-web", "shop-web"]
    assert [d.name for d in store.list(owner_kind="compose", project="shop")] == ["shop-web"]
    assert [d.name for d in store.list(owner_kind="cli")] == ["mine"]
    assert store.get("shop-web").state.owner == shop
    put_image(root, IMG, [layer([Entry("v", data=b"2")])], note="two")
    changed, updated = deploying.update(root, "shop-web", pull_image=False)
    assert changed and updated.state.owner == shop
    assert deploying.rollback(root, "shop-web").state.owner == shop


def test_gc_keeps_what_a_rollback_version_uses(shm: Path) -> None:
    root = shm / "store"
    first = put_image(root, IMG, [layer([Entry("v", data=b"1")])], note="one")
    deploying.deploy(root, _spec())
    second = put_image(root, "localhost:5000/app/web:2", [layer([Entry("v", data=b"2")])], note="two")
    deploying.deploy(root, _spec(image="localhost:5000/app/web:2"))
    store = deploying.Store.open(root, create=False)
    store.images.remove("localhost:5000", "app/web", "1")  # the rollback's image is gone
    removed = collecting.collect(root)
    assert removed == [f"blob {first.layers[0].digest}"]  # its layer blob only: unpacked, it stays
    assert store.blobs.has(first.config_digest) and store.blobs.has(second.config_digest)
    back = deploying.rollback(root, "web")
    assert (back.rootfs / "v").read_bytes() == b"1" and back.image_config.labels == {"note": "one"}
    assert checking.check(root) == []


def _container_dirs(root: Path, name: str, serials: list[int]) -> None:
    layout = Layout(root, create=False)
    for serial in serials:
        (layout.container_dir(name, serial) / "upper" / "etc").mkdir(parents=True)
        (layout.container_dir(name, serial) / "work").mkdir()
    layout.log_dir(name).mkdir(exist_ok=True)


def test_container_dirs_follow_their_versions(shm: Path) -> None:
    root = shm / "store"
    put_image(root, IMG, [layer([Entry("v", data=b"1")])])
    deploying.deploy(root, _spec())
    deploying.deploy(root, _spec())
    _container_dirs(root, "web", [1, 2])
    assert checking.check(root) == []  # the runtime's directories are no debris
    deploying.deploy(root, _spec())  # version 1 is dropped, with its writable layer
    containers = root / "containers" / "web"
    assert sorted(p.name for p in containers.iterdir()) == ["2", "logs"]
    assert checking.check(root) == []
    (containers / "1" / "upper").mkdir(parents=True)  # left by a crash before the version was dropped
    assert any("stray container directory containers/web/1" in p for p in checking.examine(root).interrupted)
    assert "dropped container directory web/1" in deploying.recover(root)
    assert checking.check(root) == []
    deploying.remove(root, "web")
    assert not containers.exists()
    (containers / "3").mkdir(parents=True)  # a removal interrupted before its trash step
    assert any(
        "stray container directory containers/web: no such deployment" in p
        for p in checking.examine(root).interrupted
    )
    assert "dropped container directory web" in deploying.recover(root)
    assert not containers.exists() and checking.check(root) == []
