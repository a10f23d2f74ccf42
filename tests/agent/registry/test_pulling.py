"""Pulls from a real docker-registry (Debian's distribution 2.8), cross-checked against skopeo.

We test these aspects:
- an OCI image (gzip layers) and a zstd-layer image land in the store with the digests our own
  builder computed with hashlib (independent of the code under test);
- Berth and ``skopeo copy docker:// oci:`` agree on manifest digest, config digest and layer bytes;
- a Docker schema2 manifest (converted by skopeo ``--format v2s2``) pulls too;
- multi-platform indexes: default linux/amd64, ``--platform linux/arm64`` (and its v8 variant),
  and a list without the platform -> PlatformNotFound listing the available ones;
- pulling by digest verifies the manifest; a tag plus a digest resolves by the digest;
- the layers of an image are downloaded concurrently (two requests in flight at the proxy);
- blobs already present are skipped on a second pull (no blob GET reaches the registry);
- a missing repository or tag is a NotFound naming the registry.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from agent.registry import errors, pulling, retrying
from agent.store import blobs, images
from tests.support import faults
from tests.support import images as test_images_mod
from tests.support import registry as registry_mod

FAST = retrying.RetryPolicy(attempts=3, base_delay=0.01)


def test_pull_oci_image_records_builder_digests(
    plain_registry: registry_mod.Registry, test_images: test_images_mod.TestImages, tmp_path: Path
) -> None:
    record = pulling.pull_image(f"{plain_registry.host}/test/simple:latest", tmp_path)
    assert record.digest == test_images.simple.digest
    assert record.config_digest == test_images.simple.config_digest
    assert [layer.digest for layer in record.layers] == list(test_images.simple.layer_digests)
    assert (record.path / "manifest.json").read_bytes() == test_images.simple.manifest
    store = blobs.BlobStore(tmp_path)
    for digest in (*test_images.simple.layer_digests, test_images.simple.config_digest):
        assert "sha256:" + hashlib.sha256(store.path(digest).read_bytes()).hexdigest() == digest
    assert images.ImageStore(tmp_path).get(plain_registry.host, "test/simple", "latest") == record


def test_zstd_layers_pull(
    plain_registry: registry_mod.Registry, test_images: test_images_mod.TestImages, tmp_path: Path
) -> None:
    record = pulling.pull_image(f"{plain_registry.host}/test/zstd", tmp_path)
    assert record.digest == test_images.zstd.digest
    assert record.layers[0].media_type.endswith("tar+zstd")


def _skopeo_copy(source: str, layout: Path) -> dict[str, object]:
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{source}", f"oci:{layout}:pulled"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    manifest: dict[str, object] = json.loads(
        (layout / "blobs" / "sha256" / digest.split(":")[1]).read_bytes()
    )
    return {"digest": digest, "manifest": manifest}


@pytest.mark.parametrize("repo", ["simple", "zstd", "multi"], ids=["gzip", "zstd", "index-amd64"])
def test_berth_and_skopeo_agree(plain_registry: registry_mod.Registry, repo: str, tmp_path: Path) -> None:
    source = f"{plain_registry.host}/test/{repo}:latest"
    record = pulling.pull_image(source, tmp_path / "store")
    peer = _skopeo_copy(source, tmp_path / "skopeo")
    manifest = peer["manifest"]
    assert isinstance(manifest, dict)
    assert record.digest == peer["digest"]
    assert record.config_digest == manifest["config"]["digest"]
    assert [layer.digest for layer in record.layers] == [layer["digest"] for layer in manifest["layers"]]
    store = blobs.BlobStore(tmp_path / "store")
    for layer in record.layers:
        peer_blob = tmp_path / "skopeo" / "blobs" / "sha256" / layer.digest.split(":")[1]
        assert store.path(layer.digest).read_bytes() == peer_blob.read_bytes()


def test_docker_schema2_manifest(plain_registry: registry_mod.Registry, tmp_path: Path) -> None:
    destination = f"{plain_registry.host}/test/schema2:latest"
    subprocess.run(
        ["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false", "--format", "v2s2",
         f"docker://{plain_registry.host}/test/simple:latest", f"docker://{destination}"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    raw = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{destination}"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip
    assert json.loads(raw)["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    record = pulling.pull_image(destination, tmp_path)
    assert record.digest == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert record.layers[0].media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip"


@pytest.mark.parametrize(
    ("platform", "expected"),
    [(None, "amd64"), ("linux/amd64", "amd64"), ("linux/arm64", "arm64"), ("linux/arm64/v8", "arm64")],
    ids=["default", "amd64", "arm64", "arm64-v8"],
)
def test_platform_selection(
    plain_registry: registry_mod.Registry,
    test_images: test_images_mod.TestImages,
    tmp_path: Path,
    platform: str | None,
    expected: str,
) -> None:
    record = pulling.pull_image(f"{plain_registry.host}/test/multi", tmp_path, platform=platform)
    built = test_images.amd64 if expected == "amd64" else test_images.arm64
    assert record.digest == built.digest
    assert record.config["architecture"] == expected


def test_index_without_the_platform(plain_registry: registry_mod.Registry, tmp_path: Path) -> None:
    with pytest.raises(errors.PlatformNotFound) as caught:
        pulling.pull_image(f"{plain_registry.host}/test/foreign", tmp_path)
    assert caught.value.available == ["linux/arm64/v8", "linux/s390x"]
    assert plain_registry.host in str(caught.value)
    assert "linux/amd64" in str(caught.value)
    assert images.ImageStore(tmp_path).list() == []


def test_pull_by_digest_and_digest_wins_over_tag(
    plain_registry: registry_mod.Registry, test_images: test_images_mod.TestImages, tmp_path: Path
) -> None:
    digest = test_images.simple.digest
    record = pulling.pull_image(f"{plain_registry.host}/test/simple@{digest}", tmp_path)
    assert record.digest == digest
    assert record.reference == f"{plain_registry.host}/test/simple@{digest}"
    # The tag names another image (zstd's manifest is not in this repository): the digest decides.
    again = pulling.pull_image(f"{plain_registry.host}/test/simple:nonexistent@{digest}", tmp_path)
    assert again.digest == digest


def test_pull_by_digest_of_index_selects_platform(
    plain_registry: registry_mod.Registry, test_images: test_images_mod.TestImages, tmp_path: Path
) -> None:
    record = pulling.pull_image(
        f"{plain_registry.host}/test/multi@{test_images.multi_digest}", tmp_path, platform="linux/arm64"
    )
    assert record.digest == test_images.arm64.digest


def test_present_blobs_are_skipped(plain_registry: registry_mod.Registry, tmp_path: Path) -> None:
    pulling.pull_image(f"{plain_registry.host}/test/multi", tmp_path)
    proxy = faults.FaultProxy(plain_registry.host)
    try:
        pulling.pull_image(f"{proxy.host}/test/multi", tmp_path)
        assert proxy.requests_for("/blobs/") == []
        assert len(proxy.requests_for("/manifests/")) == 2  # the index, then the amd64 manifest
    finally:
        proxy.close()


@pytest.mark.parametrize("ref", ["test/absent:latest", "test/simple:no-such-tag"], ids=["repository", "tag"])
def test_not_found(plain_registry: registry_mod.Registry, tmp_path: Path, ref: str) -> None:
    with pytest.raises(errors.NotFound, match=plain_registry.host.replace(".", r"\.")):
        pulling.pull_image(f"{plain_registry.host}/{ref}", tmp_path, retry=FAST)


def test_layers_download_concurrently(
    plain_registry: registry_mod.Registry, test_images: test_images_mod.TestImages, tmp_path: Path
) -> None:
    proxy = faults.FaultProxy(plain_registry.host)
    for layer in test_images.simple.layer_digests:
        proxy.faults.append(faults.Fault(layer, "delay", delay=0.3))
    try:
        record = pulling.pull_image(f"{proxy.host}/test/simple", tmp_path)
    finally:
        proxy.close()
    assert record.digest == test_images.simple.digest
    assert proxy.max_in_flight == 2  # both layers were requested before either answered
