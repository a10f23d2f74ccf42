"""Walking and deleting store trees without recursion (agent.store.trees).

We test these aspects:
- a tree 1,500 levels deep (beyond Python's recursion limit, within PATH_MAX) is walked completely
  and deleted, where os.walk and shutil.rmtree raise RecursionError on Python 3.11;
- read-only directories (0555, as images ship them) and a symlink to outside are handled: the
  directories are emptied, the symlink is removed and its target left alone.
"""

from __future__ import annotations

import os
from pathlib import Path

from agent.store import trees


def test_deep_trees_are_walked_and_removed(shm: Path) -> None:
    top = shm / "deep"
    top.mkdir()
    path = top
    for _ in range(1500):
        path = path / "d"
        path.mkdir()
    (path / "leaf").write_bytes(b"x")
    os.chmod(path, 0o555)  # noqa: S103  # read-only, as images ship directories
    found = dict(trees.walk(str(top)))
    assert len(found) == 1 + 1500 + 1
    assert "d/" * 1499 + "d/leaf" in found
    trees.remove(str(top))
    assert not top.exists()


def test_read_only_directories_and_outside_links(shm: Path) -> None:
    outside = shm / "outside"
    outside.mkdir()
    (outside / "keep").write_bytes(b"keep")
    top = shm / "tree"
    (top / "ro" / "sub").mkdir(parents=True)
    (top / "ro" / "sub" / "f").write_bytes(b"f")
    os.symlink(outside, top / "ro" / "link")
    os.chmod(top / "ro" / "sub", 0o555)  # noqa: S103  # read-only, as images ship directories
    os.chmod(top / "ro", 0o555)  # noqa: S103  # read-only, as images ship directories
    trees.remove(str(top))
    assert not top.exists()
    assert (outside / "keep").read_bytes() == b"keep"
    trees.remove(str(top))  # already gone: nothing to do
