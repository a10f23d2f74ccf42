"""The ``oci:`` and ``oci-archive:`` transports: OCI image layouts in a directory or a tar.

Both are read through one small reader interface, so the same code serves a directory and an
(uncompressed or compressed) tar without unpacking it first. The ref selects an entry of
``index.json`` by its ``org.opencontainers.image.ref.name`` annotation; without a ref the
index must have exactly one entry. Blobs are copied into the BlobStore and verified like
downloaded ones: a layout on disk is not trusted more than a registry.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import IO, Protocol

from agent.oci import references
from agent.registry import errors, manifests, progress
from agent.store import blobs


class Reader(Protocol):
    """Files of a layout by their relative path."""

    name: str

    def read(self, member: str) -> bytes: ...

    def open(self, member: str) -> IO[bytes]: ...


class DirReader:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.name = str(root)
        if not self.root.is_dir():
            raise errors.NotFound(self.name, "no such directory")

    def _path(self, member: str) -> Path:
        path = (self.root / member).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise errors.ManifestError(self.name, f"path {member!r} escapes the layout")
        return path

    def read(self, member: str) -> bytes:
        with self.open(member) as fh:
            return fh.read()

    def open(self, member: str) -> IO[bytes]:
        try:
            return open(self._path(member), "rb")
        except FileNotFoundError as exc:
            raise errors.NotFound(self.name, f"{member} is missing") from exc


class TarReader:
    """Members of a tar (any compression tarfile reads) by normalised name."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        try:
            self.tar = tarfile.open(path, "r:*")  # noqa: SIM115 - closed by close()
        except FileNotFoundError as exc:
            raise errors.NotFound(self.name, "no such file") from exc
        except tarfile.TarError as exc:
            raise errors.ManifestError(self.name, f"not a readable tar archive: {exc}") from exc
        self.members = {m.name.removeprefix("./"): m for m in self.tar.getmembers() if m.isfile()}

    def read(self, member: str) -> bytes:
        with self.open(member) as fh:
            return fh.read()

    def open(self, member: str) -> IO[bytes]:
        info = self.members.get(member.removeprefix("./"))
        handle = self.tar.extractfile(info) if info is not None else None
        if handle is None:
            raise errors.NotFound(self.name, f"{member} is missing from the archive")
        return handle

    def close(self) -> None:
        self.tar.close()


def blob_member(digest: str) -> str:
    algorithm, _, hexpart = digest.partition(":")
    return f"blobs/{algorithm}/{hexpart}"


def copy_blob(
    reader: Reader,
    member: str,
    desc: manifests.Descriptor,
    store: blobs.BlobStore,
    sink: progress.ProgressSink,
    *,
    watching: blobs.Watching | None = None,
) -> Path:
    """Copy one blob into the store, verifying digest and size on the way (``watching``: as
    :func:`agent.registry.fetching.fetch_blob`)."""
    if store.has(desc.digest):
        sink.blob_finished(desc.digest, skipped=True)
        return store.path(desc.digest)
    sink.blob_started(desc.digest, desc.size, 0)
    try:
        with reader.open(member) as fh:
            path = store.write_stream(
                desc.digest,
                iter(lambda: fh.read(blobs.CHUNK), b""),
                desc.size,
                watcher=watching.watch(desc.digest, desc.size) if watching else None,
            )
    except blobs.DigestMismatch as exc:
        raise errors.BlobDigestMismatch(reader.name, desc.digest, f"{member} hashes to {exc.actual}") from exc
    except blobs.SizeMismatch as exc:
        raise errors.BlobSizeMismatch(
            reader.name, desc.digest, f"{member}: expected {exc.expected} bytes, found {exc.actual}"
        ) from exc
    sink.blob_advanced(desc.digest, desc.size)
    sink.blob_finished(desc.digest, skipped=False)
    return path


class LayoutSource:
    """An OCI layout as a pull source (see ``pulling.Source``)."""

    parallel = False

    def __init__(self, reader: Reader, ref: str | None, fallback_name: str) -> None:
        self.reader = reader
        self.name = reader.name
        self.ref = ref
        try:
            layout = json.loads(reader.read("oci-layout"))
            index = json.loads(reader.read("index.json"))
        except ValueError as exc:
            raise errors.ManifestError(self.name, f"oci-layout or index.json is not JSON: {exc}") from exc
        if not isinstance(layout, dict) or layout.get("imageLayoutVersion") != "1.0.0":
            raise errors.ManifestError(self.name, "not an OCI image layout (oci-layout version 1.0.0)")
        top = manifests.parse(json.dumps(index).encode(), manifests.OCI_INDEX, self.name)
        self.entry = self._select(top.manifests, ref)
        self.target = references.local_name(
            ref or self.entry.annotations.get(manifests.REF_NAME), fallback_name
        )

    def _select(self, entries: tuple[manifests.Descriptor, ...], ref: str | None) -> manifests.Descriptor:
        names = [e.annotations.get(manifests.REF_NAME, "") for e in entries]
        if ref is None:
            if len(entries) != 1:
                listed = ", ".join(n or "(unnamed)" for n in names)
                raise errors.NotFound(self.name, f"layout holds {len(entries)} images ({listed}): give a ref")
            return entries[0]
        for entry, name in zip(entries, names, strict=True):
            if ref in (name, entry.digest):
                return entry
        raise errors.NotFound(
            self.name,
            f"no image named {ref!r} in index.json (names: {', '.join(filter(None, names)) or 'none'})",
        )

    def get_manifest(self, digest: str | None) -> tuple[bytes, str | None, str | None]:
        digest = digest or self.entry.digest
        media_type = self.entry.media_type if digest == self.entry.digest else None
        return self.reader.read(blob_member(digest)), media_type, digest

    def fetch_blob(
        self,
        desc: manifests.Descriptor,
        store: blobs.BlobStore,
        sink: progress.ProgressSink,
        watching: blobs.Watching | None = None,
    ) -> Path:
        return copy_blob(self.reader, blob_member(desc.digest), desc, store, sink, watching=watching)

    def close(self) -> None:
        if isinstance(self.reader, TarReader):
            self.reader.close()


def split_path_ref(text: str) -> tuple[Path, str | None]:
    """``/path[:ref]`` as skopeo writes it (the path cannot contain ``:``)."""
    path, sep, ref = text.partition(":")
    if not path:
        raise errors.InvalidReference("", f"{text!r}: expected PATH[:REF]")
    return Path(path), (ref if sep and ref else None)
