"""Overlay root filesystems: a shared, never-written lower tree under each container's own upper.

Every container of a deployment version sees the same merged tree as its lower layer; overlayfs
copies a file up into the container's ``upper`` before the first write, so the shared tree stays
as the store made it (a test writes in a container and checks where the bytes land). A read-only
root is still an overlay: runc needs to create mount points in the root, and the spec's
``root.readonly`` makes it read-only inside the container.

Mounting goes through mount(2) directly (no ``mount`` process: ~5 ms saved per start) and every
call is idempotent, checked against ``/proc/self/mountinfo``.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
from collections.abc import Sequence
from pathlib import Path

from agent.runtime.errors import RuntimeFailure

MOUNTINFO = Path("/proc/self/mountinfo")
MNT_DETACH = 2
# The kernel takes at most one page of mount data; lowerdir=...,upperdir=...,workdir=... must fit.
MAX_OPTIONS = 4000

# the process's own symbols (the interpreter links libc), as agent.store.syncing loads them:
# ctypes.util.find_library ran ``ldconfig -p`` at import, a process spawned by every command that
# reads a container's status
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as \\ooo octal."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_points() -> dict[str, str]:
    """Mount point -> filesystem type of every mount this process sees."""
    points: dict[str, str] = {}
    for line in MOUNTINFO.read_text().splitlines():
        fields = line.split(" ")
        try:
            sep = fields.index("-")
        except ValueError:
            continue
        points[_unescape(fields[4])] = fields[sep + 1]
    return points


def is_mounted(target: Path) -> bool:
    return os.path.abspath(target) in mount_points()


def _check_path(role: str, path: Path) -> str:
    text = os.path.abspath(path)
    # overlayfs splits its options on ',' and lowerdir on ':'; such paths cannot be given safely.
    if "," in text or ":" in text:
        raise RuntimeFailure(f"overlay {role} {text}: a path with ',' or ':' cannot be an overlay layer")
    if not os.path.isdir(text):
        raise RuntimeFailure(f"overlay {role} {text}: not a directory")
    return text


def mount(lower: Path | Sequence[Path], upper: Path, work: Path, target: Path) -> None:
    """Mount an overlay of ``lower`` (one tree, or several, topmost first) with ``upper`` at ``target``.

    ``upper``, ``work`` and ``target`` are created if missing; mounting an already mounted target
    is a no-op.
    """
    lowers = [lower] if isinstance(lower, (str, os.PathLike)) else list(lower)
    if not lowers:
        raise RuntimeFailure(f"overlay at {target}: no lower layer given")
    for path in (upper, work, target):
        Path(path).mkdir(parents=True, exist_ok=True)
    if is_mounted(target):
        return
    options = "lowerdir={},upperdir={},workdir={}".format(
        ":".join(_check_path("lower", Path(p)) for p in lowers),
        _check_path("upper", upper),
        _check_path("work", work),
    )
    if len(options) > MAX_OPTIONS:
        raise RuntimeFailure(
            f"overlay at {target}: {len(lowers)} lower layers make options longer than a page"
        )
    if _libc.mount(b"overlay", os.fsencode(os.path.abspath(target)), b"overlay", 0, options.encode()) != 0:
        err = ctypes.get_errno()
        raise RuntimeFailure(f"overlay at {target}: mount failed: {os.strerror(err)}")


def unmount(target: Path) -> None:
    """Unmount ``target`` if it is a mount point (lazily when still busy); a no-op otherwise."""
    path = os.path.abspath(target)
    while path in mount_points():  # stacked mounts: take every one off
        if _libc.umount2(os.fsencode(path), 0) != 0:
            err = ctypes.get_errno()
            if err == errno.EBUSY:
                if _libc.umount2(os.fsencode(path), MNT_DETACH) == 0:
                    continue
                err = ctypes.get_errno()
            if err in (errno.EINVAL, errno.ENOENT):
                return
            raise RuntimeFailure(f"unmounting {path}: {os.strerror(err)}")
