"""A hostile or broken registry and token server, through the fault-injecting proxy.

We test these aspects:
- bodies Berth reads whole are bounded: a huge answer to the ``/v2/`` probe (the pull still
  succeeds), a huge error body (404 -> NotFound; 503 -> retried, then success), a huge manifest
  (ManifestError) and a huge token server answer (AuthError saying it is too large); in each case
  the proxy counts the bytes the client accepted before hanging up, which must stay far below
  the body's size;
- a manifest body cut short is a TransportError naming the registry, not urllib3's exception;
- ``Retry-After`` values that are not delta-seconds nor HTTP dates ("²", which ``str.isdigit``
  accepts) fall back to the normal backoff instead of aborting the pull;
- a ``Retry-After`` beyond the policy's limit fails at once with a message that says what the
  server asked for and what the limit is (not "giving up after 0 attempts").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.registry import errors, pulling, retrying
from agent.store import images
from tests.support import faults
from tests.support import images as images_mod
from tests.support import registry as registry_mod

FAST = retrying.RetryPolicy(attempts=4, base_delay=0.01)
HUGE = 64 << 20
"""Body size of the hostile answers: read whole, it would show in the client's memory."""
ACCEPTED_AT_MOST = 16 << 20
"""What may get out before the client hangs up: its bounded read plus the kernel's socket buffers
(loopback autotuning stays at a few MiB while the client does not read)."""


@pytest.fixture
def proxy(plain_registry: registry_mod.Registry) -> Iterator[faults.FaultProxy]:
    running = faults.FaultProxy(plain_registry.host)
    yield running
    running.close()


@pytest.fixture
def token_proxy(plain_registry: registry_mod.Registry) -> Iterator[faults.FaultProxy]:
    """A second proxy, standing in for a token server (its faults answer; nothing is forwarded)."""
    running = faults.FaultProxy(plain_registry.host)
    yield running
    running.close()


def _accepted(proxy: faults.FaultProxy, count: int = 1) -> list[int]:
    """The byte counts of the huge bodies, once the proxy's handlers have finished them."""
    deadline = time.monotonic() + 20
    while len(proxy.huge_sent) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    return list(proxy.huge_sent)


@pytest.mark.parametrize(
    "fault",
    [
        faults.Fault("/v2/", "huge", status=200, after=HUGE),
        faults.Fault("/blobs/", "huge", status=503, after=HUGE),
    ],
    ids=["probe-200", "blob-503-retried"],
)
def test_huge_bodies_are_not_read_whole(
    proxy: faults.FaultProxy,
    test_images: images_mod.TestImages,
    tmp_path: Path,
    fault: faults.Fault,
) -> None:
    proxy.faults.append(fault)  # the probe is the first request, so "/v2/" hits only it
    record = pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert record.digest == test_images.simple.digest
    [accepted] = _accepted(proxy)
    assert accepted < ACCEPTED_AT_MOST


def test_huge_error_body_is_not_read_whole(proxy: faults.FaultProxy, tmp_path: Path) -> None:
    proxy.faults.append(
        faults.Fault(
            "/manifests/", "huge", status=404, headers={"Content-Type": "application/json"}, after=HUGE
        )
    )
    with pytest.raises(errors.NotFound, match=r"not found \(HTTP 404\)") as caught:
        pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert proxy.host in str(caught.value)
    [accepted] = _accepted(proxy)
    assert accepted < ACCEPTED_AT_MOST
    assert images.ImageStore(tmp_path).list() == []


def test_huge_manifest_is_refused(proxy: faults.FaultProxy, tmp_path: Path) -> None:
    proxy.faults.append(faults.Fault("/manifests/", "huge", status=200, after=HUGE))
    with pytest.raises(errors.ManifestError, match=f"larger than {pulling.MAX_MANIFEST} bytes"):
        pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    [accepted] = _accepted(proxy)
    assert accepted < ACCEPTED_AT_MOST


def test_manifest_cut_short_is_a_transport_error(proxy: faults.FaultProxy, tmp_path: Path) -> None:
    proxy.faults.append(faults.Fault("/manifests/", "truncate", after=10))
    with pytest.raises(errors.TransportError, match="connection failed mid-body") as caught:
        pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert proxy.host in str(caught.value)
    assert images.ImageStore(tmp_path).list() == []


def test_huge_token_response_is_refused(
    proxy: faults.FaultProxy, token_proxy: faults.FaultProxy, tmp_path: Path
) -> None:
    realm = f"http://{token_proxy.host}/token"
    challenge = f'Bearer realm="{realm}",service="hostile"'
    proxy.faults.append(
        faults.Fault("/manifests/", "status", status=401, headers={"WWW-Authenticate": challenge})
    )
    token_proxy.faults.append(
        faults.Fault("/token", "huge", status=200, headers={"Content-Type": "application/json"}, after=HUGE)
    )
    with pytest.raises(errors.AuthError, match="larger than 1048576 bytes") as caught:
        pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert realm in str(caught.value)
    [accepted] = _accepted(token_proxy)
    assert accepted < ACCEPTED_AT_MOST
    assert images.ImageStore(tmp_path).list() == []


@pytest.mark.parametrize(
    "value",
    ["\u00b2", "\u0663", "later", "Wed, 21 Oct 99999 07:28:10 GMT"],
    ids=["superscript-two", "arabic-indic-three", "word", "year-out-of-range"],
)
def test_unparsable_retry_after_falls_back_to_backoff(
    proxy: faults.FaultProxy, test_images: images_mod.TestImages, tmp_path: Path, value: str
) -> None:
    layer = test_images.simple.layer_digests[0]
    proxy.faults.append(faults.Fault(layer, "status", status=503, headers={"Retry-After": value}))
    started = time.monotonic()
    record = pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    assert record.digest == test_images.simple.digest
    assert [entry.status for entry in proxy.requests_for(layer)] == [503, 200]
    assert time.monotonic() - started < 5  # the backoff of FAST, not a misread wait


def test_retry_after_beyond_the_limit(
    proxy: faults.FaultProxy, test_images: images_mod.TestImages, tmp_path: Path
) -> None:
    layer = test_images.simple.layer_digests[0]
    proxy.faults.append(faults.Fault(layer, "status", times=99, status=429, headers={"Retry-After": "120"}))
    with pytest.raises(errors.TooManyRequests) as caught:
        pulling.pull_image(f"{proxy.host}/test/simple", tmp_path, retry=FAST)
    message = str(caught.value)
    assert "asked to wait 120 s, more than the limit of 60 s" in message
    assert "0 attempts" not in message
    assert proxy.host in message and layer in message
    assert len(proxy.requests_for(layer)) == 1
    assert images.ImageStore(tmp_path).list() == []
