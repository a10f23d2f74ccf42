"""Describing a directory tree for comparisons: one record per path, links not followed."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

Record = tuple[str, int, int, int, str]
"""(kind, mode, uid, gid, content digest or link target)."""


def describe(root: Path, *, exclude: frozenset[str] = frozenset(), mtimes: bool = False) -> dict[str, tuple[object, ...]]:
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
            record: tuple[object, ...] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, content)
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
