"""Layers unpacked while they download (agent.store.following), against a real registry.

We test these aspects:
- the layers a deploy's pull unpacks as they arrive are taken by the deploy, and the layers,
  their descriptions and the stacked rootfs are those of a pull followed by an unpack of the
  stored blobs (kinds, modes, owners, contents, mtimes), through gzip and zstd, symlinks,
  whiteouts, hard links to files just created, set-id bits, other owners, xattrs, empty and
  large files (small plain files are created on other threads, the rest on the unpacker's);
- at most FOLLOWERS layers are followed at once (memory and threads stay bounded whatever the
  image): a further download is not followed, and ``close`` stops followers still waiting;
- a deploy through the registry client leaves nothing in ``tmp/``, and no layer in ``trash/``;
- a hostile layer, and a layer whose content is not the config's diff_id, are refused with the
  message a deploy of the same image from the store gives, nothing is committed, and nothing
  outside the store changes;
- a blob with a flipped byte fails the deploy with the pull's BlobDigestMismatch, the other layer
  (unpacked meanwhile) included, nothing is committed and ``tmp/`` is empty; a body cut short is
  resumed, its follower given up, and the layer unpacked from the verified blob.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.registry import errors, pulling, retrying
from agent.store import deploying, layers, streams
from agent.store import following as following_mod
from agent.store.blobs import BlobStore
from agent.store.following import Following
from agent.store.images import ImageStore
from agent.store.layout import Layout
from agent.store.unpacking import LayerDescription, LayerError
from tests.support import faults
from tests.support import images as images_mod
from tests.support import registry as registry_mod
from tests.support.layers import Entry, layer, opaque, whiteout
from tests.support.trees import describe
from translators.errors import BerthError

FAST = retrying.RetryPolicy(attempts=4, base_delay=0.01)
_RANDOM = random.Random(14)  # noqa: S311 - filler that does not compress, not secrets
MANY = [
    Entry(f"data/{i // 100:02d}/f{i:04d}", data=_RANDOM.randbytes(500 + i), mode=0o644) for i in range(600)
]
"""About 600 KB that gzip cannot shrink: a download of several chunks, cut in the middle."""
GOOD = [
    [
        Entry("etc/", "dir"),
        Entry("etc/motd", data=b"one\n"),
        Entry("lib", "symlink", linkname="usr/lib"),
        *MANY,
        Entry("data/00/hard", "link", linkname="data/05/f0599"),  # to a file created just before
        Entry("bin/su", data=b"su", mode=0o4755),  # not plain: created on the unpacker's thread
        Entry("bin/theirs", data=b"t", uid=1000, gid=1000),
        Entry("bin/xattr", data=b"x", xattrs={"user.berth": b"1"}),
        Entry("bin/big", data=_RANDOM.randbytes(200_000), mode=0o600),
        Entry("bin/empty", mode=0o640),
    ],
    [Entry("usr/lib/libc.so", data=b"libc" * 1000), whiteout("etc/motd"), opaque("data/01")],
    [Entry("lib/extra.so", data=b"x" * 70_000, mode=0o755), Entry("data/01/new", data=b"n")],
]
GOOD_COMPRESSION = ["gzip", "zstd", "gzip"]


def _hostile(canary: Path) -> list[list[Entry]]:
    """A good layer, then one that writes through its own symlink to the canary directory."""
    escape = [
        Entry("x/y", data=b"ok"),
        Entry("d", "symlink", linkname=str(canary)),
        Entry("d/pwned", data=b"x"),
    ]
    return [MANY[:50], escape]


@pytest.fixture
def shm() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-follow-", dir="/dev/shm"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _diff_id(blob: bytes) -> str:
    stream, _ = streams.open_tar_stream(io.BytesIO(blob), limit=1 << 40)
    return "sha256:" + hashlib.sha256(stream.read()).hexdigest()


def _push(
    registry: registry_mod.Registry, work: Path, name: str, blobs: list[bytes], diff_ids: list[str]
) -> str:
    """An OCI layout of one image made of ``blobs`` (their config lists ``diff_ids``), pushed."""
    builder = images_mod.LayoutBuilder(work / f"layout-{name}")
    descriptors = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": builder.blob(b), "size": len(b)}
        for b in blobs
    ]
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": images_mod.OCI_MANIFEST,
            "config": {
                "mediaType": images_mod.OCI_CONFIG,
                "digest": builder.blob(config),
                "size": len(config),
            },
            "layers": descriptors,
        }
    ).encode()
    builder.tag(name, builder.blob(manifest), images_mod.OCI_MANIFEST, len(manifest))
    builder.save()
    reference = f"{registry.host}/follow/{name}:latest"
    registry_mod.push(builder.root, name, reference)
    return reference


@pytest.fixture(scope="module")
def good(
    plain_registry: registry_mod.Registry, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, list[bytes]]:
    blobs = [layer(entries, how) for entries, how in zip(GOOD, GOOD_COMPRESSION, strict=True)]  # type: ignore[arg-type]
    work = tmp_path_factory.mktemp("follow-good")
    return _push(plain_registry, work, "good", blobs, [_diff_id(b) for b in blobs]), blobs


class _Taken:
    """Layers already taken from a Following, handed to ensure_merged as it would take them."""

    def __init__(self, taken: dict[str, tuple[Path, LayerDescription]]) -> None:
        self.taken = taken

    def take(self, digest: str) -> tuple[Path, LayerDescription] | None:
        return self.taken.pop(digest, None)


def _stored_way(root: Path, reference: str) -> Path:
    """The image pulled, then its stored blobs unpacked and stacked: what a deploy did before."""
    record = pulling.pull_image(reference, root)
    return layers.ensure_merged(Layout(root), BlobStore(root), record)


def _layer_files(root: Path) -> dict[str, object]:
    layout = Layout(root)
    return {
        p.name: (json.loads((p / "layer.json").read_text()), describe(p / "diff", mtimes=True))
        for p in sorted(layout.layers.iterdir())
    }


def _assert_clean(root: Path) -> None:
    layout = Layout(root)
    assert list(layout.tmp.iterdir()) == []
    # what the stacking removed waits there for gc; no unpacked layer does
    assert [p.name for p in layout.trash.iterdir() if not p.name.endswith(".removed")] == []


def test_layers_unpacked_while_downloading_are_those_of_the_stored_blobs(
    good: tuple[str, list[bytes]], shm: Path
) -> None:
    reference, _ = good
    root = shm / "followed"
    with Following(Layout(root), BlobStore(root)) as following:
        record = pulling.pull_image(reference, root, watching=following)
        taken = {d.digest: following.take(d.digest) for d in record.layers}
        # the first FOLLOWERS downloads are always followed; a later one when a follower is done
        assert sum(t is not None for t in taken.values()) >= following_mod.FOLLOWERS
        rootfs = layers.ensure_merged(
            Layout(root), BlobStore(root), record, _Taken({d: t for d, t in taken.items() if t})
        )
    expected = _stored_way(shm / "stored", reference)
    assert describe(rootfs, mtimes=True) == describe(expected, mtimes=True)
    assert (rootfs / "usr/lib/extra.so").read_bytes() == b"x" * 70_000
    hard = (rootfs / "data/00/hard").stat()
    assert hard.st_nlink > 1 and hard.st_ino == (rootfs / "data/05/f0599").stat().st_ino
    assert (rootfs / "bin/theirs").stat().st_uid == 1000 and (rootfs / "bin/su").stat().st_mode & 0o4000
    assert not (rootfs / "etc/motd").exists() and sorted(p.name for p in (rootfs / "data/01").iterdir()) == [
        "new"
    ]
    assert _layer_files(root) == _layer_files(shm / "stored")
    _assert_clean(root)


def test_followers_at_once_are_bounded(shm: Path) -> None:
    layout, blobs = Layout(shm / "store"), BlobStore(shm / "store")
    digests = [f"sha256:{i:064x}" for i in range(following_mod.FOLLOWERS + 1)]
    with Following(layout, blobs) as following:
        watchers = [following.watch(d, 1000) for d in digests]
        assert all(w is not None for w in watchers[:-1]) and watchers[-1] is None
        assert following.watch(digests[0], 1000) is None, "one follower per blob"
    # leaving stopped the followers waiting for data that never came, and kept nothing
    assert list(layout.tmp.iterdir()) == []


def test_a_deploy_through_the_registry_client(good: tuple[str, list[bytes]], shm: Path) -> None:
    reference, _ = good
    root = shm / "store"
    deployed = deploying.deploy(
        root, deploying.build_spec({"name": "web", "image": reference}), puller=pulling.pull_image
    )
    assert describe(deployed.rootfs, mtimes=True) == describe(
        _stored_way(shm / "stored", reference), mtimes=True
    )
    _assert_clean(root)


def _deploy_error(root: Path, reference: str, retry: retrying.RetryPolicy | None = None) -> Exception:
    spec = deploying.build_spec({"name": "web", "image": reference})
    with pytest.raises(BerthError) as caught:
        deploying.deploy(root, spec, puller=functools.partial(pulling.pull_image, retry=retry))
    return caught.value


def _assert_nothing_committed(root: Path) -> None:
    layout = Layout(root)
    assert list(layout.layers.iterdir()) == []
    assert list(layout.merged.iterdir()) == []
    assert not any(layout.versions.iterdir())
    _assert_clean(root)


@pytest.mark.parametrize("case", ["hostile", "wrong-diff-id"])
def test_refused_layers_read_as_from_the_store(
    plain_registry: registry_mod.Registry, shm: Path, tmp_path: Path, case: str
) -> None:
    canary = shm / "canary"
    canary.mkdir()
    (canary / "keep").write_bytes(b"canary\n")
    blobs = [layer(es) for es in _hostile(canary)] if case == "hostile" else [layer(GOOD[0])]
    diff_ids = [_diff_id(b) for b in blobs] if case == "hostile" else ["sha256:" + "0" * 64]
    reference = _push(plain_registry, tmp_path, case, blobs, diff_ids)

    failed = _deploy_error(shm / "store", reference)
    assert isinstance(failed, LayerError)
    _assert_nothing_committed(shm / "store")
    stored_root = shm / "from-store"
    record = pulling.pull_image(reference, stored_root)
    with pytest.raises(LayerError) as stored:
        layers.ensure_merged(Layout(stored_root), BlobStore(stored_root), record)
    assert str(failed) == str(stored.value)
    assert (canary / "keep").read_bytes() == b"canary\n"
    assert sorted(p.name for p in canary.iterdir()) == ["keep"]


@pytest.fixture
def proxy(plain_registry: registry_mod.Registry) -> Iterator[faults.FaultProxy]:
    running = faults.FaultProxy(plain_registry.host)
    yield running
    running.close()


def test_a_flipped_byte_fails_the_deploy_and_leaves_nothing(
    proxy: faults.FaultProxy, good: tuple[str, list[bytes]], shm: Path
) -> None:
    reference, blobs = good
    digest = images_mod.sha256(blobs[0])
    proxy.faults.append(faults.Fault(digest, "corrupt", times=99))
    failed = _deploy_error(shm / "store", reference.replace(reference.split("/")[0], proxy.host), retry=FAST)
    assert isinstance(failed, errors.BlobDigestMismatch) and failed.digest == digest
    _assert_nothing_committed(shm / "store")
    assert ImageStore(shm / "store").list() == []
    assert not BlobStore(shm / "store").partial_path(digest).exists()


def test_a_cut_body_is_resumed_and_unpacked_from_the_verified_blob(
    proxy: faults.FaultProxy, good: tuple[str, list[bytes]], shm: Path
) -> None:
    reference, blobs = good
    digest = images_mod.sha256(blobs[0])
    proxy.faults.append(faults.Fault(digest, "truncate", after=len(blobs[0]) // 2))
    root = shm / "store"
    local = reference.replace(reference.split("/")[0], proxy.host)
    with Following(Layout(root), BlobStore(root)) as following:
        record = pulling.pull_image(local, root, watching=following, retry=FAST)
        assert following.take(digest) is None, "the follower of the cut download gave up"
        others = [following.take(d.digest) for d in record.layers[1:]]
    # the others are followed when a follower slot was free as their download began: the cut
    # layer's follower may still hold one then (FOLLOWERS at once), and a layer not followed is
    # unpacked from its blob afterwards, so which of them were is a matter of timing
    for taken in others:
        if taken is not None:
            layers.discard(Layout(root), taken[0])  # whoever takes a layer commits or deletes it
    assert [entry.status for entry in proxy.requests_for(digest)] == [200, 206]
    _assert_clean(root)
    proxy.faults.append(faults.Fault(digest, "truncate", after=len(blobs[0]) // 3))
    deployed = deploying.deploy(
        shm / "deployed",
        deploying.build_spec({"name": "web", "image": local}),
        puller=functools.partial(pulling.pull_image, retry=FAST),
    )
    assert len(proxy.requests_for(digest)) == 4
    assert describe(deployed.rootfs, mtimes=True) == describe(
        _stored_way(shm / "stored", reference), mtimes=True
    )
    _assert_clean(shm / "deployed")
