"""Malformed and hostile layers through ``berth container deploy``: one line, exit 1, store intact.

We test these aspects, one input per class of the attack report (issue 11):
- device numbers out of the kernel's range (too large, negative in base-256), xattrs with an
  empty name or an unknown namespace, PAX mtime and uid out of range, a bad PAX record length,
  a name longer than NAME_MAX, a path longer than the limit, a tree deeper than the limit;
- corrupt compression: gzip with a bad CRC, gzip with invalid data, truncated gzip, a corrupt zstd
  frame; a zstd bomb beyond 100 times its compressed size;
- a layer whose uncompressed digest is not the config's diff_id;
- for each: exactly one ``error:`` line naming the layer digest and the tar entry, exit 1, nothing
  left in layers/, merged/, tmp/ or trash/, and the store passes ``store check`` and ``gc``;
- a file 990 directories deep deploys, checks, is collected by ``remove --cleanup`` and ``gc``;
- ``store check`` after an interrupted deploy reports interrupted work with exit 0, and
  ``--repair`` finishes it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner, Result

from agent.cli.main import cli
from agent.store import deploying, streams, unpacking
from agent.store.blobs import BlobStore
from agent.store.images import ImageRecord, ImageStore
from agent.store.layout import Layout
from tests.support.layers import Entry, layer, tar_bytes
from tests.support.storing import MEDIA, put_image
from tests.support.tarheaders import archive, header, member, pax

IMG = "localhost:5000/hostile/app:1"


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=1, mtime=0)


def _bad_crc(data: bytes) -> bytes:
    blob = bytearray(_gzip(data))
    blob[-8] ^= 0xFF
    return bytes(blob)


def _bad_deflate(data: bytes) -> bytes:
    blob = bytearray(_gzip(data))
    for i in range(20, 40):
        blob[i] ^= 0x5A
    return bytes(blob)


def _truncated_gzip(data: bytes) -> bytes:
    blob = _gzip(data)
    return blob[: len(blob) // 2]


def _bad_zstd(data: bytes) -> bytes:
    blob = bytearray(zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data))
    for i in range(12, min(len(blob) - 4, 40)):
        blob[i] ^= 0xA5
    return bytes(blob)


def _zstd_bomb() -> bytes:
    """96 MiB of zeros in a few kilobytes: more than 64 MiB, the allowance of a tiny layer."""
    size = 96 << 20
    out = io.BytesIO()
    with zstandard.ZstdCompressor(level=3).stream_writer(out, closefd=False) as writer:
        writer.write(header(b"zeros", b"0", size))
        chunk = bytes(1 << 20)
        for _ in range(size >> 20):
            writer.write(chunk)
        writer.write(bytes(1024))
    return out.getvalue()


_NEG = b"\xff" + b"\xff" * 6 + b"\xfe"  # base-256, negative


@dataclass
class Case:
    blob: Callable[[], bytes]
    entry: str | None
    """None: a stream error, met wherever the reader is (it names that entry)."""
    message: str


CASES = {
    "device-too-large": Case(
        lambda: _gzip(archive(member(b"dev/big", kind=b"3", devmajor=0o7777777, devminor=1))),
        "dev/big",
        "device number 2097151:1 is out of range",
    ),
    "device-negative": Case(
        lambda: _gzip(archive(member(b"dev/neg", kind=b"4", devmajor=_NEG))), "dev/neg", "out of range"
    ),
    "xattr-empty-name": Case(
        lambda: _gzip(archive(pax({b"SCHILY.xattr.": b"v"}) + member(b"f", b"1"))),
        "f",
        "is not in a namespace Linux knows",
    ),
    "xattr-namespace": Case(
        lambda: _gzip(archive(pax({b"SCHILY.xattr.bogus.x": b"v"}) + member(b"g", b"1"))),
        "g",
        "xattr 'bogus.x' is not in a namespace",
    ),
    "pax-mtime": Case(
        lambda: _gzip(archive(pax({b"mtime": b"99999999999999999999"}) + member(b"old", b"1"))),
        "old",
        "mtime 1e+20 is out of range",
    ),
    "pax-uid": Case(
        lambda: _gzip(archive(pax({b"uid": b"99999999999"}) + member(b"who", b"1"))),
        "who",
        "uid 99999999999 is out of range",
    ),
    "pax-length": Case(
        lambda: _gzip(archive(member(b"first", b"1") + pax(b"abc path=x\n") + member(b"second", b"2"))),
        "first",
        "malformed PAX header: bad record length",
    ),
    "name-max": Case(
        lambda: _gzip(archive(pax({b"path": b"d/" + b"n" * 300}) + member(b"x", b"1"))),
        "d/" + "n" * 300,
        "longer than 255 bytes (NAME_MAX)",
    ),
    "path-max": Case(
        lambda: _gzip(archive(pax({b"path": b"abcdefgh/" * 450 + b"f"}) + member(b"x", b"1"))),
        "abcdefgh/" * 450 + "f",
        "is longer than",
    ),
    "too-deep": Case(
        lambda: _gzip(archive(pax({b"path": b"a/" * 1100 + b"f"}) + member(b"x", b"1"))),
        "a/" * 1100 + "f",
        "1101 levels deep, more than 1024 (BERTH_MAX_DEPTH)",
    ),
    "too-deep-partial": Case(  # refused at level 1,025 after building 1,024: the partial tree goes
        lambda: _gzip(tar_bytes([Entry("d/" * n, "dir") for n in range(1, 1100)])),
        "d/" * 1025,
        "1025 levels deep, more than 1024 (BERTH_MAX_DEPTH)",
    ),
    "gzip-crc": Case(
        lambda: _bad_crc(archive(member(b"crc", b"x" * 4000))), None, "corrupt gzip stream: CRC"
    ),
    "gzip-data": Case(
        lambda: _bad_deflate(archive(*(member(b"f%d" % i, b"data" * 300) for i in range(20)))),
        None,
        "corrupt gzip stream",
    ),
    "gzip-truncated": Case(
        lambda: _truncated_gzip(archive(*(member(b"t%d" % i, os.urandom(3000)) for i in range(10)))),
        None,
        "the gzip stream ends early (truncated)",
    ),
    "zstd-corrupt": Case(
        lambda: _bad_zstd(archive(*(member(b"z%d" % i, b"zstd" * 400) for i in range(10)))),
        None,
        "corrupt zstd stream",
    ),
    "bomb": Case(_zstd_bomb, "zeros", "layer decompresses to more than 67108864 bytes"),
}


def run(root: Path, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, [*args, "--root", str(root)], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def assert_intact(root: Path) -> None:
    """Nothing half-built is left, and the store passes check and gc."""
    layout = Layout(root)
    for where in (layout.layers, layout.merged, layout.tmp, layout.trash):
        assert list(where.iterdir()) == [], f"{where} is not empty"
    check = run(root, "store", "check", "-o", "json")
    assert json.loads(check.stdout) == {"ok": True, "problems": [], "interrupted": []}
    run(root, "store", "gc")
    assert json.loads(run(root, "store", "check", "-o", "json").stdout)["ok"] is True


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_hostile_layer_is_one_line_and_leaves_the_store_intact(case: Case, store_root: Path) -> None:
    blob = case.blob()
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    record = _put(store_root, [blob], ["sha256:" + "0" * 64])  # the content fails before any diff_id test
    result = run(store_root, "container", "deploy", "--no-start", IMG, "--name", "web", code=1)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith(f"error: layer {digest}: "), line
    assert "Traceback" not in result.output
    if case.entry is None:
        assert ": entry '" in line, line
    else:
        assert f": entry {unpacking.shown(case.entry)}: " in line, line
    assert case.message in line
    assert record.digest  # the image stays recorded: only its layer was refused
    assert_intact(store_root)


def _put(root: Path, blobs_: list[bytes], diff_ids: list[str]) -> ImageRecord:
    """An image whose config claims ``diff_ids`` (right or wrong)."""
    blobs = BlobStore(root)
    descriptors = []
    for data in blobs_:
        digest, _ = blobs.write_bytes(data)
        descriptors.append(
            {"mediaType": MEDIA[streams.compression_of(data[:4])], "digest": digest, "size": len(data)}
        )
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    )
    config_digest, _ = blobs.write_bytes(config.encode())
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": descriptors,
        }
    ).encode()
    return ImageStore(root, blobs).put(*deploying.image_key(IMG), manifest, config.encode())


def test_diff_id_mismatch_is_refused_before_the_layer_is_used(store_root: Path) -> None:
    tar = tar_bytes([Entry("etc/os-release", data=b"ID=berth\n")])
    blob = _gzip(tar)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    real = "sha256:" + hashlib.sha256(tar).hexdigest()
    _put(store_root, [blob], ["sha256:" + "0" * 64])
    result = run(store_root, "container", "deploy", "--no-start", IMG, "--name", "web", code=1)
    assert result.stderr == (
        f"error: layer {digest}: uncompressed content hashes to {real}, "
        f"not to the image config's diff_id sha256:{'0' * 64}\n"
    )
    assert_intact(store_root)
    _put(store_root, [blob], [real])  # the same layer with the right diff_id deploys
    run(store_root, "container", "deploy", "--no-start", IMG, "--name", "web")


def test_missing_diff_ids_are_refused(store_root: Path) -> None:
    _put(store_root, [layer([Entry("a", data=b"1")])], [])
    result = run(store_root, "container", "deploy", "--no-start", IMG, "--name", "web", code=1)
    assert result.stderr == f"error: image {IMG}: its config lists 0 diff_ids for 1 layers\n"
    assert_intact(store_root)


def test_a_deep_tree_deploys_checks_and_is_collected(store_root: Path) -> None:
    """990 levels: more than Python's recursion limit, within the store's; every walk copes."""
    deep = "d/" * 990 + "leaf"
    put_image(store_root, IMG, [layer([Entry(deep, data=b"deep\n"), Entry("top", data=b"t")])])
    run(store_root, "container", "deploy", "--no-start", IMG, "--name", "web")
    rootfs = Path(os.path.realpath(store_root / "deployments" / "web" / "rootfs"))
    assert len(str(rootfs / deep)) < 4096 and (rootfs / deep).read_bytes() == b"deep\n"
    assert json.loads(run(store_root, "store", "check", "-o", "json").stdout)["ok"] is True
    assert list(Layout(store_root).tmp.iterdir()) == []
    removed = json.loads(run(store_root, "container", "remove", "web", "--cleanup", "-o", "json").stdout)
    assert any(r.startswith("layer ") for r in removed["collected"]), removed
    layout = Layout(store_root)
    assert list(layout.layers.iterdir()) == [] and list(layout.trash.iterdir()) == []
    assert json.loads(run(store_root, "store", "check", "-o", "json").stdout)["ok"] is True


def test_check_tells_interrupted_work_from_corruption(store_root: Path) -> None:
    put_image(store_root, IMG, [layer([Entry("v", data=b"1")])])
    run(store_root, "container", "deploy", "--no-start", IMG, "--name", "web")
    layout = Layout(store_root)
    (layout.tmp / "layer.123.abcd").mkdir()  # what a killed unpack leaves
    os.symlink(".versions/web/1", layout.deployments / ".web.new")  # a killed switch
    found = json.loads(run(store_root, "store", "check", "-o", "json").stdout)
    assert found["ok"] is True and found["problems"] == []
    assert sorted(found["interrupted"]) == [
        "unfinished switch deployments/.web.new",
        "unfinished work tmp/layer.123.abcd",
    ]
    repaired = json.loads(run(store_root, "store", "check", "--repair", "-o", "json").stdout)
    assert repaired["interrupted"] == [] and len(repaired["repaired"]) == 2
    # corruption is still exit 1
    rootfs = Path(os.path.realpath(layout.deployments / "web" / "rootfs"))
    os.chmod(rootfs / "v", 0o600)
    (rootfs / "v").write_bytes(b"changed")
    failed = run(store_root, "store", "check", code=1)
    assert "problem: layer sha256:" in failed.stderr and "content differs from the blob" in failed.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BERTH_MAX_DEPTH", "3", "entry 'a/b/c/d': path is 4 levels deep, more than 3 (BERTH_MAX_DEPTH)"),
        ("BERTH_MAX_PATH_BYTES", "6", "entry 'a/b/c/d': path of 7 bytes is longer than 6"),
        ("BERTH_MAX_LAYER_ENTRIES", "1", "entry 'a/b/c/d': more than 1 entries (BERTH_MAX_LAYER_ENTRIES)"),
        ("BERTH_MAX_LAYER_BYTES", "1000", "layer decompresses to more than 1000 bytes"),
        ("BERTH_MAX_DEPTH", "deep", "error: BERTH_MAX_DEPTH must be a positive integer, got 'deep'"),
    ],
)
def test_limits_are_overridable(
    variable: str, value: str, message: str, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    put_image(store_root, IMG, [layer([Entry("top", data=b"t"), Entry("a/b/c/d", data=b"x" * 2000)])])
    monkeypatch.setenv(variable, value)
    result = run(store_root, "container", "deploy", "--no-start", IMG, "--name", "web", code=1)
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
    monkeypatch.delenv(variable)
    assert_intact(store_root)
    run(store_root, "container", "deploy", "--no-start", IMG, "--name", "web")
