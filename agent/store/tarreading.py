"""A strict, streaming tar reader: ustar, PAX (``x``/``g``) and GNU long names (``L``/``K``).

Why not ``tarfile``: in stream mode (``r|``) it copies its whole read buffer on every small read
(headers), which made it the bottleneck of layer unpacking; and it ends the archive silently at
the first bad header after the first one, so a layer whose sizes lie loses its tail without an
error. This reader reads straight from a buffered stream, checks every header checksum, and only
accepts the all-zero block as the end.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol
from zlib import adler32

from translators.errors import BerthError

BLOCK = 512
CHUNK = 1 << 20
"""Bytes asked of the stream at a time."""
_ZERO = bytes(BLOCK)
_NO_RECORDS: dict[str, bytes] = {}
REGULAR = frozenset(b"0\x007")
_SUPPORTED = frozenset(b"0\x007123456")


class TarFormatError(BerthError):
    """The archive is malformed; ``entry`` is the last entry read before the problem."""

    def __init__(self, entry: str, message: str) -> None:
        super().__init__(message)
        self.entry = entry


class Reader(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(slots=True)
class TarEntry:
    """One member, with PAX and GNU extensions applied."""

    name: str
    type: int
    """The type flag byte: ord("0") regular, ord("5") directory, and so on."""
    mode: int
    uid: int
    gid: int
    size: int
    mtime: int | float
    linkname: str
    devmajor: int = 0
    devminor: int = 0
    xattrs: list[tuple[str, bytes]] = field(default_factory=list)

    def isreg(self) -> bool:
        return self.type in REGULAR

    def isdir(self) -> bool:
        return self.type == 0x35

    def issym(self) -> bool:
        return self.type == 0x32

    def islnk(self) -> bool:
        return self.type == 0x31


def _number(field_: bytes, what: str, entry: str) -> int:
    if field_ and field_[0] & 0x80:  # base-256 (GNU) for large values
        value = int.from_bytes(field_[1:], "big")
        return -value if field_[0] & 0x40 else value
    try:
        return int(field_.split(b"\0", 1)[0].strip(b" ") or b"0", 8)
    except ValueError:
        raise TarFormatError(entry, f"invalid {what} field {field_!r}") from None


_DEVICES = frozenset((0x33, 0x34))  # '3' character, '4' block: the only entries with device numbers
MAX_METADATA = 1 << 20
"""Largest PAX or GNU long-name header accepted (Go's archive/tar uses the same 1 MiB bound)."""


MAX_ID = (1 << 32) - 2
"""Largest uid or gid the kernel takes (``-1``, all ones, means "unchanged" to chown)."""
MAX_TIME = 9_223_372_035.0
"""Seconds either side of 1970 that fit a 64-bit count of nanoseconds (what utimensat takes)."""
_DIGITS = 30
"""More decimal digits than any valid PAX number needs (sizes, ids, times): refused early."""


def _pax_number(value: bytes, what: str, entry: str, *, fraction: bool = False) -> int | float:
    """A decimal from a PAX record (times may be negative); anything else is a format error."""
    text = value.decode("ascii", "replace")
    pattern = r"-?[0-9]+(\.[0-9]*)?" if fraction else r"[0-9]+"
    if len(text) > _DIGITS + 12 or not re.fullmatch(pattern, text) or len(text.split(".")[0]) > _DIGITS:
        raise TarFormatError(entry, f"invalid PAX {what} {text[:40]!r}")
    return float(text) if fraction else int(text)


def _in_range(value: int | float, low: float, high: float, what: str, entry: str) -> None:
    if not low <= value <= high:
        raise TarFormatError(entry, f"{what} {value} is out of range ({low:.0f} to {high:.0f})")


def _string(field_: bytes) -> str:
    return field_.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _pax_records(data: bytes, entry: str) -> dict[str, bytes]:
    records: dict[str, bytes] = {}
    pos = 0
    while pos < len(data):
        if data[pos] == 0:
            break
        space = data.find(b" ", pos, pos + 12)
        if space < 0 or not data[pos:space].isdigit():
            raise TarFormatError(entry, f"malformed PAX header: bad record length {data[pos : pos + 12]!r}")
        length = int(data[pos:space])
        record = data[space + 1 : pos + length]
        if (
            length <= space - pos
            or pos + length > len(data)
            or not record.endswith(b"\n")
            or b"=" not in record
        ):
            raise TarFormatError(entry, "malformed PAX record (its length does not match its text)")
        key, _, value = record[:-1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value
        pos += length
    return records


class TarReader:
    """Iterate entries; after each, read its data with :meth:`read_data` or :meth:`copy_data`
    (or it is skipped).

    The stream is read in chunks of :data:`CHUNK` bytes into one buffer that headers and data are
    taken from: a header costs a slice, file data goes from the buffer to the file without a copy
    (:meth:`copy_data`), and the stream is asked for data about once per MiB instead of three
    times per entry. At most one chunk plus a metadata header (:data:`MAX_METADATA`) is held.
    """

    def __init__(self, stream: Reader) -> None:
        self.stream = stream
        self.last = "<start of archive>"
        self._buf = b""
        self._pos = 0
        self._remaining = 0
        self._padding = 0
        self._global: dict[str, bytes] = {}

    def _available(self, need: int) -> int:
        """Bytes buffered past the current position: at least ``need`` unless the stream ends."""
        have = len(self._buf) - self._pos
        if have >= need:
            return have
        parts = [self._buf[self._pos :]] if have else []
        while have < need:
            data = self.stream.read(max(CHUNK, need - have))
            if not data:
                break
            parts.append(data)
            have += len(data)
        self._buf = parts[0] if len(parts) == 1 else b"".join(parts)
        self._pos = 0
        return have

    def _read(self, size: int) -> bytes:
        have = self._available(size)
        if have < size:
            raise TarFormatError(self.last, f"archive is truncated ({size - have} bytes missing)")
        pos = self._pos
        self._pos = pos + size
        return self._buf[pos : pos + size]

    def _skip(self, left: int) -> None:
        while left:
            want = min(left, CHUNK)
            have = self._available(want)
            if have < want:
                raise TarFormatError(self.last, f"archive is truncated ({want - have} bytes missing)")
            step = min(left, have)
            self._pos += step
            left -= step

    def _skip_data(self) -> None:
        left = self._remaining + self._padding
        self._remaining = self._padding = 0
        if left:
            self._skip(left)

    def read_data(self, size: int) -> bytes:
        """Up to ``size`` bytes of the current entry's data ('' at its end)."""
        size = min(size, self._remaining)
        data = self._read(size) if size else b""
        self._remaining -= size
        if self._remaining == 0 and self._padding:
            self._skip(self._padding)
            self._padding = 0
        return data

    def copy_data(self, fd: int) -> None:
        """Write the rest of the current entry's data to file descriptor ``fd``, from the buffer."""
        left = self._remaining
        while left:
            have = len(self._buf) - self._pos
            if not have:
                have = self._available(1)
                if not have:
                    raise TarFormatError(self.last, f"archive is truncated ({left} bytes missing)")
            step = min(left, have)
            pos = self._pos
            view = memoryview(self._buf)[pos : pos + step]
            while view:
                view = view[os.write(fd, view) :]
            self._pos = pos + step
            left -= step
            self._remaining = left

    def _header(self) -> bytes | None:
        pos = self._pos
        if len(self._buf) - pos < BLOCK:
            have = self._available(BLOCK)
            if not have:
                raise TarFormatError(self.last, "archive ends without its end-of-archive blocks")
            if have < BLOCK:
                raise TarFormatError(self.last, "archive is truncated inside a header")
            pos = 0
        block = self._buf[pos : pos + BLOCK]
        self._pos = pos + BLOCK
        if block == _ZERO:
            return None
        stored = _number(block[148:156], "checksum", self.last)
        # The sum of all bytes with the checksum field read as spaces. adler32's low half is 1 plus
        # the byte sum modulo 65521, exact for 256 bytes (at most 65,280): two C calls, not 512 adds.
        unsigned = (adler32(block[:256]) & 0xFFFF) + (adler32(block[256:]) & 0xFFFF) - 2
        unsigned += 256 - sum(block[148:156])
        if stored != unsigned and stored != unsigned - 256 * sum(1 for b in block if b > 127):
            raise TarFormatError(
                self.last, "bad header checksum (the previous entry's size is wrong, or data is corrupt)"
            )
        return block

    def __iter__(self) -> Iterator[TarEntry]:
        pax: dict[str, bytes] = {}
        long_name: str | None = None
        long_link: str | None = None
        while True:
            if self._remaining or self._padding:
                self._skip_data()
            block = self._header()
            if block is None:
                return
            kind = block[156]
            size = _number(block[124:136], "size", self.last)
            if size < 0:
                raise TarFormatError(self.last, "negative size")
            if kind in (0x78, 0x67, 0x4C, 0x4B):  # x, g, L, K: metadata for what follows
                if size > MAX_METADATA:
                    raise TarFormatError(
                        self.last, f"metadata header of {size} bytes (at most {MAX_METADATA})"
                    )
                data = self._read(size)
                self._skip(-size % BLOCK)
                if kind == 0x78:
                    pax = _pax_records(data, self.last)
                elif kind == 0x67:
                    self._global.update(_pax_records(data, self.last))
                elif kind == 0x4C:
                    long_name = _string(data)
                else:
                    long_link = _string(data)
                continue
            merged = {**self._global, **pax} if pax or self._global else _NO_RECORDS
            name = _string(block[0:100])
            if block[257:263] == b"ustar\x00" and block[345] != 0:
                name = _string(block[345:500]) + "/" + name
            if long_name is not None:
                name = long_name
            if "path" in merged:
                name = merged["path"].decode("utf-8", "surrogateescape")
            linkname = _string(block[157:257]) if block[157] else ""
            if long_link is not None:
                linkname = long_link
            if "linkpath" in merged:
                linkname = merged["linkpath"].decode("utf-8", "surrogateescape")
            if "size" in merged:
                size = int(_pax_number(merged["size"], "size", name))
            self.last = name
            if kind not in _SUPPORTED:
                raise TarFormatError(name, f"unsupported tar entry type {chr(kind)!r}")
            uid = (
                int(_pax_number(merged["uid"], "uid", name))
                if "uid" in merged
                else _number(block[108:116], "uid", name)
            )
            gid = (
                int(_pax_number(merged["gid"], "gid", name))
                if "gid" in merged
                else _number(block[116:124], "gid", name)
            )
            mtime: int | float = (
                float(_pax_number(merged["mtime"], "mtime", name, fraction=True))
                if "mtime" in merged
                else _number(block[136:148], "mtime", name)
            )
            if not 0 <= uid <= MAX_ID:
                _in_range(uid, 0, MAX_ID, "uid", name)
            if not 0 <= gid <= MAX_ID:
                _in_range(gid, 0, MAX_ID, "gid", name)
            if not -MAX_TIME <= mtime <= MAX_TIME:
                _in_range(mtime, -MAX_TIME, MAX_TIME, "mtime", name)
            entry = TarEntry(
                name,
                kind,
                _number(block[100:108], "mode", name),
                uid,
                gid,
                size if kind in REGULAR else 0,
                mtime,
                linkname,
                _number(block[329:337], "devmajor", name) if kind in _DEVICES else 0,
                _number(block[337:345], "devminor", name) if kind in _DEVICES else 0,
                [(k[len("SCHILY.xattr.") :], v) for k, v in merged.items() if k.startswith("SCHILY.xattr.")]
                if merged
                else [],
            )
            # hard links and others may carry a size in the header; their data is skipped
            self._remaining, self._padding = size, -size % BLOCK
            pax, long_name, long_link = {}, None, None
            yield entry
