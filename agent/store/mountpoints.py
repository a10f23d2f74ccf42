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

import ctypes
import errno
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_NO_AUTOMOUNT = 0x800
STATX_ATTR_MOUNT_ROOT = 0x2000
_STATX_SIZE = 256
"""sizeof(struct statx); stx_attributes is the u64 at offset 8, stx_attributes_mask at 56."""


@functools.cache
def _statx() -> Callable[[int, bytes, int, int, ctypes.Array[ctypes.c_char]], int] | None:
    """glibc's statx (2.28 and later), from the interpreter's own symbols; None without it."""
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


def table() -> dict[str, str]:
    """Mount point -> filesystem type of every mount this process sees (from mountinfo)."""
    points: dict[str, str] = {}
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as info:
        for line in info:
            fields = line.split(" ")
            try:
                sep = fields.index("-")
            except ValueError:
                continue
            points[_unescape(fields[4])] = fields[sep + 1]
    return points


def is_mount_point(path: Path | str) -> bool:
    """Whether ``path`` (not followed if it is a symlink) is the root of a mount; False if it
    does not exist."""
    text = os.path.abspath(path)
    func = _statx()
    if func is not None:
        buf = ctypes.create_string_buffer(_STATX_SIZE)
        if func(AT_FDCWD, os.fsencode(text), AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, 0, buf) == 0:
            supported = int.from_bytes(buf.raw[56:64], sys.byteorder)
            if supported & STATX_ATTR_MOUNT_ROOT:
                return bool(int.from_bytes(buf.raw[8:16], sys.byteorder) & STATX_ATTR_MOUNT_ROOT)
        elif ctypes.get_errno() in (errno.ENOENT, errno.ENOTDIR):
            return False
    return text in table()
