"""Image reference parsing, Docker Hub naming, platforms, manifest kinds and retry timing.

We test these aspects:
- Docker Hub rules (``nginx`` -> ``docker.io/library/nginx:latest``, ``user/app``,
  ``index.docker.io`` alias, API host ``registry-1.docker.io``), registry hosts with ports,
  ``localhost``, IPv6, tags, digests, and tag+digest (digest wins), as distribution/reference
  normalises them (table taken from its documented behaviour);
- invalid references are InvalidReference with the reason;
- ``--platform`` parsing and matching (aliases, arm64 v8);
- schema1 and unknown manifests are refused with a clear message, and so are non-canonical
  digests (they become file names and URL paths); OCI without mediaType is
  told apart by shape;
- ``Retry-After`` as seconds (ASCII digits only) and as an HTTP date (GMT even without a zone,
  whatever the local time zone); anything else is None and never raises; the backoff is bounded;
- which hosts may use plain HTTP (loopback names and addresses, the insecure list).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import hypothesis
import pytest

from agent.oci import references
from agent.registry import client, errors, manifests, platforms, retrying

DIGEST = "sha256:" + "ab" * 32

NAMING = [
    ("nginx", "docker.io", "library/nginx", "latest", None, "registry-1.docker.io"),
    ("nginx:1.25", "docker.io", "library/nginx", "1.25", None, "registry-1.docker.io"),
    ("user/app", "docker.io", "user/app", "latest", None, "registry-1.docker.io"),
    ("docker.io/nginx", "docker.io", "library/nginx", "latest", None, "registry-1.docker.io"),
    ("index.docker.io/user/app:v2", "docker.io", "user/app", "v2", None, "registry-1.docker.io"),
    ("quay.io/org/app:v1", "quay.io", "org/app", "v1", None, "quay.io"),
    ("localhost/app", "localhost", "app", "latest", None, "localhost"),
    ("localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t", None, "localhost:5000"),
    ("127.0.0.1:5000/app", "127.0.0.1:5000", "app", "latest", None, "127.0.0.1:5000"),
    ("[::1]:5000/app:x", "[::1]:5000", "app", "x", None, "[::1]:5000"),
    (f"nginx@{DIGEST}", "docker.io", "library/nginx", None, DIGEST, "registry-1.docker.io"),
    (f"nginx:1.25@{DIGEST}", "docker.io", "library/nginx", "1.25", DIGEST, "registry-1.docker.io"),
    ("reg.example:443/team/app.name_x:1.0-rc", "reg.example:443", "team/app.name_x", "1.0-rc", None,
     "reg.example:443"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest", "api_host"), NAMING, ids=[row[0] for row in NAMING]
)
def test_naming(
    *, text: str, registry: str, repository: str, tag: str | None, digest: str | None, api_host: str
) -> None:
    ref = references.parse(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest, ref.api_host) == (
        registry,
        repository,
        tag,
        digest,
        api_host,
    )
    assert ref.manifest_ref == (digest or tag)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Nginx", "invalid repository"),
        ("nginx:", "invalid tag"),
        ("nginx@sha256:abc", "unsupported digest"),
        ("nginx@md5:" + "a" * 32, "unsupported digest"),
        ("quay.io/", "invalid repository"),
        ("a/b//c", "invalid repository"),
    ],
    ids=["uppercase", "empty-tag", "short-digest", "md5", "no-path", "empty-component"],
)
def test_invalid_references(text: str, reason: str) -> None:
    with pytest.raises(errors.InvalidReference, match=reason):
        references.parse(text)


@pytest.mark.parametrize(
    ("wanted", "candidate", "matches"),
    [
        ("linux/amd64", ("linux", "amd64", ""), True),
        ("linux/amd64", ("linux", "x86_64", ""), True),
        ("linux/arm64", ("linux", "arm64", "v8"), True),
        ("linux/arm64/v8", ("linux", "arm64", ""), True),
        ("linux/arm/v7", ("linux", "arm", "v6"), False),
        ("linux/arm", ("linux", "arm", "v7"), True),
        ("linux/amd64", ("windows", "amd64", ""), False),
    ],
    ids=[
        "same",
        "alias",
        "arm64-any",
        "arm64-v8-implicit",
        "variant-differs",
        "no-variant-wanted",
        "os-differs",
    ],
)
def test_platform_matching(wanted: str, candidate: tuple[str, str, str], matches: bool) -> None:
    assert platforms.parse(wanted).matches(platforms.Platform(*candidate)) is matches


@pytest.mark.parametrize("text", ["linux", "linux/", "a/b/c/d"], ids=["os-only", "empty-arch", "too-many"])
def test_bad_platform(text: str) -> None:
    with pytest.raises(errors.InvalidReference, match="OS/ARCH"):
        platforms.parse(text)


@pytest.mark.parametrize(
    ("doc", "content_type"),
    [
        ({"schemaVersion": 1, "name": "x", "fsLayers": []}, None),
        ({"schemaVersion": 2}, "application/vnd.docker.distribution.manifest.v1+prettyjws"),
    ],
    ids=["schema1-body", "schema1-content-type"],
)
def test_schema1_refused(doc: dict[str, object], content_type: str | None) -> None:
    with pytest.raises(errors.ManifestError, match="schema1 manifests are not supported"):
        manifests.parse(json.dumps(doc).encode(), content_type, "reg")


def test_oci_shapes_without_media_type() -> None:
    layer = {"digest": DIGEST, "size": 3}
    image = manifests.parse(
        json.dumps({"schemaVersion": 2, "config": layer, "layers": [layer]}).encode(), None, "r"
    )
    index = manifests.parse(json.dumps({"schemaVersion": 2, "manifests": [layer]}).encode(), None, "r")
    assert (image.media_type, index.media_type) == (manifests.OCI_MANIFEST, manifests.OCI_INDEX)


@pytest.mark.parametrize(
    "digest",
    ["sha256:" + "../" * 21 + "x", "sha256:" + "AB" * 32, "sha512:" + "ab" * 64],
    ids=["path-traversal", "uppercase-hex", "sha512"],
)
def test_non_canonical_digests_refused(digest: str) -> None:
    doc = {
        "schemaVersion": 2,
        "config": {"digest": DIGEST, "size": 1},
        "layers": [{"digest": digest, "size": 1}],
    }
    with pytest.raises(errors.ManifestError, match=r"layers\[0\]: unsupported or missing digest"):
        manifests.parse(json.dumps(doc).encode(), None, "reg")


def test_unknown_media_type_refused() -> None:
    doc = {"schemaVersion": 2, "mediaType": "application/vnd.example+json", "layers": []}
    with pytest.raises(errors.ManifestError, match="unsupported manifest media type"):
        manifests.parse(json.dumps(doc).encode(), None, "reg")


@pytest.fixture
def local_time_not_utc() -> Iterator[None]:
    """Local time 5:30 east of UTC (a POSIX TZ rule: no zone files needed), so that a date read
    as local time instead of GMT is off by hours."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "XYZ-5:30"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.mark.usefixtures("local_time_not_utc")
@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        (" 3 ", 3.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:28:10", 10.0),
        ("Wed, 21 Oct 2015 07:28:10 -0000", 10.0),
        ("Wed, 21 Oct 2015 09:28:10 +0200", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("\u00b2", None),
        ("\u0663", None),
        ("-3", None),
        ("1.5", None),
        ("Wed, 21 Oct 99999 07:28:10 GMT", None),
        (None, None),
    ],
    ids=[
        "delta",
        "delta-spaced",
        "http-date",
        "date-without-zone-is-gmt",
        "date-minus-0000-is-gmt",
        "date-with-offset",
        "date-in-the-past",
        "garbage",
        "superscript-two",
        "arabic-indic-digit",
        "negative",
        "fraction",
        "year-out-of-range",
        "absent",
    ],
)
def test_retry_after(value: str | None, seconds: float | None) -> None:
    """Expected values from RFC 9110 section 10.2.3 (delta-seconds is 1*DIGIT, ASCII) and the
    GMT rule of its HTTP-date; the dates are 10 s after ``now`` when read as GMT."""
    now = 1445412480.0  # 2015-10-21 07:28:00 UTC
    assert retrying.parse_retry_after(value, now=now) == seconds


_DATE_LIKE = r"([A-Za-z]{3}, )?[0-9]{1,6} [A-Za-z]{3} [0-9]{1,6} [0-9]{1,3}:[0-9]{1,3}(:[0-9]{1,3})?( [A-Za-z+-][A-Za-z0-9]{0,5})?"


# generating from the regex is slow on a loaded machine (CI runs the suite beside runc and an
# apiserver): the property is what is tested, not how fast examples come, as in the other property tests
@hypothesis.settings(deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow])
@hypothesis.given(
    hypothesis.strategies.one_of(
        hypothesis.strategies.text(), hypothesis.strategies.from_regex(_DATE_LIKE, fullmatch=True)
    )
)
def test_retry_after_never_raises(value: str) -> None:
    """Whatever a server sends, the answer is seconds to wait or None (then: normal backoff)."""
    seconds = retrying.parse_retry_after(value, now=1445412480.0)
    assert seconds is None or seconds >= 0.0


def test_backoff_is_bounded() -> None:
    policy = retrying.RetryPolicy(attempts=5, base_delay=0.5, max_delay=3.0, max_retry_after=20.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(0, retry_after=100.0) == 20.0


@pytest.mark.parametrize(
    ("host", "insecure", "plain"),
    [
        ("localhost:5000", (), True),
        ("127.0.0.1:5000", (), True),
        ("127.3.4.5", (), True),
        ("[::1]:5000", (), True),
        ("0.0.0.0:5000", (), False),
        ("registry.lan:5000", (), False),
        ("registry.lan:5000", ("registry.lan:5000",), True),
        ("registry.lan:5000", ("registry.lan",), True),
        ("registry.lan:5000", ("other.lan",), False),
    ],
    ids=[
        "localhost",
        "127.0.0.1",
        "127/8",
        "ipv6-loopback",
        "any-address",
        "lan",
        "listed",
        "listed-by-name",
        "other-listed",
    ],
)
def test_plain_http_policy(host: str, insecure: tuple[str, ...], plain: bool) -> None:
    assert client.allows_plain_http(host, insecure) is plain
