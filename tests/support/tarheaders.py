"""Raw tar headers, field by field: values no tar writer would produce, for the reader to meet.

``tarfile`` refuses negative device numbers, base-256 uids and malformed PAX records; these
helpers write whatever bytes a test (or the fuzzer) gives, with a correct checksum unless told.
"""

from __future__ import annotations

Field = int | bytes


def _field(value: Field, width: int) -> bytes:
    raw = (b"%0*o" % (width - 1, value) if value >= 0 else b"") if isinstance(value, int) else value
    return raw[:width].ljust(width, b"\0")


def header(
    name: bytes,
    kind: bytes = b"0",
    size: Field = 0,
    *,
    mode: Field = 0o644,
    uid: Field = 0,
    gid: Field = 0,
    mtime: Field = 1_700_000_000,
    linkname: bytes = b"",
    devmajor: Field = 0,
    devminor: Field = 0,
    prefix: bytes = b"",
    checksum: bytes | None = None,
) -> bytes:
    """One 512-byte ustar header; int fields are written in octal, bytes fields as given."""
    block = bytearray(512)
    block[0:100] = _field(name, 100)
    block[100:108] = _field(mode, 8)
    block[108:116] = _field(uid, 8)
    block[116:124] = _field(gid, 8)
    block[124:136] = _field(size, 12)
    block[136:148] = _field(mtime, 12)
    block[148:156] = b" " * 8
    block[156:157] = kind[:1]
    block[157:257] = _field(linkname, 100)
    block[257:265] = b"ustar\x0000"
    block[329:337] = _field(devmajor, 8)
    block[337:345] = _field(devminor, 8)
    block[345:500] = _field(prefix, 155)
    block[148:156] = checksum if checksum is not None else b"%06o\0 " % sum(block)
    return bytes(block)


def padded(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 512)


def pax_record(key: bytes, value: bytes) -> bytes:
    """``<length> key=value\\n`` with the length counting itself."""
    body = b" " + key + b"=" + value + b"\n"
    length = len(body) + 1
    while len(str(length).encode()) + len(body) != length:
        length += 1
    return str(length).encode() + body


def pax(records: dict[bytes, bytes] | bytes, kind: bytes = b"x") -> bytes:
    """A PAX extended header (``x``, or ``g`` for global) with its data; raw bytes are kept as given."""
    data = records if isinstance(records, bytes) else b"".join(pax_record(k, v) for k, v in records.items())
    return header(b"PaxHeader", kind, len(data)) + padded(data)


def member(name: bytes, data: bytes = b"", kind: bytes = b"0", **fields: Field | bytes) -> bytes:
    return header(name, kind, len(data), **fields) + padded(data)  # type: ignore[arg-type]


def archive(*parts: bytes) -> bytes:
    return b"".join(parts) + b"\0" * 1024
