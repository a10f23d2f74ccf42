"""Fixtures for bundle tests: images as directories, deployments made by hand, runc state dirs."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.runtime.inputs import BundleInputs
from agent.store.deploying import build_spec
from agent.store.layout import Layout
from agent.store.records import Deployment, DeploymentState
from tests.agent.runtime import images
from tests.agent.runtime.podman import Podman


@pytest.fixture
def shm() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-bundle-", dir="/dev/shm"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def deployment(spec: dict[str, Any], image: str, rootfs: Path) -> Deployment:
    """A Deployment as ``Store.get`` returns it, for ``image`` (a name in images.IMAGES)."""
    built = build_spec({"image": f"localhost/{image}:latest", **spec})
    state = DeploymentState(
        name=built.name,
        serial=1,
        image=built.image,
        image_digest="sha256:" + "0" * 64,
        config_digest="sha256:" + "1" * 64,
        layers=(),
        chain="sha256:" + "2" * 64,
        rollback=None,
        created=0.0,
    )
    return Deployment(
        name=built.name,
        serial=1,
        spec=built,
        state=state,
        image_config=images.config_of(image),
        path=rootfs.parent,
        rootfs=rootfs,
        upper=rootfs.parent / "upper",
        work=rootfs.parent / "work",
        versions=(1,),
    )


MakeInputs = Callable[..., BundleInputs]


@pytest.fixture
def make_inputs(shm: Path) -> MakeInputs:
    """``make_inputs(spec, image="demo", **BundleInputs fields)``: the image materialised once per
    test under ``shm``, a store for volumes, the bundle and run directories beside it."""
    roots: dict[str, Path] = {}
    layout = Layout(shm / "store")

    def make(spec: dict[str, Any], image: str = "demo", **kw: Any) -> BundleInputs:
        if image not in roots:
            roots[image] = images.materialise(image, shm / "images" / image / "rootfs")
        dep = deployment(spec, image, roots[image])
        run = shm / "run" / dep.name
        fields: dict[str, Any] = {
            "deployment": dep,
            "bundle": run / "bundle",
            "run_dir": run,
            "cgroups_path": f"/berth-test-{shm.name}-{dep.name}",
            "volume_dir": layout.volume_dir,
        }
        fields.update(kw)
        return BundleInputs(**fields)

    return make


@pytest.fixture(scope="session")
def podman() -> Iterator[Podman]:
    """A podman with its own store, holding the test images (skipped where podman is missing)."""
    if shutil.which("podman") is None or shutil.which("skopeo") is None:
        pytest.skip("podman and skopeo are needed as the oracle")
    oracle = Podman(Path(tempfile.mkdtemp(prefix="berth-podman-", dir="/dev/shm")))
    try:
        for name in images.IMAGES:
            oracle.load(name)
        yield oracle
    finally:
        oracle.close()
