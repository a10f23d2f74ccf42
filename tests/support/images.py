"""Test images built from Debian's busybox-static and files the tests write.

``LayoutBuilder`` writes an OCI image layout by hand (tar layers, gzip or zstd, config, manifest,
index), so tests control every byte and know every digest from ``hashlib`` rather than from the
code under test. Multi-platform indexes use a second, fake architecture (the same busybox bytes
labelled arm64): registries and pulls never execute them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import zstandard

BUSYBOX = Path("/bin/busybox")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_TYPES = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_layer(
    files: dict[str, bytes], *, executable: frozenset[str] = frozenset(), links: dict[str, str] | None = None
) -> bytes:
    """A deterministic tar: parent directories, regular files, then symlinks (mtime 0)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = sorted({str(Path(name).parent) for name in [*files, *(links or {})]} - {"."})
        for directory in dirs:
            info = tarfile.TarInfo(directory)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755 if name in executable else 0o644
            tar.addfile(info, io.BytesIO(data))
        for name, target in sorted((links or {}).items()):
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    return buf.getvalue()


def busybox_layer() -> bytes:
    return tar_layer(
        {"bin/busybox": BUSYBOX.read_bytes()},
        executable=frozenset({"bin/busybox"}),
        links={"bin/sh": "busybox"},
    )


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(data)
    return data


@dataclass(frozen=True)
class BuiltImage:
    """Digests of an image the builder wrote, computed here with hashlib."""

    manifest: bytes
    digest: str
    config_digest: str
    layer_digests: tuple[str, ...]
    platform: str

    @property
    def size(self) -> int:
        return len(self.manifest)


@dataclass
class LayoutBuilder:
    """Writes blobs and images into an OCI layout directory; ``save`` writes index.json."""

    root: Path
    entries: list[dict[str, object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))

    def blob(self, data: bytes) -> str:
        digest = sha256(data)
        (self.root / "blobs" / "sha256" / digest.split(":")[1]).write_bytes(data)
        return digest

    def image(
        self, layers: list[tuple[bytes, str]], *, arch: str = "amd64", variant: str = "", env: str = "A=1"
    ) -> BuiltImage:
        descriptors, diff_ids = [], []
        for tar_bytes, how in layers:
            blob = compress(tar_bytes, how)
            descriptors.append({"mediaType": LAYER_TYPES[how], "digest": self.blob(blob), "size": len(blob)})
            diff_ids.append(sha256(tar_bytes))
        platform = {"architecture": arch, "os": "linux", **({"variant": variant} if variant else {})}
        config = json.dumps(
            {
                **platform,
                "config": {"Env": [env], "Cmd": ["/bin/sh"]},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
            },
            sort_keys=True,
        ).encode()
        config_digest = self.blob(config)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
                "layers": descriptors,
            },
            indent=2,
        ).encode()
        name = "/".join(p for p in ("linux", arch, variant) if p)
        return BuiltImage(
            manifest, self.blob(manifest), config_digest, tuple(str(d["digest"]) for d in descriptors), name
        )

    def index(self, built: list[BuiltImage]) -> tuple[str, bytes]:
        entries = []
        for image in built:
            os_, arch, *variant = image.platform.split("/")
            platform = {"os": os_, "architecture": arch, **({"variant": variant[0]} if variant else {})}
            entries.append(
                {"mediaType": OCI_MANIFEST, "digest": image.digest, "size": image.size, "platform": platform}
            )
        data = json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, indent=2
        ).encode()
        return self.blob(data), data

    def tag(self, ref: str, digest: str, media_type: str, size: int) -> None:
        self.entries.append(
            {
                "mediaType": media_type,
                "digest": digest,
                "size": size,
                "annotations": {"org.opencontainers.image.ref.name": ref},
            }
        )

    def save(self) -> None:
        (self.root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": self.entries}))


@dataclass(frozen=True)
class TestImages:
    """The session's images: a layout directory and what each tag holds."""

    layout: Path
    simple: BuiltImage
    """``simple``: busybox layer (gzip) plus a small files layer (gzip)."""
    zstd: BuiltImage
    """``zstd``: busybox layer compressed with zstd."""
    amd64: BuiltImage
    arm64: BuiltImage
    multi_digest: str
    """``multi``: an index of amd64 and arm64/v8."""
    foreign_digest: str
    """``foreign``: an index with arm64/v8 and s390x only."""


def build_test_images(root: Path) -> TestImages:
    builder = LayoutBuilder(root)
    busybox = busybox_layer()
    files = tar_layer({"etc/motd": b"hello from berth\n", "srv/data.bin": bytes(range(256)) * 400})
    simple = builder.image([(busybox, "gzip"), (files, "gzip")])
    zstd = builder.image([(busybox, "zstd")], env="COMPRESSION=zstd")
    amd64 = builder.image([(busybox, "gzip"), (tar_layer({"etc/arch": b"amd64\n"}), "gzip")])
    arm64 = builder.image(
        [(busybox, "gzip"), (tar_layer({"etc/arch": b"arm64\n"}), "gzip")], arch="arm64", variant="v8"
    )
    s390x = builder.image([(tar_layer({"etc/arch": b"s390x\n"}), "gzip")], arch="s390x")
    multi_digest, multi = builder.index([amd64, arm64])
    foreign_digest, foreign = builder.index([arm64, s390x])
    builder.tag("simple", simple.digest, OCI_MANIFEST, simple.size)
    builder.tag("zstd", zstd.digest, OCI_MANIFEST, zstd.size)
    builder.tag("multi", multi_digest, OCI_INDEX, len(multi))
    builder.tag("foreign", foreign_digest, OCI_INDEX, len(foreign))
    builder.save()
    return TestImages(root, simple, zstd, amd64, arm64, multi_digest, foreign_digest)


def push_all(
    images: TestImages, registry_host: str, *, creds: str | None = None, ca_dir: Path | None = None
) -> None:
    """Push every tag of the session layout as ``<host>/test/<tag>:latest`` with skopeo."""
    from tests.support import registry

    for tag in ("simple", "zstd", "multi", "foreign"):
        registry.push(
            images.layout,
            tag,
            f"{registry_host}/test/{tag}:latest",
            all_platforms=tag in ("multi", "foreign"),
            creds=creds,
            ca_dir=ca_dir,
        )
