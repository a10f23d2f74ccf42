"""Deployments: sharing, speed, protection of shared files, update, check and gc.

We test these aspects:
- 50 deployments of one image (104 directories) use under 1.1x the disk of one image (st_blocks of
  unique inodes, directories included), on a real disk directory, not tmpfs; a deployment costs a
  few metadata blocks, neither file data nor a directory tree;
- deploying an already-pulled image takes under 0.3 s on disk (measured, median of 5);
- a container writing through an overlay whose lowerdir is the rootfs (what the runtime mounts)
  never changes a shared layer file;
- update is a no-op when the tag's digest is unchanged, and keeps the previous version otherwise;
- an image missing from the store is pulled through the registry client (from an OCI layout), and
  without the client the error says what is missing;
- ``store check`` names a corrupted blob and a modified rootfs as problems, a stale metadata index and
  debris as interrupted work;
- gc removes what nothing refers to and keeps what deployments use;
- two processes deploying at once are serialised by the store lock and leave a sound store.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.registry import pulling
from agent.runtime import overlays
from agent.store import checking, collecting, deploying, deployments
from agent.store.layout import Layout
from tests.support.layers import Entry, layer
from tests.support.ocilayouts import write_layout
from tests.support.paths import ROOT
from tests.support.storing import put_image
from tests.support.trees import disk_blocks

IMG = "localhost:5000/app/web:1"


def _image_entries(files: int, size: int, dirs: int = 1) -> list[Entry]:
    entries = [Entry("usr/", "dir"), Entry("usr/lib/", "dir"), Entry("etc/", "dir")]
    for i in range(files):
        entries.append(Entry(f"usr/lib/f{i:04d}.so", data=os.urandom(size)))
    for d in range(1, dirs):
        entries.append(Entry(f"usr/share/d{d:03d}/", "dir"))
        entries += [Entry(f"usr/share/d{d:03d}/f{i}", data=os.urandom(size)) for i in range(3)]
    entries.append(Entry("etc/hostname", data=b"web\n"))
    return entries


@pytest.fixture
def disk_dir() -> Iterator[Path]:
    """On the real disk (tmpfs does not charge blocks for directories)."""
    path = Path(tempfile.mkdtemp(prefix="berth-disk-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
def test_fifty_deployments_cost_about_one_image(disk_dir: Path) -> None:
    root = disk_dir / "store"
    put_image(root, IMG, [layer(_image_entries(3, 96 << 10, dirs=100))])  # 29 MiB in 104 directories
    for i in range(50):
        deploying.deploy(root, deploying.build_spec({"name": f"web{i}", "image": IMG}))
    layout = Layout(root)
    one_image = disk_blocks([layout.layers])
    everything = disk_blocks([layout.layers, layout.merged, layout.deployments])
    ratio = everything / one_image
    per_deployment = disk_blocks([layout.deployments]) * 512 / 50
    print(f"disk use: image {one_image * 512 >> 10} KiB, with 50 deployments {everything * 512 >> 10} KiB")
    print(f"ratio {ratio:.3f}, {per_deployment / 1024:.1f} KiB per deployment")
    assert ratio < 1.1
    # the cost model: a handful of metadata blocks, whatever the number of directories of the image
    assert per_deployment <= 8 * 4096


def test_deploy_of_a_pulled_image_is_fast(disk_dir: Path) -> None:
    root = disk_dir / "store"  # on disk: syncfs and fsync cost what they cost in production
    put_image(root, IMG, [layer(_image_entries(300, 4096))])
    deploying.deploy(root, deploying.build_spec({"name": "warm", "image": IMG}))  # unpack + merge once
    times = []
    for i in range(5):
        spec = deploying.build_spec({"name": f"app{i}", "image": IMG})
        start = time.perf_counter()
        deploying.deploy(root, spec)
        times.append(time.perf_counter() - start)
    print(f"deploy of a pulled image: median {statistics.median(times) * 1000:.1f} ms")
    assert statistics.median(times) < 0.3


def test_overlay_keeps_shared_files_unchanged(shm: Path) -> None:
    root = shm / "store"
    put_image(root, IMG, [layer(_image_entries(2, 1024))])
    version = deploying.deploy(root, deploying.build_spec({"name": "web", "image": IMG}))
    upper, work, mnt = shm / "upper", shm / "work", shm / "mnt"
    for d in (upper, work, mnt):
        d.mkdir()
    overlays.mount(version.rootfs, upper, work, mnt)  # what the runtime mounts under a container
    try:
        (mnt / "etc" / "hostname").write_bytes(b"changed by the container\n")
        os.chmod(mnt / "usr" / "lib" / "f0000.so", 0o600)
        (mnt / "usr" / "lib" / "f0001.so").unlink()
    finally:
        overlays.unmount(mnt)
    assert (upper / "etc" / "hostname").read_bytes() == b"changed by the container\n"
    assert (version.rootfs / "etc" / "hostname").read_bytes() == b"web\n"
    assert os.stat(version.rootfs / "usr" / "lib" / "f0000.so").st_mode & 0o777 == 0o644
    assert (version.rootfs / "usr" / "lib" / "f0001.so").exists()
    assert checking.check(root) == []


def test_update_is_a_noop_when_the_digest_is_unchanged(shm: Path) -> None:
    root = shm / "store"
    put_image(root, IMG, [layer([Entry("v", data=b"1")])])
    first = deploying.deploy(root, deploying.build_spec({"name": "web", "image": IMG}))
    changed, same = deploying.update(root, "web", pull_image=False)
    assert (changed, same.serial) == (False, first.serial)
    put_image(root, IMG, [layer([Entry("v", data=b"2")])])  # the tag moves
    changed, new = deploying.update(root, "web", pull_image=False)
    assert changed and new.rollback == first.serial
    assert (new.rootfs / "v").read_bytes() == b"2"
    back = deploying.rollback(root, "web")
    assert (back.serial, back.rollback) == (first.serial, new.serial)
    assert (back.rootfs / "v").read_bytes() == b"1"


def test_deploy_without_a_puller_says_so(shm: Path) -> None:
    """The store pulls nothing itself (the registry client sits above it and is injected)."""
    root = shm / "store"
    with pytest.raises(deployments.DeploymentError, match=r"missing:1 has to be pulled .*berth pull"):
        deploying.deploy(root, deploying.build_spec({"name": "x", "image": "localhost:5000/missing:1"}))


def test_deploy_pulls_an_image_from_an_oci_layout(shm: Path) -> None:
    """Through the real registry client (agent.registry.pulling), reading a layout directory."""
    oci = shm / "oci"
    write_layout(oci, "1", [layer([Entry("etc/", "dir"), Entry("etc/motd", data=b"pulled\n")])])
    root = shm / "store"
    spec = deploying.build_spec({"name": "web", "image": f"oci:{oci}:1"})
    version = deploying.deploy(root, spec, puller=pulling.pull_image)
    assert (version.rootfs / "etc" / "motd").read_bytes() == b"pulled\n"
    assert len(deploying.Store.open(root).images.list()) == 1
    changed, same = deploying.update(root, "web", pull_image=False, puller=pulling.pull_image)
    assert (changed, same.serial) == (False, version.serial)
    write_layout(oci, "1", [layer([Entry("etc/", "dir"), Entry("etc/motd", data=b"newer\n")])])
    changed, newer = deploying.update(root, "web", puller=pulling.pull_image)
    assert changed and (newer.rootfs / "etc" / "motd").read_bytes() == b"newer\n"
    assert checking.check(root) == []
    collected = deploying.remove(root, "web", cleanup=True)  # the oci: image goes too (issue 11)
    assert collected[0] == f"image localhost/{oci.name}:1", collected
    assert deploying.Store.open(root).images.list() == []


def _corrupt_blob(root: Path) -> str:
    store = deploying.Store.open(root)
    digest = store.images.list()[0].layers[0].digest
    path = store.blobs.path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    return f"blob {digest}: content hashes to"


def _modify_rootfs(root: Path) -> str:
    rootfs = root / "deployments" / "web" / "rootfs"
    (rootfs / "v").unlink()
    (rootfs / "v").write_bytes(b"not from a layer")
    return ": v is not a link to its layer's file"


def _write_through(root: Path) -> str:
    """What a runtime without an overlay would do: change a shared file in place."""
    (root / "deployments" / "web" / "rootfs" / "v").write_bytes(b"2")
    return "v content differs from the blob"


def _stale_metadata(root: Path) -> str:
    (root / "metadata" / "deployments.json").write_text("{}")
    return "metadata/deployments.json does not match"


def _debris(root: Path) -> str:
    (root / "deployments" / ".versions" / "web" / "9.partial").mkdir()
    return "unfinished version deployments/.versions/web/9.partial"


@pytest.mark.parametrize(
    "damage",
    [_corrupt_blob, _modify_rootfs, _write_through, _stale_metadata, _debris],
    ids=["blob", "rootfs", "write-through", "metadata", "debris"],
)
def test_check_names_each_problem(damage: object, shm: Path) -> None:
    root = shm / "store"
    put_image(root, IMG, [layer([Entry("v", data=b"1")])])
    deploying.deploy(root, deploying.build_spec({"name": "web", "image": IMG}))
    assert checking.check(root) == []
    assert callable(damage)
    expected = damage(root)
    found = checking.examine(root)
    # a stale index and debris are what an interrupted operation leaves: listed, but not corruption
    interrupted = damage in (_stale_metadata, _debris)
    findings = found.interrupted if interrupted else found.problems
    assert any(expected in p for p in findings), found
    assert (found.problems == []) == interrupted


def test_gc_keeps_what_is_used(shm: Path) -> None:
    root = shm / "store"
    put_image(root, IMG, [layer([Entry("v", data=b"1")])])
    put_image(root, "localhost:5000/app/other:1", [layer([Entry("o", data=b"o")])], note="other")
    deploying.deploy(root, deploying.build_spec({"name": "web", "image": IMG}))
    deploying.deploy(root, deploying.build_spec({"name": "other", "image": "localhost:5000/app/other:1"}))
    deploying.remove(root, "other")
    store = deploying.Store.open(root)
    store.images.remove("localhost:5000", "app/other", "1")
    removed = collecting.collect(root)
    kinds = sorted(r.split()[0] for r in removed)
    assert kinds == ["blob", "blob", "layer", "merged"]  # other's layer + config blobs, its layer, its tree
    assert checking.check(root) == []
    assert list(Layout(root).trash.iterdir()) == []
    assert collecting.collect(root) == []


def test_concurrent_writers_are_serialised(shm: Path) -> None:
    """Two processes (a CLI and an agent, say) deploying at once: the lock keeps the store sound."""
    root = shm / "store"
    put_image(root, IMG, [layer(_image_entries(20, 4096))])
    code = (
        "import sys; from pathlib import Path; from agent.store import deploying\n"
        "for i in range(4):\n"
        "    spec = deploying.build_spec({'name': f'{sys.argv[1]}{i}', 'image': sys.argv[2]})\n"
        "    deploying.deploy(Path(sys.argv[3]), spec)\n"
        "    deploying.deploy(Path(sys.argv[3]), spec)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code, who, IMG, str(root)], env=env)
        for who in ("cli", "agent")
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    store = deploying.Store.open(root)
    assert store.deployments.names() == [f"{who}{i}" for who in ("agent", "cli") for i in range(4)]
    assert all(store.deployments.current(n).serial == 2 for n in store.deployments.names())
    assert checking.check(root) == []


def test_reads_share_one_validated_spec_per_version(shm: Path) -> None:
    """An open Store validates a version's spec once (the agent reads a deployment several times
    per reconcile); a new version, or a config.json replaced on disk, is read and validated again."""
    root = shm / "store"
    put_image(root, IMG, [layer(_image_entries(2, 1024))])
    deploying.deploy(root, deploying.build_spec({"name": "web", "image": IMG, "config": {"cmd": ["one"]}}))
    store = deploying.Store.open(root)
    first, again = store.get("web"), store.get("web")
    assert first is not again and first.spec is again.spec and first.spec.config.cmd == ["one"]
    deploying.deploy(root, deploying.build_spec({"name": "web", "image": IMG, "config": {"cmd": ["two"]}}))
    second = store.get("web")
    assert second.serial == first.serial + 1 and second.spec.config.cmd == ["two"]
    assert store.get_version("web", first.serial).spec is first.spec
    config = second.path / "config.json"
    replaced = config.read_text().replace('"two"', '"three"')
    config.with_name("config.json.new").write_text(replaced)
    os.replace(config.with_name("config.json.new"), config)
    assert store.get("web").spec.config.cmd == ["three"]
