"""Writing OCI image layouts: the demo image and test images are made here, not downloaded.

A layout is ``oci-layout``, ``index.json`` and ``blobs/sha256/``; any OCI tool (skopeo, umoci,
podman) reads it, and so does Berth's ``oci:`` transport. Layers are built from a plain
description of their entries so that builds are reproducible: fixed mtimes, sorted entries,
gzip without a timestamp, so the same input always gives the same digests.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.oci import mediatypes

EPOCH = 0


@dataclass(frozen=True)
class Entry:
    """One entry of a layer: a file (``data``), a directory, a symlink or a hard link."""

    path: str
    kind: str = "file"  # file | dir | symlink | hardlink
    data: bytes = b""
    mode: int = 0o644
    target: str = ""
    uid: int = 0
    gid: int = 0


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


def tar_layer(entries: Sequence[Entry]) -> bytes:
    """An uncompressed, reproducible tar of ``entries`` (in the order given)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e.path.lstrip("/"))
            info.mtime, info.uid, info.gid, info.mode = EPOCH, e.uid, e.gid, e.mode
            info.uname = info.gname = ""
            if e.kind == "dir":
                info.type = tarfile.DIRTYPE
            elif e.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, e.target
            elif e.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, e.target.lstrip("/")
            elif e.kind == "file":
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
                continue
            else:
                raise ValueError(f"unknown entry kind {e.kind!r} for {e.path}")
            tar.addfile(info)
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class LayoutWriter:
    """Adds blobs and tagged images to an OCI layout directory."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.blobs = self.root / "blobs" / "sha256"
        self.blobs.mkdir(parents=True, exist_ok=True)
        layout = self.root / "oci-layout"
        if not layout.exists():
            _replace(layout, json.dumps({"imageLayoutVersion": "1.0.0"}).encode())

    def add_blob(self, data: bytes, media_type: str) -> Descriptor:
        digest = digest_of(data)
        path = self.blobs / digest.split(":", 1)[1]
        if not path.exists():
            _replace(path, data)
        return Descriptor(media_type, digest, len(data))

    def add_image(
        self,
        tag: str,
        layers: Sequence[bytes],
        config: dict[str, Any],
        *,
        compress: bool = True,
        architecture: str = "amd64",
        os: str = "linux",
    ) -> Descriptor:
        """Write layers (uncompressed tars), config and manifest; tag the manifest in index.json."""
        media = mediatypes.OCI_LAYER_GZIP if compress else mediatypes.OCI_LAYER
        blobs = [(gzip_bytes(tar) if compress else tar, media, digest_of(tar)) for tar in layers]
        return self.add_image_of_blobs(tag, blobs, config, architecture=architecture, os=os)

    def add_image_of_blobs(
        self,
        tag: str,
        blobs: Sequence[tuple[bytes, str, str]],
        config: dict[str, Any],
        *,
        architecture: str = "amd64",
        os: str = "linux",
    ) -> Descriptor:
        """Like :meth:`add_image` for layers already compressed: ``(blob, media type, diff id)``."""
        descriptors = [self.add_blob(blob, media) for blob, media, _ in blobs]
        full_config = {
            "architecture": architecture,
            "os": os,
            "config": config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id for _, _, diff_id in blobs]},
            "history": [{"created_by": "berth oci layout writer", "created": "1970-01-01T00:00:00Z"}],
            "created": "1970-01-01T00:00:00Z",
        }
        config_desc = self.add_blob(json.dumps(full_config, sort_keys=True).encode(), mediatypes.OCI_CONFIG)
        manifest = {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_MANIFEST,
            "config": config_desc.as_json(),
            "layers": [d.as_json() for d in descriptors],
        }
        desc = self.add_blob(json.dumps(manifest, sort_keys=True).encode(), mediatypes.OCI_MANIFEST)
        self._tag(
            Descriptor(desc.media_type, desc.digest, desc.size, {mediatypes.REF_NAME: tag}), os, architecture
        )
        return desc

    def _tag(self, desc: Descriptor, os: str, architecture: str) -> None:
        index_path = self.root / "index.json"
        index = (json.loads(index_path.read_bytes()) if index_path.exists() else None) or {
            "schemaVersion": 2,
            "mediaType": mediatypes.OCI_INDEX,
            "manifests": [],
        }
        tag = desc.annotations[mediatypes.REF_NAME]
        index["manifests"] = [
            m for m in index["manifests"] if m.get("annotations", {}).get(mediatypes.REF_NAME) != tag
        ] + [{**desc.as_json(), "platform": {"architecture": architecture, "os": os}}]
        _replace(index_path, json.dumps(index, indent=2, sort_keys=True).encode())


def _replace(path: Path, data: bytes) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed over it), so a reader never
    sees half a blob or index. Not fsynced: a layout is build input that is made again on demand,
    unlike the store, whose durable writes (``agent.store.atomic``) sit above this layer."""
    tmp = path.with_name(f".tmp-{path.name}.{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
