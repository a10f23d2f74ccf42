"""Content-addressed blobs: ``blobs/sha256/<hex>``, written once, verified while written.

A blob is streamed into ``blobs/.partial/<hex>`` (kept across failures so a download can resume
with an HTTP Range request) and renamed into place only after its sha256 and size check out, so a
file under ``blobs/sha256/`` is always complete and correct.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from agent.store import atomic
from translators.errors import BerthError

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
CHUNK = 1 << 20


class DigestMismatch(BerthError):
    """Data did not hash to the digest it was announced with."""

    def __init__(self, expected: str, actual: str, what: str = "blob") -> None:
        super().__init__(f"{what}: expected digest {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class SizeMismatch(BerthError):
    """Data was longer or shorter than announced (truncated download, lying registry)."""

    def __init__(self, expected: int, actual: int, what: str = "blob") -> None:
        super().__init__(f"{what}: expected {expected} bytes, got {actual}")
        self.expected = expected
        self.actual = actual


class InvalidDigest(BerthError, ValueError):
    """A digest that is not ``sha256:<64 hex>``: it would become a file name."""


class Watcher(Protocol):
    """Follows one download as it is written: a layer can be unpacked while its blob arrives
    (:mod:`agent.store.following`). Nothing it reads is trusted until ``ended(True)``."""

    def written(self, total: int) -> None:
        """The partial file's first ``total`` bytes are written (and stay, unless the attempt fails)."""

    def ended(self, committed: bool) -> None:
        """The attempt is over: True when the blob was verified and moved into place, False when
        it failed (the partial file may be cut, rewritten or deleted)."""


class Watching(Protocol):
    """Hands out a :class:`Watcher` for a layer blob about to be downloaded from its first byte."""

    def watch(self, digest: str, size: int) -> Watcher | None:
        """A watcher for the download of ``digest`` (``size`` bytes announced), or None."""


def check_digest(digest: str) -> str:
    """Only sha256 digests in canonical form are accepted: they become file names."""
    if not _DIGEST.match(digest):
        raise InvalidDigest(f"unsupported or malformed digest {digest!r} (expected sha256:<64 hex>)")
    return digest


class BlobStore:
    """Blobs under ``<root>/blobs``. Safe for concurrent writers: the final rename is atomic."""

    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = Path(root) / "blobs"
        self.final_dir = self.root / "sha256"
        self.partial_dir = self.root / ".partial"
        if create:
            Path(root).mkdir(mode=0o700, parents=True, exist_ok=True)  # a new store is private
            self.final_dir.mkdir(parents=True, exist_ok=True)
            self.partial_dir.mkdir(parents=True, exist_ok=True)

    def path(self, digest: str) -> Path:
        return self.final_dir / check_digest(digest).split(":", 1)[1]

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def partial_path(self, digest: str) -> Path:
        """Where an interrupted download of ``digest`` is kept; its size is the resume offset."""
        return self.partial_dir / check_digest(digest).split(":", 1)[1]

    def commit_partial(self, digest: str, size: int | None = None) -> Path:
        """Verify the partial file fully and move it into place; a bad file is removed."""
        partial = self.partial_path(digest)
        hasher = hashlib.sha256()
        total = 0
        with open(partial, "rb") as fh:
            while chunk := fh.read(CHUNK):
                hasher.update(chunk)
                total += len(chunk)
            os.fsync(fh.fileno())
        return self._finish(partial, digest, "sha256:" + hasher.hexdigest(), total, size)

    def write_stream(
        self, digest: str, chunks: Iterable[bytes], size: int | None = None, *, watcher: Watcher | None = None
    ) -> Path:
        """Stream ``chunks`` into the store, hashing as they arrive."""
        return self.resume_stream(digest, chunks, size, 0, watcher=watcher)

    def resume_stream(
        self,
        digest: str,
        chunks: Iterable[bytes],
        size: int | None,
        offset: int,
        *,
        watcher: Watcher | None = None,
    ) -> Path:
        """Continue the partial file of ``digest`` at ``offset`` (0 restarts it), hashing throughout.

        The ``offset`` bytes already there are hashed again first, so the final check covers the
        whole blob however many attempts wrote it. Data received before a failure stays in the
        partial file for the next attempt; a size or digest mismatch removes it. ``watcher`` is
        told after each chunk how far the file is written, and always how the attempt ended.
        """
        if watcher is None:
            return self._resume(digest, chunks, size, offset, None)
        committed = False
        try:
            final = self._resume(digest, chunks, size, offset, watcher)
            committed = True
            return final
        finally:
            watcher.ended(committed)

    def _resume(
        self, digest: str, chunks: Iterable[bytes], size: int | None, offset: int, watcher: Watcher | None
    ) -> Path:
        partial = self.partial_path(digest)
        hasher = hashlib.sha256()
        total = 0
        with open(partial, "r+b" if offset else "wb") as fh:
            while total < offset and (chunk := fh.read(min(CHUNK, offset - total))):
                hasher.update(chunk)
                total += len(chunk)
            if total != offset:
                raise SizeMismatch(offset, total, f"{digest} (partial file shrank)")
            fh.seek(offset)
            fh.truncate()
            if watcher is not None and offset:
                watcher.written(offset)
            for chunk in chunks:
                hasher.update(chunk)
                fh.write(chunk)
                total += len(chunk)
                if size is not None and total > size:
                    break
                if watcher is not None:
                    fh.flush()  # the watcher reads the file through its own descriptor
                    watcher.written(total)
            fh.flush()
            os.fsync(fh.fileno())
        return self._finish(partial, digest, "sha256:" + hasher.hexdigest(), total, size)

    def write_bytes(self, data: bytes, digest: str | None = None) -> tuple[str, Path]:
        actual = "sha256:" + hashlib.sha256(data).hexdigest()
        path = self.write_stream(digest or actual, [data], len(data))
        return actual, path

    def copy_from(self, fh: BinaryIO, digest: str, size: int | None = None) -> Path:
        return self.write_stream(digest, iter(lambda: fh.read(CHUNK), b""), size)

    def _finish(self, partial: Path, digest: str, actual: str, total: int, size: int | None) -> Path:
        if size is not None and total != size:
            partial.unlink(missing_ok=True)
            raise SizeMismatch(size, total, digest)
        if actual != digest:
            partial.unlink(missing_ok=True)
            raise DigestMismatch(digest, actual)
        final = self.path(digest)
        os.chmod(partial, 0o444)
        os.replace(partial, final)
        atomic.fsync_dir(self.final_dir)
        return final

    def digests(self) -> list[str]:
        if not self.final_dir.is_dir():
            return []
        return sorted("sha256:" + p.name for p in self.final_dir.iterdir() if p.is_file())
