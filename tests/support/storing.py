"""Putting images straight into a store, as the registry client will: blobs, then ImageStore.put."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

from agent.store import deploying, streams
from agent.store.blobs import BlobStore
from agent.store.images import ImageRecord, ImageStore

MEDIA = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
}


def put_image(root: Path, reference: str, layer_blobs: list[bytes], *, note: str = "") -> ImageRecord:
    """Store ``layer_blobs`` and record an image of them under ``reference``."""
    blobs = BlobStore(root)
    descriptors, diff_ids = [], []
    for data in layer_blobs:
        stream, _ = streams.open_tar_stream(io.BytesIO(data), limit=1 << 40)
        diff_ids.append("sha256:" + hashlib.sha256(stream.read()).hexdigest())
        digest, _ = blobs.write_bytes(data)
        kind = streams.compression_of(data[:4])
        descriptors.append({"mediaType": MEDIA[kind], "digest": digest, "size": len(data)})
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["/bin/sh"], "Labels": {"note": note}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        },
        sort_keys=True,
    ).encode()
    config_digest, _ = blobs.write_bytes(config)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": config_digest,
                "size": len(config),
            },
            "layers": descriptors,
        },
        sort_keys=True,
    ).encode()
    return ImageStore(root, blobs).put(*deploying.image_key(reference), manifest, config)
