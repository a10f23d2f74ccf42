"""Units as users write them.

We test these aspects:
- memory sizes in docker's binary letters, Kubernetes' binary suffixes and plain bytes;
- CPU as cores and millicores;
- Go durations and plain seconds, and their printed form;
- signals by name, short name and number;
- Kubernetes quantities, decimal and binary;
- every malformed value is a ValueError naming the value.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from translators.spec import units


@pytest.mark.parametrize(
    ("given", "want"),
    [
        (0, 0),
        (1024, 1024),
        ("512M", 512 * 2**20),
        ("512m", 512 * 2**20),
        ("512MB", 512 * 2**20),
        ("512Mi", 512 * 2**20),
        ("1G", 2**30),
        ("1.5g", 3 * 2**29),
        ("64k", 65536),
        ("100b", 100),
        ("2Gi", 2 * 2**30),
        (" 10 ", 10),
    ],
    ids=lambda v: repr(v),
)
def test_memory(given: object, want: int) -> None:
    assert units.parse_memory(given) == want


@pytest.mark.parametrize("given", ["", "12q", "M", "-1", True, None, [1], "1.2.3G"], ids=repr)
def test_memory_rejects(given: object) -> None:
    with pytest.raises(ValueError, match=r"size|unit|boolean|negative|expected"):
        units.parse_memory(given)


@pytest.mark.parametrize(
    ("given", "want"),
    [(0.5, 0.5), ("0.5", 0.5), ("500m", 0.5), (2, 2.0), ("2", 2.0), ("1500m", 1.5), ("250m", 0.25)],
    ids=repr,
)
def test_cpu(given: object, want: float) -> None:
    assert units.parse_cpu(given) == want


@pytest.mark.parametrize("given", [0, "0", "-1", "abc", "m", True, None], ids=repr)
def test_cpu_rejects(given: object) -> None:
    with pytest.raises(ValueError, match=r"CPU|cores|positive"):
        units.parse_cpu(given)


@pytest.mark.parametrize(
    ("given", "want", "printed"),
    [
        ("30s", 30.0, "30s"),
        ("1m30s", 90.0, "1m30s"),
        ("500ms", 0.5, "500ms"),
        ("1h", 3600.0, "1h"),
        ("1h2m3.5s", 3723.5, "1h2m3.5s"),
        (10, 10.0, "10s"),
        ("10", 10.0, "10s"),
        ("0s", 0.0, "0s"),
    ],
    ids=repr,
)
def test_duration(given: object, want: float, printed: str) -> None:
    assert units.parse_duration(given) == want
    assert units.format_duration(want) == printed


@pytest.mark.parametrize("given", ["", "3x", "s", "1m30", "-5s", "abc", True, -1], ids=repr)
def test_duration_rejects(given: object) -> None:
    with pytest.raises(ValueError, match=r"duration|negative"):
        units.parse_duration(given)


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ("SIGTERM", "SIGTERM"),
        ("term", "SIGTERM"),
        (9, "SIGKILL"),
        ("15", "SIGTERM"),
        ("SIGRTMIN+3", "SIGRTMIN+3"),
    ],
    ids=repr,
)
def test_signal(given: object, want: str) -> None:
    assert units.parse_signal(given) == want


@pytest.mark.parametrize("given", ["SIGNOPE", 0, 99, "", True], ids=repr)
def test_signal_rejects(given: object) -> None:
    with pytest.raises(ValueError, match="signal"):
        units.parse_signal(given)


@pytest.mark.parametrize(
    ("given", "want"),
    [
        ("512Mi", Decimal(512 * 2**20)),
        ("512M", Decimal(512 * 10**6)),
        ("500m", Decimal("0.5")),
        ("1e3", Decimal(1000)),
        ("1.5", Decimal("1.5")),
        (2, Decimal(2)),
        ("100k", Decimal(100000)),
    ],
    ids=repr,
)
def test_quantity(given: object, want: Decimal) -> None:
    assert units.parse_quantity(given) == want


@pytest.mark.parametrize("given", ["1Qi", "abc", "1e3k", True, None], ids=repr)
def test_quantity_rejects(given: object) -> None:
    with pytest.raises(ValueError, match="quantity"):
        units.parse_quantity(given)
