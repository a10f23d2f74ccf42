"""Persistent network namespaces: a namespace bound to a file, as ``ip netns add`` makes them.

The file keeps the namespace alive while no process is in it, so a container's network can be
set up before runc starts the container (which joins it by path) and torn down after it exited.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import threading
from pathlib import Path

from agent.runtime.errors import RuntimeFailure

_MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


def create(path: Path) -> Path:
    """A new, empty network namespace bound at ``path`` (loopback up, as runc would leave it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_bound(path):
        return path
    path.touch()
    proc = subprocess.run(
        ["unshare", f"--net={path}", "ip", "link", "set", "lo", "up"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        with contextlib.suppress(OSError):
            path.unlink()
        raise RuntimeFailure(f"cannot create network namespace {path}: {proc.stderr.strip()}")
    return path


def is_bound(path: Path) -> bool:
    """Whether ``path`` is a mount point (a bound namespace)."""
    target = str(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as info:
        return any(line.split()[4] == target for line in info)


def remove(path: Path) -> None:
    """Unbind and delete; the namespace goes away with its last user. Absent: nothing to do."""
    if is_bound(path) and _libc.umount2(str(path).encode(), _MNT_DETACH) != 0:
        errno = ctypes.get_errno()
        raise RuntimeFailure(f"cannot unmount network namespace {path}: {os.strerror(errno)}")
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


_CLONE_NEWNET = 0x40000000


def socket_in(path: Path, family: int, kind: int) -> socket.socket:
    """A socket created inside the network namespace at ``path`` (a socket keeps the namespace it
    was made in). setns changes only the calling thread's namespace, so a short-lived thread does
    it and the caller's thread never leaves its own."""
    result: list[socket.socket | BaseException] = []

    def enter() -> None:
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                if _libc.setns(fd, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {path}: {os.strerror(ctypes.get_errno())}")
            finally:
                os.close(fd)
            result.append(socket.socket(family, kind))
        except BaseException as exc:  # handed to the caller's thread
            result.append(exc)

    thread = threading.Thread(target=enter, name="berth-setns")
    thread.start()
    thread.join()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]
