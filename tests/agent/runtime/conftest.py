"""Fixtures for runtime tests.

Bundle tests: images as directories, deployments made by hand, runc state dirs, podman as the oracle.
Lifecycle tests: a busybox-static lower tree, a store on tmpfs, bundles from `runc spec`. Every
container a test makes lives under a private run directory and a private cgroup parent; the
finalizer stops and deletes whatever is left, unmounts, and removes the cgroup parent, so a failing
test leaves nothing running on this shared machine.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.runtime import cgroups, overlays
from agent.runtime.containers import Containers
from agent.runtime.errors import RuntimeFailure
from agent.runtime.inputs import BundleInputs
from agent.runtime.paths import RunPaths
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
        load_spec=lambda: built,
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


BUSYBOX = Path("/bin/busybox")


@pytest.fixture(scope="session")
def lower() -> Iterator[Path]:
    """A shared, read-only-by-contract busybox root (as the store's deployments/<name>/rootfs)."""
    path = Path(tempfile.mkdtemp(prefix="berth-rt-lower-", dir="/dev/shm"))
    for sub in ("bin", "proc", "sys", "dev", "tmp", "etc", "root", "run", "data"):
        (path / sub).mkdir()
    shutil.copy2(BUSYBOX, path / "bin" / "busybox")
    path.chmod(0o755)
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], check=True, capture_output=True, text=True
    ).stdout.split()
    for applet in applets:  # `busybox --install -s` would link to the host's resolved /usr/bin/busybox
        if applet != "busybox":
            (path / "bin" / applet).symlink_to("busybox")
    (path / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n"
    )
    (path / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    (path / "data" / "shared.txt").write_text("from the lower\n")
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Rig:
    """A store's runtime in a test: containers, and how to make bundles on overlays of ``lower``."""

    def __init__(self, base: Path, lower: Path) -> None:
        self.base = base
        self.lower = lower
        self.paths = RunPaths.for_store(base / "store", run_root=base / "run")
        self.containers = Containers(self.paths)
        self.logs = base / "store" / "containers"
        self.made: list[str] = []

    def upper(self, name: str) -> Path:
        return self.base / "store" / "containers" / name / "1"

    def log_path(self, name: str) -> Path:
        return self.logs / name / "logs" / "ctr.log"

    def bundle(
        self, name: str, args: list[str], *, edit: Callable[[dict[str, Any]], None] | None = None
    ) -> Path:
        """`runc spec` edited: ``args``, no terminal, the store's cgroup path, an overlay rootfs."""
        bundle = self.paths.bundle(name)
        bundle.mkdir(parents=True, exist_ok=True)
        subprocess.run(["runc", "spec", "-b", str(bundle)], check=True)
        config = json.loads((bundle / "config.json").read_text())
        config["process"]["terminal"] = False
        config["process"]["args"] = args
        config["root"] = {"path": "rootfs", "readonly": False}
        config["linux"]["cgroupsPath"] = self.paths.cgroup_path(name)
        if edit is not None:
            edit(config)
        (bundle / "config.json").write_text(json.dumps(config))
        overlays.mount(self.lower, self.upper(name) / "upper", self.upper(name) / "work", bundle / "rootfs")
        self.made.append(name)
        return bundle

    def cleanup(self) -> None:
        for name in self.made:
            with contextlib.suppress(RuntimeFailure):
                self.containers.delete(name, force=True)
            overlays.unmount(self.paths.bundle(name) / "rootfs")
        cgroups.remove(self.paths.cgroup_parent)


@pytest.fixture
def rig(lower: Path) -> Iterator[Rig]:
    base = Path(tempfile.mkdtemp(prefix="berth-rt-", dir="/dev/shm"))
    made = Rig(base, lower)
    try:
        yield made
    finally:
        made.cleanup()
        shutil.rmtree(base, ignore_errors=True)
