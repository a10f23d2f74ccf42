"""Pulls through a fault-injecting proxy in front of a real registry.

We test these aspects:
- 500s then success, and a dropped connection then success: retried, the image is recorded;
- 429 with ``Retry-After`` is honoured (the wait is measured), and endless 429 ends in
  TooManyRequests after the bounded attempts;
- a connection closed mid-body resumes with ``Range: bytes=N-`` from the partial file, and a
  server that ignores Range restarts the blob cleanly;
- a body that is always cut short ends in BlobTruncated, keeps the partial data, and the next
  pull resumes it;
- wrong content (one flipped byte) ends in BlobDigestMismatch, a body longer than the descriptor
  in BlobSizeMismatch; a manifest that does not hash to the pinned digest in ManifestError;
- in every failure: no image record, no final blob with wrong content, and the message names the
  registry and the blob.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.registry import errors, pulling, retrying
from agent.store import blobs, images
from tests.support import faults
from tests.support import images as images_mod
from tests.support import registry as registry_mod

FAST = retrying.RetryPolicy(attempts=4, base_delay=0.01)


@pytest.fixture
def proxy(plain_registry: registry_mod.Registry) -> Iterator[faults.FaultProxy]:
    running = faults.FaultProxy(plain_registry.host)
    yield running
    running.close()


def _layer(test_images: images_mod.TestImages) -> str:
    """The busybox layer of ``test/simple`` (about 1 MB gzip): big enough to cut in the middle."""
    return test_images.simple.layer_digests[0]


def _range_start(entry: faults.Logged) -> int:
    if entry.range is None:
        return 0
    match = re.fullmatch(r"bytes=(\d+)-", entry.range)
    assert match is not None, entry.range
    return int(match.group(1))


def _assert_nothing_recorded(root: Path, digest: str) -> None:
    assert images.ImageStore(root).list() == []
    assert not blobs.BlobStore(root).has(digest)


@pytest.mark.parametrize(
    "fault",
    [
        faults.Fault("/blobs/", "status", times=2, status=500),
        faults.Fault("/blobs/", "status", times=1, status=503),
        faults.Fault("/manifests/", "status", times=2, status=502),
        faults.Fault("/blobs/", "drop", times=2),
    ],
    ids=["blob-500-twice", "blob-503", "manifest-502-twice", "dropped-connection"],
)
def test_transient_failures_are_retried(
    proxy: faults.FaultProxy, test_images: images_mod.TestImages, tmp_path: Path, fault: faults.Fault
) -> None:
    injected = fault.times
    proxy.faults.append(fault)
    record = pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert record.digest == test_images.simple.digest
    assert sum(1 for entry in proxy.log if entry.fault == fault.kind) == injected


def test_retry_after_is_honoured(
    proxy: faults.FaultProxy, test_images: images_mod.TestImages, tmp_path: Path
) -> None:
    layer = _layer(test_images)
    proxy.faults.append(faults.Fault(layer, "status", status=429, headers={"Retry-After": "1"}))
    started = time.monotonic()
    record = pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert time.monotonic() - started >= 1.0
    assert record.digest == test_images.simple.digest
    assert [entry.status for entry in proxy.requests_for(layer)] == [429, 200]


def test_endless_429_gives_up(
    proxy: faults.FaultProxy, test_images: images_mod.TestImages, tmp_path: Path
) -> None:
    layer = _layer(test_images)
    proxy.faults.append(faults.Fault(layer, "status", times=99, status=429, headers={"Retry-After": "0"}))
    with pytest.raises(errors.TooManyRequests) as caught:
        pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert proxy.host in str(caught.value) and layer in str(caught.value)
    assert len(proxy.requests_for(layer)) == FAST.attempts
    _assert_nothing_recorded(tmp_path, layer)


def test_cut_body_resumes_with_range(
    proxy: faults.FaultProxy, test_images: images_mod.TestImages, tmp_path: Path
) -> None:
    layer = _layer(test_images)
    proxy.faults.append(faults.Fault(layer, "truncate", after=300_000))
    record = pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert record.digest == test_images.simple.digest
    first, second = proxy.requests_for(layer)
    assert (first.range, first.status) == (None, 200)
    assert second.status == 206
    assert 0 < _range_start(second) <= 300_000  # what arrived before the cut, minus at most one read


def test_server_ignoring_range_restarts_cleanly(
    proxy: faults.FaultProxy, test_images: images_mod.TestImages, tmp_path: Path
) -> None:
    layer = _layer(test_images)
    proxy.faults += [faults.Fault(layer, "truncate", after=300_000), faults.Fault(layer, "ignore_range")]
    record = pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert record.digest == test_images.simple.digest
    first, second = proxy.requests_for(layer)
    assert (first.range, first.status) == (None, 200)
    assert second.status == 200 and _range_start(second) > 0


def test_always_cut_keeps_partial_and_next_pull_resumes(
    proxy: faults.FaultProxy, test_images: images_mod.TestImages, tmp_path: Path
) -> None:
    layer = _layer(test_images)
    proxy.faults.append(faults.Fault(layer, "truncate", times=FAST.attempts, after=100_000))
    with pytest.raises(errors.BlobTruncated) as caught:
        pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert proxy.host in str(caught.value) and layer in str(caught.value)
    _assert_nothing_recorded(tmp_path, layer)
    partial = blobs.BlobStore(tmp_path).partial_path(layer)
    kept = partial.stat().st_size
    starts = [_range_start(entry) for entry in proxy.requests_for(layer)]
    assert starts[0] == 0 and starts == sorted(set(starts))  # every attempt resumed further on
    assert starts[-1] < kept < json.loads(test_images.simple.manifest)["layers"][0]["size"]
    record = pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert record.digest == test_images.simple.digest
    assert proxy.requests_for(layer)[-1].range == f"bytes={kept}-"
    assert not partial.exists()


@pytest.mark.parametrize(
    ("kind", "error"),
    [("corrupt", errors.BlobDigestMismatch), ("extend", errors.BlobSizeMismatch)],
    ids=["flipped-byte", "too-long"],
)
def test_wrong_blob_content(
    proxy: faults.FaultProxy,
    test_images: images_mod.TestImages,
    tmp_path: Path,
    kind: str,
    error: type[errors.BlobError],
) -> None:
    layer = _layer(test_images)
    proxy.faults.append(faults.Fault(layer, kind, times=99))
    with pytest.raises(error) as caught:
        pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert caught.value.digest == layer
    assert proxy.host in str(caught.value)
    _assert_nothing_recorded(tmp_path, layer)
    assert not blobs.BlobStore(tmp_path).partial_path(layer).exists()


def test_manifest_not_matching_pinned_digest(
    proxy: faults.FaultProxy, test_images: images_mod.TestImages, tmp_path: Path
) -> None:
    digest = test_images.simple.digest
    proxy.faults.append(faults.Fault(f"/manifests/{digest}", "corrupt", times=99))
    with pytest.raises(errors.ManifestError):
        pulling.pull_image(f"{proxy.host}/test/simple@{digest}", tmp_path, retry=FAST)
    assert images.ImageStore(tmp_path).list() == []
