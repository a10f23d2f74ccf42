"""Overlay root filesystems: a shared, never-written lower tree under each container's own upper.

Every container of a deployment version sees the same merged tree as its lower layer; overlayfs
copies a file up into the container's ``upper`` before the first write, so the shared tree stays
as the store made it (a test writes in a container and checks where the bytes land). A read-only
root is still an overlay: runc needs to create mount points in the root, and the spec's
``root.readonly`` makes it read-only inside the container.

Mounting goes through mount(2) directly (no ``mount`` process: ~5 ms saved per start) and every
call is idempotent, checked with one ``statx`` (agent.store.mountpoints), not a read of the mount
table.

The options name the layers relative to the container's directory (``lowerdir=../../../deployments
/web/rootfs,upperdir=upper,workdir=work``), mounted from a short-lived thread that has a working
directory of its own (``unshare(CLONE_FS)``), as containers/storage mounts from its ``l/`` links.
The kernel shows those strings in every read of ``/proc/*/mountinfo``, and runc reads the table
several times per container: with 500 containers, formatting absolute paths in every overlay line
was a twentieth of the machine's CPU (perf), and shorter options also leave more of the one page
of mount data to lower layers.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Sequence
from pathlib import Path

from agent.network.netns import on_own_thread
from agent.runtime.errors import RuntimeFailure
from agent.store import mountpoints

MNT_DETACH = 2
CLONE_FS = 0x200
# The kernel takes at most one page of mount data; lowerdir=...,upperdir=...,workdir=... must fit.
MAX_OPTIONS = 4000

# the process's own symbols (the interpreter links libc), as agent.store.syncing loads them:
# ctypes.util.find_library ran ``ldconfig -p`` at import, a process spawned by every command that
# reads a container's status
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
_libc.unshare.argtypes = (ctypes.c_int,)


def is_mounted(target: Path) -> bool:
    return mountpoints.is_mount_point(target)


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
    layers = [_check_path("lower", Path(p)) for p in lowers]
    upper_dir, work_dir = _check_path("upper", upper), _check_path("work", work)
    base = os.path.dirname(upper_dir)  # the container's directory: upper, work and the mount data

    def relative(path: str) -> str:
        return os.path.relpath(path, base)

    options = "lowerdir={},upperdir={},workdir={}".format(
        ":".join(relative(p) for p in layers), relative(upper_dir), relative(work_dir)
    )
    if len(options) > MAX_OPTIONS:
        raise RuntimeFailure(
            f"overlay at {target}: {len(lowers)} lower layers make options longer than a page"
        )
    err = _mount_from(base, os.fsencode(os.path.abspath(target)), options.encode())
    if err:
        raise RuntimeFailure(f"overlay at {target}: mount failed: {os.strerror(err)}")


def _mount_from(base: str, target: bytes, options: bytes) -> int:
    """mount(2) of an overlay whose options are relative to ``base``, on a thread with its own
    working directory (the process's, which every other thread shares, never moves); the errno."""

    def mount_there() -> None:
        if _libc.unshare(CLONE_FS) != 0:
            raise _errno()
        os.chdir(base)
        if _libc.mount(b"overlay", target, b"overlay", 0, options) != 0:
            raise _errno()

    problem = on_own_thread(mount_there, "berth-overlay-mount")
    if problem is None:
        return 0
    return problem.errno if isinstance(problem, OSError) and problem.errno else errno.EIO


def _errno() -> OSError:
    err = ctypes.get_errno()
    return OSError(err, os.strerror(err))


def unmount(target: Path) -> None:
    """Unmount ``target`` if it is a mount point (lazily when still busy); a no-op otherwise."""
    path = os.path.abspath(target)
    while mountpoints.is_mount_point(path):  # stacked mounts: take every one off
        if _libc.umount2(os.fsencode(path), 0) != 0:
            err = ctypes.get_errno()
            if err == errno.EBUSY:
                if _libc.umount2(os.fsencode(path), MNT_DETACH) == 0:
                    continue
                err = ctypes.get_errno()
            if err in (errno.EINVAL, errno.ENOENT):
                return
            raise RuntimeFailure(f"unmounting {path}: {os.strerror(err)}")
