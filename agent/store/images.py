"""Pulled images: ``images/<registry>/<repository>/<tag>/`` with the manifest and config.

An image directory holds ``manifest.json`` (the platform manifest, byte for byte as pulled, so its
digest can be checked again), ``config.json`` (the image config, likewise) and ``image.json``
(what Berth knows about it: reference, digests, layers). Layer and config data live once in the
blob store; an image directory only refers to them. A reference by digest is stored under the tag
directory ``sha256-<hex>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.store import atomic
from agent.store.blobs import BlobStore
from translators.errors import BerthError

_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\[\]-]*$")


class ImageNotFound(BerthError):
    """No image is stored under that reference."""


class InvalidImageRecord(BerthError, ValueError):
    """An image cannot be recorded as asked (a name that cannot be a directory, a config or
    layer blob that does not match or is missing); a ValueError too, for the callers of old."""


@dataclass(frozen=True)
class Layer:
    """One layer of an image, as the manifest lists it."""

    digest: str
    media_type: str
    size: int


@dataclass(frozen=True)
class ImageRecord:
    """A stored image."""

    registry: str
    repository: str
    tag: str
    digest: str
    """Digest of manifest.json."""
    config_digest: str
    config: dict[str, Any]
    layers: tuple[Layer, ...]
    path: Path

    @property
    def reference(self) -> str:
        sep = "@" if self.tag.startswith("sha256-") else ":"
        tag = self.tag.replace("sha256-", "sha256:", 1) if sep == "@" else self.tag
        return f"{self.registry}/{self.repository}{sep}{tag}"


_DIGEST_DIR = re.compile(r"^sha256-[0-9a-f]{64}$")


def tag_dir_name(tag_or_digest: str) -> str:
    """``latest`` stays; ``sha256:abc`` becomes ``sha256-abc`` (a valid directory name).

    A *tag* spelled like such a directory would share it with the digest it names, so a tag could
    stand in for a pinned digest: those tags are refused.
    """
    if tag_or_digest.startswith("sha256:"):
        return tag_or_digest.replace(":", "-", 1)
    if _DIGEST_DIR.match(tag_or_digest):
        raise InvalidImageRecord(f"tag {tag_or_digest!r} is reserved: it reads as a digest")
    return tag_or_digest


class ImageStore:
    """The ``images/`` tree of a store root."""

    def __init__(self, root: Path, blobs: BlobStore | None = None, *, create: bool = True) -> None:
        self.root = Path(root)
        self.images_dir = self.root / "images"
        if create:
            self.images_dir.mkdir(parents=True, exist_ok=True)
        self.blobs = blobs or BlobStore(self.root, create=create)

    def dir_for(self, registry: str, repository: str, tag: str) -> Path:
        parts = [registry, *repository.split("/"), tag_dir_name(tag)]
        for part in parts:
            if not _COMPONENT.match(part) or part in (".", ".."):
                raise InvalidImageRecord(f"invalid image reference component {part!r}")
        return self.images_dir.joinpath(*parts)

    def put(self, registry: str, repository: str, tag: str, manifest: bytes, config: bytes) -> ImageRecord:
        """Record an image whose config and layer blobs are already in the blob store."""
        doc = json.loads(manifest)
        config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
        if doc.get("config", {}).get("digest") != config_digest:
            raise InvalidImageRecord("image config does not match the manifest's config digest")
        layers = tuple(
            Layer(item["digest"], item.get("mediaType", ""), int(item.get("size", 0)))
            for item in doc.get("layers", [])
        )
        missing = [layer.digest for layer in layers if not self.blobs.has(layer.digest)]
        if missing:
            raise InvalidImageRecord(f"layers missing from the blob store: {', '.join(missing)}")
        if not self.blobs.has(config_digest):
            self.blobs.write_bytes(config, config_digest)
        path = self.dir_for(registry, repository, tag)
        path.mkdir(parents=True, exist_ok=True)
        digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        # image.json marks a complete record: on a re-pull it goes first, so a crash part-way
        # leaves no record (pull again) rather than an old image.json beside a new manifest
        marker = path / "image.json"
        if marker.exists():
            marker.unlink()
            atomic.fsync_dir(path)
        atomic.write_bytes(path / "manifest.json", manifest)
        atomic.write_bytes(path / "config.json", config)
        info = {
            "registry": registry,
            "repository": repository,
            "tag": tag_dir_name(tag),
            "digest": digest,
            "config_digest": config_digest,
            "layers": [layer.__dict__ for layer in layers],
        }
        atomic.write_json(path / "image.json", info)  # written last: its presence marks completeness
        return self._record(path)

    def _record(self, path: Path) -> ImageRecord:
        info = atomic.read_json(path / "image.json")
        if info is None:
            raise ImageNotFound(str(path))
        config = json.loads((path / "config.json").read_bytes())
        return ImageRecord(
            registry=info["registry"],
            repository=info["repository"],
            tag=info["tag"],
            digest=info["digest"],
            config_digest=info["config_digest"],
            config=config,
            layers=tuple(Layer(**item) for item in info["layers"]),
            path=path,
        )

    def get(self, registry: str, repository: str, tag: str) -> ImageRecord:
        try:
            return self._record(self.dir_for(registry, repository, tag))
        except (ImageNotFound, FileNotFoundError) as exc:
            raise ImageNotFound(f"{registry}/{repository}:{tag} is not in the store") from exc

    def list(self) -> list[ImageRecord]:
        if not self.images_dir.is_dir():
            return []
        return [self._record(p.parent) for p in sorted(self.images_dir.rglob("image.json"))]

    def remove(self, registry: str, repository: str, tag: str) -> None:
        path = self.dir_for(registry, repository, tag)
        for name in ("image.json", "manifest.json", "config.json"):
            (path / name).unlink(missing_ok=True)
        atomic.fsync_dir(path)
        with contextlib.suppress(OSError):
            path.rmdir()
