"""Overlay mounts of a shared lower tree.

We test these aspects:
- mount and unmount are idempotent and agree with /proc/self/mountinfo;
- writes through the overlay land in the upper, the lower never changes (also deletes: whiteouts);
- several lowers stack, topmost first;
- paths overlayfs cannot take and missing lowers are one-line errors naming the path.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.runtime import overlays
from agent.runtime.errors import RuntimeFailure
from agent.store import mountpoints


@pytest.fixture
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-ovl-", dir="/dev/shm"))
    try:
        yield path
    finally:
        for target in path.glob("*/merged"):
            overlays.unmount(target)
        shutil.rmtree(path, ignore_errors=True)


def test_mount_write_unmount(scratch: Path) -> None:
    lower = scratch / "lower"
    (lower / "etc").mkdir(parents=True)
    (lower / "etc" / "keep").write_text("lower\n")
    (lower / "etc" / "gone").write_text("lower\n")
    c = scratch / "c"
    target = c / "merged"
    overlays.mount(lower, c / "upper", c / "work", target)
    overlays.mount(lower, c / "upper", c / "work", target)  # again: no second mount
    assert overlays.is_mounted(target)
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    assert [line.split(" ")[4] for line in lines].count(str(target)) == 1  # not stacked
    assert mountpoints.table()[str(target)] == "overlay"
    (target / "etc" / "keep").write_text("container\n")
    (target / "etc" / "gone").unlink()
    (target / "new").write_text("new\n")
    assert (lower / "etc" / "keep").read_text() == "lower\n" and (lower / "etc" / "gone").exists()
    assert not (lower / "new").exists()
    assert (c / "upper" / "etc" / "keep").read_text() == "container\n"
    assert (c / "upper" / "etc" / "gone").is_char_device()  # overlayfs' whiteout
    overlays.unmount(target)
    overlays.unmount(target)
    assert not overlays.is_mounted(target)
    assert not (target / "new").exists()


def test_several_lowers_topmost_first(scratch: Path) -> None:
    top, bottom = scratch / "top", scratch / "bottom"
    top.mkdir()
    bottom.mkdir()
    (top / "f").write_text("top\n")
    (bottom / "f").write_text("bottom\n")
    (bottom / "only").write_text("bottom\n")
    c = scratch / "c"
    overlays.mount([top, bottom], c / "upper", c / "work", c / "merged")
    assert (c / "merged" / "f").read_text() == "top\n"
    assert (c / "merged" / "only").read_text() == "bottom\n"


def test_errors_name_the_path(scratch: Path) -> None:
    c = scratch / "c"
    with pytest.raises(RuntimeFailure, match=r"overlay lower .*/no-such: not a directory"):
        overlays.mount(scratch / "no-such", c / "upper", c / "work", c / "merged")
    odd = scratch / "a,b"
    odd.mkdir()
    with pytest.raises(RuntimeFailure, match="a path with ',' or ':' cannot be an overlay layer"):
        overlays.mount(odd, c / "upper", c / "work", c / "merged")
    assert not overlays.is_mounted(c / "merged")


def test_options_are_relative_to_the_container_directory(scratch: Path) -> None:
    """The mount table shows short options (every reader of mountinfo formats them), the
    overlay still takes the right layers, and no thread's working directory moved."""
    lower = scratch / "images" / "tree"
    lower.mkdir(parents=True)
    (lower / "f").write_text("lower\n")
    c = scratch / "containers" / "web" / "1"
    before = Path.cwd()
    overlays.mount(lower, c / "upper", c / "work", c / "merged")
    assert Path.cwd() == before
    line = next(
        line
        for line in Path("/proc/self/mountinfo").read_text().splitlines()
        if line.split(" ")[4] == str(c / "merged")
    )
    options = line.rsplit(" ", 1)[1]
    assert "lowerdir=../../../images/tree" in options
    assert "upperdir=upper" in options and "workdir=work" in options
    assert str(scratch) not in options
    assert (c / "merged" / "f").read_text() == "lower\n"
    (c / "merged" / "g").write_text("mine\n")
    assert (c / "upper" / "g").read_text() == "mine\n"
    overlays.unmount(c / "merged")
    assert not overlays.is_mounted(c / "merged")
