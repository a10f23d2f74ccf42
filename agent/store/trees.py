"""Walking and deleting directory trees of the store without recursion.

``os.walk`` and ``shutil.rmtree`` recurse once per directory level (in Python 3.11), so a tree a
thousand levels deep raised ``RecursionError`` in ``store check``, ``gc`` and ``remove --cleanup``
and left their work behind. These walks keep an explicit stack of paths instead: their depth is
bounded only by what the kernel lets a path hold (``PATH_MAX``), which the unpacker already
enforces (:mod:`agent.store.limits`), so every tree Berth accepted can be walked and deleted.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from translators.errors import BerthError


class TreeError(BerthError):
    """A tree of the store cannot be read or deleted (a permission or I/O problem of the host)."""


def walk(top: str) -> Iterator[tuple[str, os.stat_result]]:
    """Every path under ``top`` (relative, ``top`` itself as '') with its lstat, parents first."""
    yield "", os.lstat(top)
    base = len(top) + 1
    stack = [top]
    while stack:
        directory = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                yield entry.path[base:], st
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)


def remove(top: str) -> None:
    """Delete ``top`` and everything under it; read-only directories are opened up first.

    Each directory is listed at most twice: once to unlink its files and find its subdirectories,
    once more (empty by then) before ``rmdir``.
    """
    if not os.path.lexists(top):
        return
    if os.path.islink(top) or not os.path.isdir(top):
        os.unlink(top)
        return
    stack = [top]
    opened: set[str] = set()
    try:
        while stack:
            directory = stack[-1]
            if directory not in opened:
                os.chmod(directory, 0o700)  # an image's 0555 directory must be writable to empty it
                opened.add(directory)
            children = []
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        children.append(entry.path)
                    else:
                        os.unlink(entry.path)
            if children:
                stack.extend(children)
                continue
            os.rmdir(directory)
            opened.discard(directory)
            stack.pop()
    except OSError as exc:
        raise TreeError(f"cannot delete {exc.filename or top}: {exc.strerror or exc}") from exc
