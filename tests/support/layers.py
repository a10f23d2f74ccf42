"""Building layer tarballs from entry descriptions, hostile ones included.

Tests describe a layer as a list of :class:`Entry` and get the bytes of a tar, tar.gz or tar.zst.
Nothing is sanitised: names with ``..``, absolute paths, links anywhere, duplicate entries and
headers that lie about sizes are written as given, because the unpacker must meet them.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass, field
from typing import Literal

import zstandard

Kind = Literal["file", "dir", "symlink", "link", "char", "block", "fifo"]
_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "link": tarfile.LNKTYPE,
    "char": tarfile.CHRTYPE,
    "block": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}
MTIME = 1_700_000_000


@dataclass
class Entry:
    """One tar entry, exactly as it will be written."""

    name: str
    kind: Kind = "file"
    data: bytes = b""
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    mtime: float = MTIME
    linkname: str = ""
    xattrs: dict[str, bytes] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0
    declared_size: int | None = None
    """A size for the header that differs from the data (a lying or truncated tar)."""


def whiteout(path: str) -> Entry:
    """The OCI whiteout entry that deletes ``path`` of a lower layer."""
    parent, _, name = path.rpartition("/")
    return Entry(f"{parent}/.wh.{name}" if parent else f".wh.{name}")


def opaque(directory: str) -> Entry:
    """The OCI opaque-directory marker for ``directory``."""
    return Entry(f"{directory}/.wh..wh..opq")


def tar_bytes(entries: list[Entry]) -> bytes:
    """A PAX tar of ``entries``, headers written one by one so they can lie.

    A declared size larger than the data truncates the archive right after that data; a smaller
    one leaves the surplus where the next header should be.
    """
    out = io.BytesIO()
    for e in entries:
        info = tarfile.TarInfo(e.name)
        info.type = _TYPES[e.kind]
        info.mode = e.mode if e.mode is not None else (0o755 if e.kind == "dir" else 0o644)
        info.uid, info.gid, info.mtime = e.uid, e.gid, e.mtime
        info.linkname = e.linkname
        info.devmajor, info.devminor = e.devmajor, e.devminor
        info.pax_headers = {
            f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape") for k, v in e.xattrs.items()
        }
        info.size = len(e.data) if e.declared_size is None else e.declared_size
        out.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
        out.write(e.data)
        if e.declared_size is not None and e.declared_size > len(e.data):
            return out.getvalue()
        out.write(b"\0" * (-len(e.data) % 512))
    out.write(b"\0" * 1024)
    return out.getvalue()


Compression = Literal["none", "gzip", "zstd"]


def compress(data: bytes, compression: Compression) -> bytes:
    if compression == "gzip":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if compression == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    return data


def layer(entries: list[Entry], compression: Compression = "gzip") -> bytes:
    """Entries as a layer blob."""
    return compress(tar_bytes(entries), compression)
