"""Berth's stacked root filesystem against umoci's, from the same layers.

We test these aspects:
- an OCI layout made of Berth test layers (files, explicit and implied directories, symlinks, hard
  links, setuid and sticky modes, owners, mtimes, a file whiteout, a directory whiteout and an
  opaque directory; gzip and plain tar, as Debian's umoci lacks zstd) unpacks with umoci
  and with Berth's store to the same tree: paths, kinds, modes, owners, link targets, contents
  and file mtimes;
- writes and whiteouts through a lower layer's symlinks (relative and absolute, inside the root)
  land where umoci puts them;
- hard links stay hard links in both (same inode within the tree).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from agent.store import layers
from agent.store.blobs import BlobStore
from agent.store.layout import Layout
from tests.support.layers import Compression, Entry, layer, opaque, whiteout
from tests.support.ocilayouts import write_layout
from tests.support.storing import put_image
from tests.support.trees import describe

LAYERS: list[tuple[list[Entry], Compression]] = [
    (
        [
            Entry("bin/", "dir"),
            Entry("bin/busybox", data=b"\x7fELF" + b"b" * 9000, mode=0o755),
            Entry("bin/su", data=b"su", mode=0o4755, mtime=1_400_000_000),
            Entry("bin/sh", "symlink", linkname="busybox"),
            Entry("bin/ash", "link", linkname="bin/busybox"),
            Entry("etc/", "dir", mode=0o750),
            Entry("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n"),
            Entry("etc/shadow", data=b"root:*::\n", mode=0o600, gid=42),
            Entry("home/u/notes", data=b"mine", uid=1000, gid=1000),
            Entry("tmp/", "dir", mode=0o1777),
            Entry("usr/share/doc/a/README", data=b"docs a"),
            Entry("usr/share/doc/b/README", data=b"docs b"),
            Entry("var/cache/apt/pkgcache.bin", data=b"cache" * 100),
            Entry("var/cache/keep", data=b"k"),
            Entry("lib", "symlink", linkname="usr/lib"),
            Entry("usr/lib/", "dir"),
            Entry("usr/lib/libc.so.6", data=b"libc"),
            Entry("usr/lib/libold.so", data=b"old"),
            Entry("docs", "symlink", linkname="/usr/share/doc"),
        ],
        "gzip",
    ),
    (
        [
            whiteout("usr/share/doc/a"),
            whiteout("etc/shadow"),
            opaque("var/cache"),
            Entry("var/cache/new", data=b"fresh"),
            Entry("etc/passwd", data=b"root:x:0:0::/root:/bin/ash\n", mode=0o640),
            Entry("bin/sh", "symlink", linkname="ash"),
        ],
        "gzip",  # umoci 0.4.7 (Debian) refuses tar+zstd layers
    ),
    (
        [
            Entry("srv/app/", "dir", uid=33, gid=33),
            Entry("srv/app/index.html", data=b"<h1>hi</h1>", uid=33, gid=33),
            # written and whited out through lower symlinks that stay inside the root
            Entry("lib/extra.so", data=b"extra"),
            whiteout("lib/libold.so"),
            Entry("docs/b/NEWS", data=b"news"),
        ],
        "none",
    ),
]


def _inode_groups(root: Path) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            full = Path(dirpath) / name
            groups.setdefault(os.lstat(full).st_ino, []).append(str(full.relative_to(root)))
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def test_same_tree_as_umoci(shm: Path) -> None:
    blobs = [layer(entries, compression) for entries, compression in LAYERS]
    oci = shm / "oci"
    write_layout(oci, "t", blobs)
    bundle = shm / "bundle"
    subprocess.run(["umoci", "unpack", "--image", f"{oci}:t", str(bundle)], check=True, capture_output=True)

    root = shm / "store"
    image = put_image(root, "localhost/cross:t", blobs)
    rootfs = layers.ensure_merged(Layout(root), BlobStore(root), image)

    theirs = describe(bundle / "rootfs", mtimes=True)
    ours = describe(rootfs, mtimes=True)
    assert len(theirs) > 20
    assert sorted(ours) == sorted(theirs)
    for path in sorted(theirs):
        assert ours[path] == theirs[path], path
    assert "usr/share/doc/a" not in ours and "var/cache/keep" not in ours  # the whiteouts applied
    assert "usr/lib/extra.so" in ours and "usr/share/doc/b/NEWS" in ours
    assert "usr/lib/libold.so" not in ours
    # umoci keeps hard links within a layer as links; so do we (and our farm links all files to
    # the layers, so compare groups only among paths umoci links)
    for group in _inode_groups(bundle / "rootfs"):
        assert len({os.lstat(rootfs / p).st_ino for p in group}) == 1, group
