"""Paths inside a container's root, resolved the way the container would see them.

An image may hold symlinks such as ``/etc/passwd -> /../../host/etc/shadow``: following them with
the host's ``open()`` would read or write outside the image. :func:`resolve` walks the path one
component at a time and interprets every symlink relative to ``root`` (as ``chroot`` would, and as
``filepath-securejoin`` does for runc and podman), so the result always lies inside ``root``.
"""

from __future__ import annotations

import os
import posixpath
import stat
from pathlib import Path

_MAX_LINKS = 255


def resolve(root: Path, path: str) -> Path:
    """``path`` (absolute inside the container) as a host path under ``root``, symlinks resolved
    inside ``root``. Missing components are kept as they are (the result may not exist)."""
    root = Path(root)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        try:
            st = os.lstat(candidate)
        except OSError:
            resolved.append(part)
            continue
        if not stat.S_ISLNK(st.st_mode):
            resolved.append(part)
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OSError(f"too many levels of symbolic links resolving {path} in {root}")
        target = os.readlink(candidate)
        if target.startswith("/"):
            resolved = []
        parts = [p for p in target.split("/") if p not in ("", ".")] + parts
    return root.joinpath(*resolved)


def read_file(root: Path, path: str, limit: int = 4 << 20) -> bytes | None:
    """The content of a regular file inside ``root``; None when it is missing or not a regular file.

    At most ``limit`` bytes are read: an image's /etc/passwd the size of a disk is not trusted.
    """
    host = resolve(root, path)
    try:
        fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return f.read(limit)


def normalise(path: str) -> str:
    """An absolute container path in its canonical form (``/a/./b/`` -> ``/a/b``)."""
    return posixpath.normpath("/" + path.lstrip("/")) if path.strip("/") else "/"
