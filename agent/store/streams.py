"""Opening a layer blob as a plain tar stream, whatever its compression, with a size cap.

Compression is recognised by the blob's first bytes, not by the manifest's media type: registries
and hand-made layouts mislabel layers often enough that trusting the label breaks pulls. gzip goes
through python-isal (about twice zlib's speed) when it is installed; zstd through zstandard.
Decompressed output is counted, and a layer that inflates past its allowance is stopped there (a
decompression bomb never reaches the disk in full): by default 100 times its compressed size, at
least 64 MiB and at most 64 GiB (:mod:`agent.store.limits`).
"""

from __future__ import annotations

import io
import os
from typing import Any, BinaryIO

import zstandard

from agent.store.limits import Limits
from translators.errors import BerthError

try:  # python-isal: ~2x zlib for gunzip; zlib's gzip is the fallback
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - depends on the environment
    import gzip as _gzip  # type: ignore[no-redef]  # same API, slower

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class LayerTooLarge(BerthError):
    """The layer decompresses to more bytes than allowed."""


class CorruptStream(BerthError):
    """The compressed stream cannot be decoded (bad CRC, invalid data, truncated)."""


class _Capped(io.RawIOBase):
    """Counts what passes and refuses to go beyond ``limit`` bytes."""

    def __init__(self, inner: Any, limit: int, kind: str) -> None:
        self.inner = inner
        self.limit = limit
        self.kind = kind
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf)
        try:
            data = self.inner.read(len(view))
        except EOFError as exc:
            raise CorruptStream(f"the {self.kind} stream ends early (truncated)") from exc
        except Exception as exc:  # zlib/isal/zstd errors on hostile data, of many types
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CorruptStream(f"corrupt {self.kind} stream: {text}") from exc
        n = len(data)
        self.total += n
        if self.total > self.limit:
            raise LayerTooLarge(
                f"layer decompresses to more than {self.limit} bytes (limit: BERTH_MAX_LAYER_RATIO "
                "times its compressed size, at most BERTH_MAX_LAYER_BYTES)"
            )
        view[:n] = data
        return n


def compression_of(head: bytes) -> str:
    """``gzip``, ``zstd`` or ``none``, from the first bytes of a blob."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


def open_tar_stream(
    raw: BinaryIO, limit: int | None = None, limits: Limits | None = None
) -> tuple[BinaryIO, str]:
    """Wrap ``raw`` (a blob file) into a buffered reader of the uncompressed tar.

    ``limit`` (bytes) overrides the allowance computed from ``limits`` (default: the environment's).
    """
    head = raw.read(4)
    compressed = raw.seek(0, os.SEEK_END)
    raw.seek(0)
    kind = compression_of(head)
    if limit is None:
        limit = (limits or Limits.from_env()).layer_bytes(compressed, kind)
    inner: Any
    if kind == "gzip":
        inner = _gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[no-untyped-call]  # isal ships no annotations here
    elif kind == "zstd":
        inner = zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    else:
        inner = raw
    capped = _Capped(inner, limit, kind)
    return io.BufferedReader(capped, buffer_size=1 << 20), kind
