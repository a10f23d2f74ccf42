"""Durability helpers: one ``syncfs`` instead of thousands of ``fsync`` calls.

A layer or a hard-link farm has thousands of files; fsync'ing each costs far more than asking the
kernel once to write back the whole filesystem, which is what ostree does before a deployment
switch. Python has no ``os.syncfs``, so it is called through libc.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded on the first sync: every CLI command imports this module, few sync
    import ctypes


@functools.cache
def _libc() -> ctypes.CDLL:
    """libc, loaded on the first sync: the process's own symbols (the interpreter links libc),
    not ``ctypes.util.find_library``, which runs ``ldconfig -p`` and costs every CLI start."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def syncfs(path: Path) -> None:
    """Flush every dirty page and inode of the filesystem holding ``path``."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _libc().syncfs(fd) != 0:
            import ctypes

            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
    finally:
        os.close(fd)
