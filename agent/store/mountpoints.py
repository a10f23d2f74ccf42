"""Is this path a mount point? One ``statx`` call, not a read of ``/proc/self/mountinfo``.

The runtime asks before every overlay mount and unmount, and the network before binding a
namespace. Reading mountinfo answers too, but its cost grows with the mount table: with 500
containers the kernel formats ~500 overlay lines (their options escaped character by character)
for every read, and Python splits and unescapes them. In the node agent's 500-resource benchmark
that was a tenth of the whole machine's CPU, reads by runc included (profiled with ``perf``).
``statx(2)`` reports ``STATX_ATTR_MOUNT_ROOT`` for the root of a mount since Linux 5.8; older
kernels, which do not list the attribute as supported, get the mountinfo answer.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where statx is called: ctypes is 4 ms of every status command's start-up
    import ctypes

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_NO_AUTOMOUNT = 0x800
STATX_ATTR_MOUNT_ROOT = 0x2000
_STATX_SIZE = 256
"""sizeof(struct statx); stx_attributes is the u64 at offset 8, stx_attributes_mask at 56."""


@functools.cache
def _statx() -> Callable[[int, bytes, int, int, ctypes.Array[ctypes.c_char]], int] | None:
    """glibc's statx (2.28 and later), from the interpreter's own symbols; None without it."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    try:
        func = libc.statx
    except AttributeError:
        return None
    func.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint, ctypes.c_void_p)
    func.restype = ctypes.c_int
    return func


def _unescape(field: str) -> str:
    """mountinfo escapes space, tab, newline and backslash as \\ooo octal."""
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class MountEntry:
    """One line of mountinfo (proc(5)), its path fields unescaped."""

    root: str
    """The directory of the filesystem that is mounted (a bind mount's, a cgroup namespace's)."""
    point: str
    fstype: str
    source: str
    super_options: tuple[str, ...]


MOUNTINFO = "/proc/self/mountinfo"


def entries(text: str | None = None) -> list[MountEntry]:
    """Every mount of ``text`` (a mountinfo; this process's when None), in the kernel's order.

    The one parser of the mount table: the runtime's cgroup lookups and metrics read it too."""
    if text is None:
        with open(MOUNTINFO, encoding="utf-8", errors="surrogateescape") as info:
            text = info.read()
    found: list[MountEntry] = []
    for line in text.splitlines():
        fields = line.split(" ")
        try:
            sep = fields.index("-", 6)  # after the optional fields, which never are a lone "-"
        except ValueError:
            continue
        if len(fields) < sep + 3:
            continue
        options = fields[sep + 3].split(",") if len(fields) > sep + 3 else []
        found.append(
            MountEntry(
                root=_unescape(fields[3]),
                point=_unescape(fields[4]),
                fstype=fields[sep + 1],
                source=_unescape(fields[sep + 2]),
                super_options=tuple(options),
            )
        )
    return found


def table() -> dict[str, str]:
    """Mount point -> filesystem type of every mount this process sees (from mountinfo)."""
    return {entry.point: entry.fstype for entry in entries()}


def is_mount_point(path: Path | str) -> bool:
    """Whether ``path`` (not followed if it is a symlink) is the root of a mount; False if it
    does not exist."""
    text = os.path.abspath(path)
    func = _statx()
    if func is not None:
        import ctypes

        buf = ctypes.create_string_buffer(_STATX_SIZE)
        if func(AT_FDCWD, os.fsencode(text), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, 0, buf) == 0:
            supported = int.from_bytes(buf.raw[56:64], sys.byteorder)
            if supported & STATX_ATTR_MOUNT_ROOT:
                return bool(int.from_bytes(buf.raw[8:16], sys.byteorder) & STATX_ATTR_MOUNT_ROOT)
        elif ctypes.get_errno() in (errno.ENOENT, errno.ENOTDIR):
            return False
    return text in table()
