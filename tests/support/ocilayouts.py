"""Writing an OCI image layout (``oci-layout``, ``index.json``, ``blobs/``) from layer blobs.

The peers (umoci, skopeo) read these directories, so Berth's layers can be fed to them as-is.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import zstandard

from agent.store import streams
from tests.support.storing import MEDIA


def _blob(layout: Path, data: bytes) -> str:
    digest = hashlib.sha256(data).hexdigest()
    path = layout / "blobs" / "sha256" / digest
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"sha256:{digest}"


def _uncompressed(data: bytes) -> bytes:
    kind = streams.compression_of(data[:4])
    if kind == "gzip":
        return gzip.decompress(data)
    if kind == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def write_layout(layout: Path, tag: str, layer_blobs: list[bytes]) -> None:
    """An OCI layout holding one image, tagged ``tag``, made of ``layer_blobs``."""
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    descriptors = []
    diff_ids = []
    for data in layer_blobs:
        kind = streams.compression_of(data[:4])
        descriptors.append({"mediaType": MEDIA[kind], "digest": _blob(layout, data), "size": len(data)})
        diff_ids.append("sha256:" + hashlib.sha256(_uncompressed(data)).hexdigest())
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _blob(layout, config),
                "size": len(config),
            },
            "layers": descriptors,
        }
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": _blob(layout, manifest),
                "size": len(manifest),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(index))
