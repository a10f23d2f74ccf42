"""An OCI image layout (``oci-layout``, ``index.json``, ``blobs/``) from test layer blobs.

The peers (umoci, skopeo) read these directories, so Berth's layers can be fed to them as-is;
the writing itself is Berth's own :class:`agent.oci.layouts.LayoutWriter`.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import zstandard

from agent.oci import layouts
from agent.store import streams
from tests.support.storing import MEDIA


def _uncompressed(data: bytes) -> bytes:
    kind = streams.compression_of(data[:4])
    if kind == "gzip":
        return gzip.decompress(data)
    if kind == "zstd":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def write_layout(layout: Path, tag: str, layer_blobs: list[bytes]) -> None:
    """An OCI layout holding one image, tagged ``tag``, made of ``layer_blobs`` (any compression)."""
    blobs = [
        (data, MEDIA[streams.compression_of(data[:4])], layouts.digest_of(_uncompressed(data)))
        for data in layer_blobs
    ]
    layouts.LayoutWriter(layout).add_image_of_blobs(tag, blobs, {})
