"""The unpacker's shortcuts (agent.store.unpacking) give what the full checks and calls give.

We test these aspects:
- a parent directory's cleaning and limits are remembered from one entry to the next, yet a
  hostile parent (a NUL byte from a PAX path, ``..``, a name over NAME_MAX) is refused even right
  after good entries, and even when it follows an entry with the same base name;
- a file created with its final mode (no chmod) or left with the owner it was created with (no
  chown) ends with exactly the tar's mode and owner, for plain, set-id, world-writable and
  mode-0 files, under the umask 0o077 as under 0o022.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.store import unpacking
from agent.store.unpacking import LayerError


def _pax(names: list[str]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            info = tarfile.TarInfo("placeholder")
            info.pax_headers = {"path": name}
            info.size = 1
            tar.addfile(info, io.BytesIO(b"1"))
    return out.getvalue()


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["d/ok", "d/x", "a\x00b/x"], "NUL byte"),
        (["\x00/x"], "NUL byte"),
        (["a/x", "a/y", "a/../../pwned"], "leaves the root"),
        (["a/x", "a/" + "n" * 256 + "/x"], "NAME_MAX"),
        (["x", "a/b/../../../x"], "leaves the root"),
    ],
    ids=["nul-in-parent", "nul-parent-first", "dotdot-parent", "long-parent-name", "same-base-name"],
)
def test_a_hostile_parent_after_good_entries_is_refused(names: list[str], message: str, shm: Path) -> None:
    root = shm / "root"
    root.mkdir()
    with pytest.raises(LayerError, match=message) as info:
        unpacking.unpack_stream(io.BytesIO(_pax(names)), root, as_root=False)
    assert info.value.entry == names[-1]
    assert sorted(os.listdir(shm)) == ["root"]


@pytest.fixture(params=[0o077, 0o022], ids=["umask-077", "umask-022"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


MODES = {"plain": 0o644, "exec": 0o755, "setuid": 0o4755, "world": 0o666, "none": 0o000, "sticky": 0o1644}


@pytest.mark.skipif(os.geteuid() != 0, reason="owners other than our own need root")
def test_modes_and_owners_are_exact_whatever_the_umask(umask: int, shm: Path) -> None:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for owner in (0, 1000):
            for name, mode in MODES.items():
                info = tarfile.TarInfo(f"{owner}/{name}")
                info.mode, info.uid, info.gid, info.size, info.mtime = (
                    mode,
                    owner,
                    owner + 1,
                    3,
                    1_600_000_000,
                )
                tar.addfile(info, io.BytesIO(b"abc"))
    root = shm / "root"
    root.mkdir()
    unpacking.unpack_stream(io.BytesIO(out.getvalue()), root, as_root=True)
    for owner in (0, 1000):
        for name, mode in MODES.items():
            st = os.lstat(root / str(owner) / name)
            assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (mode, owner, owner + 1), name
            assert st.st_mtime == 1_600_000_000
            assert (root / str(owner) / name).read_bytes() == b"abc"
