"""The ``oci:``, ``oci-archive:`` and ``docker-archive:`` transports, with archives made by skopeo.

We test these aspects:
- ``oci:DIR:REF`` picks the index.json entry by ``org.opencontainers.image.ref.name``, resolves
  a multi-platform entry, and records under ``localhost/<dir name>:<tag>``; without a ref a layout
  of several images is refused, listing their names;
- a blob altered on disk is caught (BlobDigestMismatch) and nothing is recorded;
- ``oci-archive:FILE`` written by skopeo: its ref name becomes the image name, its manifest digest
  is the one in the archive's index.json;
- ``docker-archive:FILE`` written by skopeo: converted into an OCI manifest whose layer digests
  are the config's diff_ids (checked against our builder's hashlib digests of the layer tars)
  and whose config digest is the archive config's sha256;
- the naming table for images from non-registry transports.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from agent.oci import references
from agent.registry import errors, pulling
from agent.store import blobs, images
from tests.support import images as images_mod


def _skopeo(source: str, destination: str) -> None:
    subprocess.run(
        ["skopeo", "copy", "--quiet", source, destination], check=True, capture_output=True, timeout=120
    )


def test_oci_layout_by_ref(test_images: images_mod.TestImages, tmp_path: Path) -> None:
    record = pulling.pull_image(f"oci:{test_images.layout}:simple", tmp_path)
    assert (record.registry, record.repository, record.tag) == ("localhost", "layout", "simple")
    assert record.digest == test_images.simple.digest
    assert [layer.digest for layer in record.layers] == list(test_images.simple.layer_digests)


def test_oci_layout_index_with_platform(test_images: images_mod.TestImages, tmp_path: Path) -> None:
    record = pulling.pull_image(
        str(test_images.layout) + ":multi", tmp_path, transport="oci", platform="linux/arm64"
    )
    assert record.digest == test_images.arm64.digest


def test_oci_layout_needs_a_ref_when_ambiguous(test_images: images_mod.TestImages, tmp_path: Path) -> None:
    with pytest.raises(errors.NotFound, match=r"holds 4 images \(simple, zstd, multi, foreign\)"):
        pulling.pull_image(f"oci:{test_images.layout}", tmp_path)


def test_oci_layout_with_altered_blob(test_images: images_mod.TestImages, tmp_path: Path) -> None:
    layout = tmp_path / "altered"
    shutil.copytree(test_images.layout, layout)
    layer = test_images.simple.layer_digests[1]
    path = layout / "blobs" / "sha256" / layer.split(":")[1]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(errors.BlobDigestMismatch) as caught:
        pulling.pull_image(f"oci:{layout}:simple", tmp_path / "store")
    assert caught.value.digest == layer and str(layout) in str(caught.value)
    assert images.ImageStore(tmp_path / "store").list() == []
    assert not blobs.BlobStore(tmp_path / "store").has(layer)


def test_oci_archive(test_images: images_mod.TestImages, tmp_path: Path) -> None:
    archive = tmp_path / "simple.tar"
    _skopeo(f"oci:{test_images.layout}:simple", f"oci-archive:{archive}:team/app:1.0")
    with tarfile.open(archive) as tar:
        member = tar.extractfile("index.json")
        assert member is not None
        entry = json.load(member)["manifests"][0]
    record = pulling.pull_image(f"oci-archive:{archive}", tmp_path / "store")
    assert (record.registry, record.repository, record.tag) == ("localhost", "team/app", "1.0")
    assert record.digest == entry["digest"]
    assert [layer.digest for layer in record.layers] == list(test_images.simple.layer_digests)


def _diff_ids(test_images: images_mod.TestImages) -> list[str]:
    """sha256 of each uncompressed layer of ``simple``, from the builder's own blobs."""
    digests = []
    for layer in test_images.simple.layer_digests:
        blob = (test_images.layout / "blobs" / "sha256" / layer.split(":")[1]).read_bytes()
        digests.append("sha256:" + hashlib.sha256(gzip.decompress(blob)).hexdigest())
    return digests


def test_docker_archive(test_images: images_mod.TestImages, tmp_path: Path) -> None:
    archive = tmp_path / "saved.tar"
    _skopeo(f"oci:{test_images.layout}:simple", f"docker-archive:{archive}:example.com/tools/busybox:v1")
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        saved = json.load(member)[0]
        config_file = tar.extractfile(saved["Config"])
        assert config_file is not None
        config_digest = "sha256:" + hashlib.sha256(config_file.read()).hexdigest()
    record = pulling.pull_image(f"docker-archive:{archive}", tmp_path / "store")
    assert (record.registry, record.repository, record.tag) == ("localhost", "tools/busybox", "v1")
    assert record.config_digest == config_digest
    assert [layer.digest for layer in record.layers] == _diff_ids(test_images)
    assert {layer.media_type for layer in record.layers} == {"application/vnd.oci.image.layer.v1.tar"}
    manifest = json.loads((record.path / "manifest.json").read_bytes())
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    # pulling again by the name inside the archive finds the same image
    again = pulling.pull_image(f"docker-archive:{archive}:example.com/tools/busybox:v1", tmp_path / "store")
    assert again.digest == record.digest


@pytest.mark.parametrize(
    ("ref_name", "fallback", "expected"),
    [
        (None, "My Layout", "localhost/my-layout:latest"),
        ("v1", "layout", "localhost/layout:v1"),
        ("app:1.0", "layout", "localhost/app:1.0"),
        ("team/app", "layout", "localhost/team/app:latest"),
        ("quay.io/team/app:2", "layout", "localhost/team/app:2"),
        ("localhost/app:3", "layout", "localhost/app:3"),
    ],
    ids=["no-ref", "bare-tag", "name-tag", "path-no-tag", "foreign-host-dropped", "localhost-kept"],
)
def test_local_naming(ref_name: str | None, fallback: str, expected: str) -> None:
    assert str(references.local_name(ref_name, fallback)) == expected
