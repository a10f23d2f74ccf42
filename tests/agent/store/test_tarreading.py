"""The streaming tar reader against archives written by Python's tarfile and GNU tar.

We test these aspects:
- ustar, GNU (long names and link names through ``L``/``K``, base-256 numbers) and PAX (long
  paths, xattrs, fractional mtimes, big uids) archives read back to the same names, sizes, owners,
  link names and data as tarfile reads them;
- an archive written by GNU tar (``tar --format=posix`` with xattrs) reads the same as tarfile;
- a bad checksum, a missing end-of-archive block, a truncated header and a sparse entry are errors
  naming the entry before the problem.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest

from agent.store.tarreading import TarFormatError, TarReader


def _write(fmt: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        long_dir = "d" * 90 + "/" + ("e" * 50 if fmt == tarfile.USTAR_FORMAT else "e" * 90)
        for name, data in ((long_dir + "/" + "f" * 80, b"long"), ("small", b"s" * 700)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.uid = 3_000_000 if fmt != tarfile.USTAR_FORMAT else 1000
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("l")
        link.type = tarfile.SYMTYPE
        link.linkname = "t" * 150 if fmt != tarfile.USTAR_FORMAT else "t" * 90
        tar.addfile(link)
    return out.getvalue()


def _ours(data: bytes) -> list[tuple[str, int, int, str, bytes]]:
    reader = TarReader(io.BytesIO(data))
    out = []
    for e in reader:
        body = b""
        while chunk := reader.read_data(1 << 16):
            body += chunk
        out.append((e.name.rstrip("/") or "/", e.size, e.uid, e.linkname, body))
    return out


def _theirs(data: bytes) -> list[tuple[str, int, int, str, bytes]]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar:
            f = tar.extractfile(m) if m.isreg() else None
            out.append((m.name, m.size, m.uid, m.linkname, f.read() if f else b""))
    return out


@pytest.mark.parametrize(
    "fmt", [tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT], ids=["ustar", "gnu", "pax"]
)
def test_reads_what_tarfile_reads(fmt: int) -> None:
    data = _write(fmt)
    assert _ours(data) == _theirs(data)
    assert len(_ours(data)) == 3


def test_reads_gnu_tar_posix_archives(shm: Path) -> None:
    src = shm / "src"
    (src / "a" / ("x" * 120)).mkdir(parents=True)
    (src / "a" / ("x" * 120) / "file").write_bytes(b"data" * 1000)
    (src / "link").symlink_to("a")
    out = shm / "t.tar"
    subprocess.run(["tar", "--format=posix", "--xattrs", "-C", str(src), "-cf", str(out), "."], check=True)
    data = out.read_bytes()
    assert _ours(data) == _theirs(data)


def _corrupt_checksum(data: bytes) -> bytes:
    second = 512 * 2  # header of "small" in the ustar archive: one header and one data block before it
    buf = bytearray(data)
    buf[second + 3] ^= 0x01  # a bit of the name of "small"
    return bytes(buf)


@pytest.mark.parametrize(
    ("damage", "message", "entry"),
    [
        (_corrupt_checksum, "bad header checksum", "d" * 90),
        (lambda d: d[: 512 * 6], "end-of-archive", "l"),  # three entries, six blocks, no end marker
        (lambda d: d[: 512 * 2 + 100], "truncated", "d" * 90),
    ],
    ids=["checksum", "no-end-marker", "truncated-header"],
)
def test_damage_is_an_error(damage: object, message: str, entry: str) -> None:
    assert callable(damage)
    data = damage(_write(tarfile.USTAR_FORMAT))
    with pytest.raises(TarFormatError, match=message) as info:
        _ours(data)
    assert info.value.entry.startswith(entry)


def test_sparse_entries_are_refused() -> None:
    info = tarfile.TarInfo("sparse")
    info.type = tarfile.GNUTYPE_SPARSE
    data = info.tobuf(tarfile.GNU_FORMAT) + bytes(1024)
    with pytest.raises(TarFormatError, match="unsupported tar entry type 'S'"):
        _ours(data)


def _pax_archive(records: dict[str, str], data: bytes = b"data") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("f")
        info.size = len(data)
        info.pax_headers = records
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ({"size": "-1"}, "invalid PAX size '-1'"),
        ({"size": "4x"}, "invalid PAX size"),
        ({"uid": "-5"}, "invalid PAX uid"),
        ({"mtime": "soon"}, "invalid PAX mtime"),
    ],
    ids=["negative-size", "garbage-size", "negative-uid", "garbage-mtime"],
)
def test_pax_numbers_are_checked(records: dict[str, str], message: str) -> None:
    """A PAX record overriding the header with a negative size used to read the whole stream."""
    with pytest.raises(TarFormatError, match=message) as info:
        list(_ours(_pax_archive(records)))
    assert info.value.entry == "f"


def test_metadata_headers_are_bounded() -> None:
    """A PAX header announcing 1 GiB is refused before it is read (Go's tar caps them at 1 MiB)."""
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    header.size = 1 << 30
    block = header.tobuf(format=tarfile.USTAR_FORMAT)
    with pytest.raises(TarFormatError, match="metadata header of 1073741824 bytes"):
        list(_ours(block + b"\0" * 4096))
