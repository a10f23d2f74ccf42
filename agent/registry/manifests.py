"""Manifests and indexes: Docker schema2, OCI, manifest lists, and which entry to pull.

A manifest is kept as the exact bytes received, because its digest is the hash of those bytes.
Schema1 (signed, v1) manifests are refused: they are deprecated, carry no content-addressed
config, and registries convert them on request when asked for schema2 in ``Accept``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from agent.registry import errors, platforms

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
SCHEMA1 = (
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
IMAGE_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
ACCEPT = ", ".join((*IMAGE_TYPES, *INDEX_TYPES))

REF_NAME = "org.opencontainers.image.ref.name"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
"""Digests become file names and URL paths: only canonical sha256 is accepted."""


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Descriptor:
    """What a manifest says about a blob or a child manifest."""

    media_type: str
    digest: str
    size: int
    platform: platforms.Platform | None = None
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """A parsed image manifest (``config`` + ``layers``) or index (``manifests``)."""

    media_type: str
    raw: bytes
    digest: str
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES


def descriptor(value: Any, source: str, where: str) -> Descriptor:
    """Validate one descriptor object; a malformed one is a ManifestError naming its place."""
    if not isinstance(value, dict):
        raise errors.ManifestError(source, f"{where}: expected a descriptor object")
    digest, size = value.get("digest"), value.get("size")
    if not isinstance(digest, str) or not _DIGEST.match(digest):
        raise errors.ManifestError(source, f"{where}: unsupported or missing digest {digest!r}")
    if not isinstance(size, int) or size < 0:
        raise errors.ManifestError(source, f"{where}: missing or invalid size {size!r}")
    annotations = value.get("annotations") or {}
    return Descriptor(
        media_type=str(value.get("mediaType", "")),
        digest=digest,
        size=size,
        platform=platforms.from_descriptor(value.get("platform")),
        annotations={str(k): str(v) for k, v in annotations.items()} if isinstance(annotations, dict) else {},
    )


def parse(raw: bytes, content_type: str | None, source: str) -> Manifest:
    """Parse manifest bytes; the media type comes from the document, else from Content-Type."""
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise errors.ManifestError(source, f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise errors.ManifestError(source, "manifest is not a JSON object")
    header_type = (content_type or "").split(";")[0].strip()
    media_type = str(doc.get("mediaType") or "")
    if doc.get("schemaVersion") == 1 or media_type in SCHEMA1 or header_type in SCHEMA1:
        raise errors.ManifestError(
            source,
            "schema1 manifests are not supported (deprecated Docker format); "
            "re-push the image with a current client to get a schema2 or OCI manifest",
        )
    if doc.get("schemaVersion") != 2:
        raise errors.ManifestError(source, f"unsupported schemaVersion {doc.get('schemaVersion')!r}")
    if not media_type:
        media_type = header_type if header_type in (*IMAGE_TYPES, *INDEX_TYPES) else ""
    if not media_type:  # OCI allows omitting mediaType: tell by the shape
        media_type = OCI_INDEX if "manifests" in doc else OCI_MANIFEST
    if media_type in INDEX_TYPES:
        items = doc.get("manifests")
        if not isinstance(items, list):
            raise errors.ManifestError(source, "index has no 'manifests' list")
        children = tuple(descriptor(item, source, f"manifests[{i}]") for i, item in enumerate(items))
        return Manifest(media_type, raw, sha256(raw), None, (), children)
    if media_type not in IMAGE_TYPES:
        raise errors.ManifestError(source, f"unsupported manifest media type {media_type!r}")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise errors.ManifestError(source, "manifest has no 'layers' list")
    return Manifest(
        media_type=media_type,
        raw=raw,
        digest=sha256(raw),
        config=descriptor(doc.get("config"), source, "config"),
        layers=tuple(descriptor(item, source, f"layers[{i}]") for i, item in enumerate(layers)),
        manifests=(),
    )


def select_platform(index: Manifest, wanted: platforms.Platform, source: str) -> Descriptor:
    """The first entry of ``index`` for ``wanted``; PlatformNotFound lists what there is."""
    available: list[str] = []
    for entry in index.manifests:
        if entry.platform is None:
            continue
        if entry.annotations.get("vnd.docker.reference.type") == "attestation-manifest":
            continue
        if wanted.matches(entry.platform):
            return entry
        available.append(str(entry.platform))
    raise errors.PlatformNotFound(source, str(wanted), available)
