"""The ``docker-archive:`` transport: ``docker save`` tarballs converted into OCI images.

A docker archive has ``manifest.json`` (``[{"Config": ..., "RepoTags": [...], "Layers": [...]}]``),
a config file and one tar per layer, uncompressed as Docker writes them. The image is recorded
with an OCI manifest Berth writes itself (compact JSON, so its digest is stable); layers keep their
bytes, so an uncompressed layer's digest is its diff ID from the config and is verified while it
is copied. A compressed layer (gzip or zstd, written by some tools) is hashed first to name it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from agent.oci import references
from agent.registry import errors, layouts, manifests, progress
from agent.store import blobs

_GZIP = b"\x1f\x8b"
_ZSTD = b"\x28\xb5\x2f\xfd"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


class DockerArchiveSource:
    """A docker archive as a pull source (see ``pulling.Source``)."""

    parallel = False

    def __init__(self, path: Path, ref: str | None) -> None:
        self.reader = layouts.TarReader(path)
        self.name = self.reader.name
        try:
            entries = json.loads(self.reader.read("manifest.json"))
        except ValueError as exc:
            raise errors.ManifestError(self.name, f"manifest.json is not JSON: {exc}") from exc
        if not isinstance(entries, list) or not entries:
            raise errors.ManifestError(self.name, "manifest.json lists no images")
        entry = self._select(entries, ref)
        tags = entry.get("RepoTags") or []
        self.target = references.local_name(ref or (tags[0] if tags else None), path.stem)
        self.config = self.reader.read(str(entry["Config"]))
        self.members: dict[str, str] = {}
        self.manifest = self._convert(entry)

    def _select(self, entries: list[Any], ref: str | None) -> dict[str, Any]:
        if ref is None:
            if len(entries) != 1:
                raise errors.NotFound(self.name, f"archive holds {len(entries)} images: give a name:tag")
            return dict(entries[0])
        wanted = {ref, f"{ref}:latest", str(references.parse(ref))}
        for entry in entries:
            tags = set(entry.get("RepoTags") or [])
            if tags & wanted or {str(references.parse(t)) for t in tags} & wanted:
                return dict(entry)
        raise errors.NotFound(self.name, f"no image tagged {ref!r} in manifest.json")

    def _convert(self, entry: dict[str, Any]) -> bytes:
        try:
            diff_ids = list(json.loads(self.config)["rootfs"]["diff_ids"])
        except (ValueError, KeyError, TypeError) as exc:
            raise errors.ManifestError(self.name, "image config has no rootfs.diff_ids") from exc
        layer_paths = list(entry.get("Layers") or [])
        if len(layer_paths) != len(diff_ids):
            raise errors.ManifestError(
                self.name, f"{len(layer_paths)} layers but {len(diff_ids)} diff_ids in the config"
            )
        layers = []
        for member, diff_id in zip(layer_paths, diff_ids, strict=True):
            info = self.reader.members.get(str(member).removeprefix("./"))
            if info is None:
                raise errors.NotFound(self.name, f"layer {member} is missing from the archive")
            with self.reader.open(member) as fh:
                head = fh.read(4)
            suffix = "+gzip" if head[:2] == _GZIP else "+zstd" if head == _ZSTD else ""
            digest = self._hash(member) if suffix else str(diff_id)
            self.members[digest] = member
            layers.append({"mediaType": LAYER_TAR + suffix, "digest": digest, "size": info.size})
        config_digest = manifests.sha256(self.config)
        doc = {
            "schemaVersion": 2,
            "mediaType": manifests.OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(self.config)},
            "layers": layers,
        }
        return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()

    def _hash(self, member: str) -> str:
        hasher = hashlib.sha256()
        with self.reader.open(member) as fh:
            while chunk := fh.read(blobs.CHUNK):
                hasher.update(chunk)
        return "sha256:" + hasher.hexdigest()

    def get_manifest(self, digest: str | None) -> tuple[bytes, str | None, str | None]:
        if digest not in (None, manifests.sha256(self.manifest)):
            raise errors.NotFound(self.name, f"no manifest {digest} in a docker archive")
        return self.manifest, manifests.OCI_MANIFEST, None

    def fetch_blob(
        self,
        desc: manifests.Descriptor,
        store: blobs.BlobStore,
        sink: progress.ProgressSink,
        watching: blobs.Watching | None = None,
    ) -> Path:
        if desc.digest == manifests.sha256(self.config):
            if not store.has(desc.digest):
                store.write_bytes(self.config, desc.digest)
            sink.blob_finished(desc.digest, skipped=False)
            return store.path(desc.digest)
        return layouts.copy_blob(self.reader, self.members[desc.digest], desc, store, sink, watching=watching)

    def close(self) -> None:
        self.reader.close()
