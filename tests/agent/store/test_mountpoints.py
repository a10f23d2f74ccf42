"""Mount point checks by statx agree with the mount table.

We test these aspects:
- a bind mount's root is a mount point, a directory inside it and its parent are not;
- a symlink to a mount point is not followed; a missing path is no mount point;
- the system's own mount points (/, /proc, /sys, /dev) are mount points for statx too.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.store import mountpoints

MS_BIND = 4096
MNT_DETACH = 2


@pytest.fixture
def bound() -> Iterator[Path]:
    scratch = Path(tempfile.mkdtemp(prefix="berth-mnt-", dir="/dev/shm"))
    source, target = scratch / "source", scratch / "target dir"  # a space: escaped in mountinfo
    (source / "inside").mkdir(parents=True)
    target.mkdir()
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.mount(bytes(source), bytes(target), None, MS_BIND, None) == 0, os.strerror(ctypes.get_errno())
    try:
        yield target
    finally:
        libc.umount2(bytes(target), MNT_DETACH)
        shutil.rmtree(scratch, ignore_errors=True)


def test_a_bind_mount_root_and_nothing_else(bound: Path) -> None:
    assert mountpoints.is_mount_point(bound)
    assert str(bound) in mountpoints.table()
    assert not mountpoints.is_mount_point(bound / "inside")
    assert not mountpoints.is_mount_point(bound.parent)
    link = bound.parent / "link"
    link.symlink_to(bound)
    assert not mountpoints.is_mount_point(link)
    assert not mountpoints.is_mount_point(bound.parent / "missing")
    assert not mountpoints.is_mount_point(bound / "inside" / "missing" / "deeper")


def test_statx_agrees_with_the_table() -> None:
    listed = [p for p in ("/", "/proc", "/sys", "/dev") if p in mountpoints.table()]
    assert "/" in listed and "/proc" in listed
    for path in listed:
        assert mountpoints.is_mount_point(path), path


def test_entries_parse_every_field_and_unescape_paths() -> None:
    """The one mountinfo parser (the runtime's cgroup lookups and metrics use it too): optional
    fields, escaped spaces, a bind's root and the super options."""
    text = (
        "36 35 98:0 /mnt1 /mnt\\040two rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue\n"
        "40 27 0:35 /user.slice /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,nosuid,memory\n"
        "not a mountinfo line\n"
    )
    first, second = mountpoints.entries(text)
    assert first == mountpoints.MountEntry(
        "/mnt1", "/mnt two", "ext3", "/dev/root", ("rw", "errors=continue")
    )
    assert second.root == "/user.slice" and second.fstype == "cgroup" and "memory" in second.super_options
    assert mountpoints.table() == {e.point: e.fstype for e in mountpoints.entries()}
