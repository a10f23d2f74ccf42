"""Hostile and tricky layers: unpacked and stacked through the real store code.

We test these aspects:
- path escapes (``..``, PAX long names with ``..``, whiteouts naming ``..``) are refused, naming the entry;
- absolute paths are confined to the root, as umoci confines them;
- symlink escapes, in one layer or planted in a lower layer and written, whited out or made opaque
  through in a later one, are refused naming the entry (out of the root, to nowhere, through a
  file, in a loop); a lower symlink that stays inside the root (``lib -> usr/lib``, ``conf -> /etc``)
  is followed inside the root, as in the container; a lower symlink replaced by an explicit
  directory is legitimate;
- hard links: to outside, to a directory, to a missing file are refused; to an escaping symlink they
  link the symlink itself; to a lower layer's file they share its inode;
- duplicate entries, truncated data, a header smaller than its data, a gzip bomb over the limit;
- device nodes are created as root and skipped (listed) when not root;
- setuid/setgid/sticky bits, owners, mtimes and xattrs are preserved;
- after every case the canary directory is unchanged and no ``pwned`` file exists anywhere.
"""

from __future__ import annotations

import gzip
import io
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.store import layers, streams, unpacking
from agent.store.blobs import BlobStore
from agent.store.layout import Layout
from agent.store.unpacking import LayerError
from tests.support.layers import Compression, Entry, layer, opaque, tar_bytes, whiteout
from tests.support.storing import put_image
from tests.support.trees import outside_listing

CANARY = "@CANARY@"  # replaced by the canary directory's absolute path


@dataclass
class Case:
    layers: list[list[Entry]]
    error: str | None = None
    """Substring of the expected error, which must also name ``entry``."""
    entry: str | None = None
    check: Callable[[Path], None] | None = None


def _symlink_to(path: str) -> Callable[[Path], None]:
    def check(rootfs: Path) -> None:
        assert (rootfs / path).is_symlink()

    return check


def _absolute(rootfs: Path) -> None:
    assert (rootfs / "etc" / "abs").read_bytes() == b"confined"


def _hardlink_symlink(rootfs: Path) -> None:
    assert (rootfs / "h").is_symlink()
    assert os.readlink(rootfs / "h") == os.readlink(rootfs / "s")
    assert os.lstat(rootfs / "h").st_ino == os.lstat(rootfs / "s").st_ino


def _inner_symlink(rootfs: Path) -> None:
    assert os.readlink(rootfs / "lib") == "usr/lib"
    assert sorted(p.name for p in (rootfs / "usr" / "lib").iterdir()) == ["b"]
    assert os.stat(rootfs / "h").st_ino == os.stat(rootfs / "usr" / "lib" / "b").st_ino


def _absolute_symlink(rootfs: Path) -> None:
    assert (rootfs / "etc" / "app.conf").read_bytes() == b"c"
    assert os.readlink(rootfs / "conf") == "/etc"


def _replaced_symlink(rootfs: Path) -> None:
    assert (rootfs / "d").is_dir() and not (rootfs / "d").is_symlink()
    assert (rootfs / "d" / "f").read_bytes() == b"inside"


def _lower_link(rootfs: Path) -> None:
    assert os.stat(rootfs / "b").st_ino == os.stat(rootfs / "a").st_ino
    assert (rootfs / "b").read_bytes() == b"lower"


def _special_bits(rootfs: Path) -> None:
    assert stat.S_IMODE(os.lstat(rootfs / "bin" / "su").st_mode) == 0o4755
    assert stat.S_IMODE(os.lstat(rootfs / "bin" / "wall").st_mode) == 0o2755
    assert stat.S_IMODE(os.lstat(rootfs / "tmp").st_mode) == 0o1777
    st = os.lstat(rootfs / "home" / "u" / "f")
    assert (st.st_uid, st.st_gid, int(st.st_mtime)) == (1000, 1001, 1_500_000_000)
    assert os.getxattr(rootfs / "bin" / "su", "user.berth") == b"\x00\xffbinary"
    assert os.getxattr(rootfs / "bin" / "su", "trusted.overlay.x") == b"y"


def _type_change(rootfs: Path) -> None:
    assert (rootfs / "x").is_file()
    assert (rootfs / "x").read_bytes() == b"now a file"


def _device(rootfs: Path) -> None:
    st = os.lstat(rootfs / "dev" / "null")
    assert stat.S_ISCHR(st.st_mode)
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3)
    assert stat.S_ISFIFO(os.lstat(rootfs / "dev" / "fifo").st_mode)


def _long_name(rootfs: Path) -> None:
    assert (rootfs / ("d" * 120) / ("n" * 200)).read_bytes() == b"long"


CASES: dict[str, Case] = {
    "dotdot": Case([[Entry("ok", data=b"1"), Entry("../pwned")]], "leaves the root", "../pwned"),
    "dotdot-inner": Case([[Entry("a/../../pwned")]], "leaves the root", "a/../../pwned"),
    "absolute-confined": Case([[Entry("/etc/abs", data=b"confined")]], check=_absolute),
    "symlink-escape-same-layer": Case(
        [[Entry("esc", "symlink", linkname=CANARY), Entry("esc/pwned")]], "symlink", "esc/pwned"
    ),
    "symlink-planted-then-written": Case(
        [[Entry("esc", "symlink", linkname=CANARY)], [Entry("esc/pwned", data=b"x")]], "symlink", "esc/pwned"
    ),
    "relative-symlink-planted": Case(
        [[Entry("up", "symlink", linkname="../../../../../..")], [Entry("up/tmp/pwned")]],
        "symlink",
        "up/tmp/pwned",
    ),
    "written-through-then-dir-replaced": Case(
        [
            [Entry("d/", "dir"), Entry("x", "symlink", linkname="d")],
            [Entry("x/y", data=b"ok"), Entry("d", "symlink", linkname=CANARY), Entry("x/pwned", data=b"x")],
        ],
        "was replaced in this layer",
        "x/pwned",
    ),
    "hardlink-outside": Case([[Entry("h", "link", linkname="../../etc/passwd")]], "leaves the root", "h"),
    "hardlink-absolute-missing": Case([[Entry("h", "link", linkname=CANARY + "/keep")]], "missing", "h"),
    "hardlink-to-dir": Case([[Entry("d/", "dir"), Entry("h", "link", linkname="d")]], "directory", "h"),
    "hardlink-to-escaping-symlink": Case(
        [[Entry("s", "symlink", linkname=CANARY), Entry("h", "link", linkname="s")]], check=_hardlink_symlink
    ),
    "write-through-hardlinked-symlink": Case(
        [[Entry("s", "symlink", linkname=CANARY), Entry("h", "link", linkname="s")], [Entry("h/pwned")]],
        "symlink",
        "h/pwned",
    ),
    "hardlink-to-lower-layer": Case(
        [[Entry("a", data=b"lower")], [Entry("b", "link", linkname="a")]], check=_lower_link
    ),
    "duplicate-entry": Case([[Entry("a", data=b"1"), Entry("a", data=b"2")]], "duplicate", "a"),
    "truncated-data": Case([[Entry("big", data=b"x" * 100, declared_size=5000)]], "", "big"),
    "header-smaller-than-data": Case([[Entry("f", data=b"y" * 2000, declared_size=10), Entry("g")]], "", "f"),
    "parent-is-a-file": Case([[Entry("f", data=b"1"), Entry("f/pwned")]], "not a directory", "f/pwned"),
    "whiteout-dotdot": Case([[Entry("a/.wh...")]], "invalid path", "a/.wh..."),
    "whiteout-escape": Case([[Entry("a/.wh.../../pwned")]], "leaves the root", "a/.wh.../../pwned"),
    "opaque-on-symlink-dir": Case(
        [[Entry("d", "symlink", linkname=CANARY)], [opaque("d")]],
        "opaque whiteout on symlink",
        "d/.wh..wh..opq",
    ),
    "whiteout-through-symlink": Case(
        [[Entry("d", "symlink", linkname=CANARY)], [whiteout("d/keep")]],
        "leads to a missing directory",
        "d/.wh.keep",
    ),
    "write-through-symlink-inside-root": Case(
        [
            [Entry("lib", "symlink", linkname="usr/lib"), Entry("usr/lib/a", data=b"a")],
            [Entry("lib/b", data=b"b"), whiteout("lib/a"), Entry("h", "link", linkname="lib/b")],
        ],
        check=_inner_symlink,
    ),
    "absolute-symlink-stays-in-root": Case(
        [
            [Entry("etc/", "dir"), Entry("conf", "symlink", linkname="/etc")],
            [Entry("conf/app.conf", data=b"c")],
        ],
        check=_absolute_symlink,
    ),
    "symlink-to-a-file-written-through": Case(
        [[Entry("f", data=b"1"), Entry("l", "symlink", linkname="f")], [Entry("l/pwned")]],
        "is not a directory",
        "l/pwned",
    ),
    "symlink-loop": Case(
        [[Entry("a", "symlink", linkname="b"), Entry("b", "symlink", linkname="a")], [Entry("a/pwned")]],
        "too many levels",
        "a/pwned",
    ),
    "symlink-replaced-by-explicit-dir": Case(
        [[Entry("d", "symlink", linkname=CANARY)], [Entry("d/", "dir"), Entry("d/f", data=b"inside")]],
        check=_replaced_symlink,
    ),
    "pax-long-name-dotdot": Case(
        [[Entry("x" * 150 + "/" + "y" * 150 + "/../../../pwned")]], "leaves the root", None
    ),
    "pax-long-name-ok": Case([[Entry("d" * 120 + "/" + "n" * 200, data=b"long")]], check=_long_name),
    "setuid-owner-mtime-xattr": Case(
        [
            [
                Entry(
                    "bin/su",
                    data=b"su",
                    mode=0o4755,
                    xattrs={"user.berth": b"\x00\xffbinary", "trusted.overlay.x": b"y"},
                ),
                Entry("bin/wall", data=b"w", mode=0o2755),
                Entry("tmp/", "dir", mode=0o1777),
                Entry("home/u/f", data=b"f", uid=1000, gid=1001, mtime=1_500_000_000),
            ]
        ],
        check=_special_bits,
    ),
    "dir-replaced-by-file": Case(
        [[Entry("x/", "dir"), Entry("x/child", data=b"c")], [Entry("x", data=b"now a file")]],
        check=_type_change,
    ),
    "device-nodes-as-root": Case(
        [[Entry("dev/null", "char", devmajor=1, devminor=3, mode=0o666), Entry("dev/fifo", "fifo")]],
        check=_device,
    ),
}


def _resolve(entries: list[Entry], canary: Path) -> list[Entry]:
    for e in entries:
        e.linkname = e.linkname.replace(CANARY, str(canary))
    return entries


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_hostile_layer(case: Case, store_root: Path, canary: Path, shm: Path) -> None:
    before = outside_listing(shm, store_root)
    blobs = [layer(_resolve(entries, canary)) for entries in case.layers]
    image = put_image(store_root, "localhost/hostile:1", blobs)
    layout = Layout(store_root)
    if case.error is not None:
        with pytest.raises(LayerError) as info:
            layers.ensure_merged(layout, BlobStore(store_root), image)
        assert case.error in str(info.value)
        if case.entry is not None:
            assert info.value.entry == case.entry
    else:
        rootfs = layers.ensure_merged(layout, BlobStore(store_root), image)
        assert case.check is not None
        case.check(rootfs)
    assert outside_listing(shm, store_root) == before
    assert (canary / "keep").read_bytes() == b"canary\n"
    assert sorted(p.name for p in canary.iterdir()) == ["keep"]
    # a later layer may hold esc/pwned in its own diff (it is refused when stacked), nowhere else
    stray = [p for p in shm.rglob("pwned") if not p.is_relative_to(layout.layers)]
    assert not stray, "an escaping entry was written"
    assert list(layout.tmp.iterdir()) == [], "a failed build must not stay in tmp/"


def test_gzip_bomb_is_stopped_at_the_limit(store_root: Path) -> None:
    bomb = gzip.compress(tar_bytes([Entry("zeros", data=b"\0" * (32 << 20))]), compresslevel=9)
    assert len(bomb) < (1 << 20)
    image = put_image(store_root, "localhost/bomb:1", [bomb])
    layout = Layout(store_root)
    with pytest.raises(LayerError) as info:
        layers.ensure_layer(layout, BlobStore(store_root), image.layers[0].digest, limit=4 << 20)
    assert info.value.entry == "zeros"
    assert "limit" in str(info.value)
    assert list(layout.layers.iterdir()) == []


def test_device_nodes_are_skipped_when_not_root(shm: Path) -> None:
    data = tar_bytes([Entry("dev/null", "char", devmajor=1, devminor=3), Entry("etc/f", data=b"1")])
    target = shm / "t"
    target.mkdir()
    desc = unpacking.unpack_stream(io.BytesIO(data), target, as_root=False)
    assert desc.skipped == ["dev/null"]
    assert not (target / "dev" / "null").exists()
    assert (target / "etc" / "f").read_bytes() == b"1"


@pytest.mark.parametrize("compression", ["none", "gzip", "zstd"], ids=["tar", "tar.gz", "tar.zst"])
def test_compression_is_detected_by_magic(compression: Compression, shm: Path) -> None:
    entries = [
        Entry("etc/", "dir"),
        Entry("etc/hostname", data=b"berth\n"),
        Entry("lib", "symlink", linkname="usr/lib"),
    ]
    blob = layer(entries, compression)
    stream, kind = streams.open_tar_stream(io.BytesIO(blob))
    assert kind == compression
    target = shm / compression
    target.mkdir()
    unpacking.unpack_stream(stream, target)
    assert (target / "etc" / "hostname").read_bytes() == b"berth\n"
    assert os.readlink(target / "lib") == "usr/lib"
