"""Network namespaces: persistent ones bound to a file, and sockets opened inside one from the host.

A namespace bound to a file (as ``ip netns add`` makes them) lives while no process is in it, so a
container's network is set up before runc starts the container (which joins it by path) and torn
down after it exited.


HTTP and TCP probes run from the host so that an image needs no curl or wget (podman runs its
healthchecks inside the container and so needs them). A socket belongs to the network namespace
it was created in for its whole life, whichever thread later uses it. So a short-lived OS thread
enters the namespace with ``setns(2)`` (Python 3.11 has no ``os.setns``: ctypes on libc), creates
the socket and ends; the thread's namespace dies with it and no other thread is ever moved.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.network.errors import NetworkError
from agent.store import mountpoints

CLONE_NEWNET = 0x40000000
_libc: ctypes.CDLL | None = None


def _lib() -> ctypes.CDLL:
    global _libc  # noqa: PLW0603 - loaded once, on first use
    if _libc is None:
        # the process's own symbols (the interpreter links libc): find_library runs ldconfig -p
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def _setns(fd: int, nstype: int) -> None:
    if _lib().setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


_MNT_DETACH = 2


_MS_BIND = 4096
_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = "16sH22x"
"""struct ifreq with its flags member (40 bytes on Linux)."""


def create(path: Path) -> Path:
    """A new, empty network namespace bound at ``path`` (loopback up, as runc would leave it).

    Made as ``unshare --net=PATH ip link set lo up`` makes it, in this process: a short-lived
    thread unshares its network namespace, binds it to ``path`` and sets ``lo`` up through a
    socket of its own (an ioctl), then ends. The two programs cost two process starts per
    container, a tenth of a second of ``compose up``'s CPU for ten services."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if is_bound(path):
        return path
    path.touch()

    def make() -> None:
        if _lib().unshare(CLONE_NEWNET) != 0:
            raise _errno("unshare")
        source = f"/proc/self/task/{threading.get_native_id()}/ns/net".encode()
        if _lib().mount(source, str(path).encode(), None, _MS_BIND, None) != 0:
            raise _errno("bind mount")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            asked = fcntl.ioctl(sock, _SIOCGIFFLAGS, struct.pack(_IFREQ, b"lo", 0))
            flags = struct.unpack(_IFREQ, asked)[1]
            fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack(_IFREQ, b"lo", flags | _IFF_UP))

    problem = on_own_thread(make, "berth-netns-create")
    if problem is not None:
        with contextlib.suppress(OSError, NetworkError):
            remove(path)
        raise NetworkError(f"cannot create network namespace {path}: {_reason(problem)}") from problem
    return path


def on_own_thread(work: Callable[[], None], name: str) -> BaseException | None:
    """Run ``work`` on a short-lived thread and return what it raised. A thread that unshares or
    enters a namespace (network, or its filesystem context: the overlay mounts) changes only its
    own, so the caller's threads stay where they were."""
    failed: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    thread.join()
    return failed[0] if failed else None


def _reason(exc: BaseException) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def _errno(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")


def is_bound(path: Path) -> bool:
    """Whether ``path`` is a mount point (a bound namespace)."""
    return mountpoints.is_mount_point(path)


def remove(path: Path) -> None:
    """Unbind and delete; the namespace goes away with its last user. Absent: nothing to do."""
    if is_bound(path) and _lib().umount2(str(path).encode(), _MNT_DETACH) != 0:
        errno = ctypes.get_errno()
        raise NetworkError(f"cannot unmount network namespace {path}: {os.strerror(errno)}")
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


@dataclass(frozen=True)
class NetworkNamespace:
    """A network namespace named by a file: ``/proc/<pid>/ns/net`` or ``/run/netns/<name>``."""

    path: Path

    @classmethod
    def of_pid(cls, pid: int) -> NetworkNamespace:
        return cls(Path(f"/proc/{pid}/ns/net"))

    def is_host(self) -> bool:
        """The same namespace as this process (a ``network_mode: host`` container): no setns needed."""
        try:
            mine = os.stat("/proc/self/ns/net")
            theirs = os.stat(self.path)
        except OSError:
            return False
        return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)

    def socket(self, family: int = socket.AF_INET, kind: int = socket.SOCK_STREAM) -> socket.socket:
        """A new socket living in this namespace; raises :class:`NetworkError` if it cannot be entered."""
        if self.is_host():
            return socket.socket(family, kind)
        made: list[socket.socket] = []

        def enter_and_open() -> None:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd, CLONE_NEWNET)
            finally:
                os.close(fd)
            made.append(socket.socket(family, kind))

        problem = on_own_thread(enter_and_open, "berth-netns")
        if problem is not None:
            raise NetworkError(
                f"cannot enter network namespace {self.path}: {_reason(problem)} (has the container exited?)"
            ) from problem
        return made[0]
