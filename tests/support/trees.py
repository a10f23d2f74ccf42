"""Describing a directory tree for comparisons: one record per path, links not followed."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from pathlib import Path

Record = tuple[str, int, int, int, str]
"""(kind, mode, uid, gid, content digest or link target)."""


def describe(
    root: Path, *, exclude: frozenset[str] = frozenset(), mtimes: bool = False
) -> dict[str, tuple[object, ...]]:
    """Every path under ``root`` with kind, permission bits, owner and content or link target."""
    out: dict[str, tuple[object, ...]] = {}
    base = len(str(root)) + 1
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            rel = full[base:]
            if rel.split("/", 1)[0] in exclude:
                continue
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    content = hashlib.sha256(fh.read()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                content = os.readlink(full)
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                content = f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
            else:
                content = ""
            record: tuple[object, ...] = (
                stat.S_IFMT(st.st_mode),
                stat.S_IMODE(st.st_mode),
                st.st_uid,
                st.st_gid,
                content,
            )
            if mtimes and not stat.S_ISDIR(st.st_mode):
                record = (*record, st.st_mtime_ns // 1_000_000_000)
            out[rel] = record
    return out


def outside_listing(top: Path, inside: Path) -> dict[str, bytes | None]:
    """Every path under ``top`` but not under ``inside``, with file contents (canary checks)."""
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        if Path(dirpath) == inside or Path(dirpath).is_relative_to(inside):
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            if full == inside:
                continue
            out[str(full)] = full.read_bytes() if full.is_file() and not full.is_symlink() else None
    return out


def expected_tree(layer_entries: Sequence[Sequence[object]]) -> dict[str, tuple[object, ...]]:
    """What stacking these layers must give, computed without the store: an independent model.

    Handles files, directories, symlinks, whiteouts and opaque markers (the cases tests use);
    implicit parent directories get mode 0755. Records match :func:`describe` for those kinds.
    """
    from tests.support.layers import Entry

    tree: dict[str, tuple[object, ...]] = {}
    for entries in layer_entries:
        for e in entries:
            assert isinstance(e, Entry)
            path = "/".join(p for p in e.name.split("/") if p not in ("", "."))
            parent, _, base = path.rpartition("/")
            if base == ".wh..wh..opq":
                for key in [k for k in tree if k.startswith(parent + "/")]:
                    del tree[key]
                continue
            if base.startswith(".wh."):
                gone = f"{parent}/{base[4:]}" if parent else base[4:]
                for key in [k for k in tree if k == gone or k.startswith(gone + "/")]:
                    del tree[key]
                continue
            parts = path.split("/")
            for i in range(1, len(parts)):
                tree.setdefault("/".join(parts[:i]), (stat.S_IFDIR, 0o755, 0, 0, ""))
            mode = e.mode if e.mode is not None else (0o755 if e.kind == "dir" else 0o644)
            if e.kind == "dir":
                tree[path] = (stat.S_IFDIR, mode, e.uid, e.gid, "")
            elif e.kind == "symlink":
                tree[path] = (stat.S_IFLNK, 0o777, e.uid, e.gid, e.linkname)
            else:
                for key in [k for k in tree if k.startswith(path + "/")]:
                    del tree[key]
                tree[path] = (stat.S_IFREG, mode, e.uid, e.gid, hashlib.sha256(e.data).hexdigest())
    return tree


def disk_blocks(paths: list[Path]) -> int:
    """512-byte blocks of every unique inode under ``paths`` (hard links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for top in paths:
        for dirpath, dirnames, filenames in os.walk(top):
            for name in [".", *dirnames, *filenames]:
                st = os.lstat(os.path.join(dirpath, name))
                if (st.st_dev, st.st_ino) not in seen:
                    seen.add((st.st_dev, st.st_ino))
                    total += st.st_blocks
    return total
