"""The fuzzing strategies at a small budget: every generated input is translated or refused, never a crash.

We test these aspects:
- compose files, Kubernetes objects and native specs with wrong types, huge and non-finite
  numbers, durations out of range, deep nesting, nested interpolation and alias bombs: each is
  translated or refused with Berth's own error (``BerthError``), never another exception;
- generated tar archives (lying sizes, base-256 numbers, malformed PAX records, long names and
  link targets, bad checksums) are unpacked or refused with a ``LayerError``, and nothing is
  written outside the target directory;
- the mutation stage of ``benchmarks/fuzz.py`` (from these seeds) holds the same promise.

``benchmarks/fuzz.py`` runs the same strategies at 100,000 inputs.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from tests.support import fuzzing

BUDGET = settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("fuzz")
    yield path
    assert sorted(path.iterdir()) == [], "an unpack left something behind"


@pytest.mark.parametrize("component", ["compose", "kubernetes", "native"])
def test_translators_never_crash(component: str) -> None:
    @BUDGET
    @given(fuzzing.COMPONENTS[component])
    def one(text: str) -> None:
        outcome = fuzzing.translate_text(text)
        assert outcome.kind != "crash", outcome.detail

    one()


def test_tar_reader_never_crashes(scratch: Path) -> None:
    @BUDGET
    @given(fuzzing.tar_archives())
    def one(data: bytes) -> None:
        outcome = fuzzing.unpack_bytes(data, scratch)
        assert outcome.kind != "crash", outcome.detail

    one()


def test_mutations_never_crash(scratch: Path) -> None:
    rng = random.Random(11)  # noqa: S311  # repeatable, not cryptography
    seeds: dict[str, list[Any]] = {"compose": [], "tar": []}

    @settings(BUDGET, max_examples=10)
    @given(fuzzing.DOCUMENTS["compose"], fuzzing.tar_archives())
    def collect(doc: Any, archive: bytes) -> None:
        seeds["compose"].append(doc)
        seeds["tar"].append(archive)

    collect()
    for _ in range(100):
        outcome = fuzzing.translate_text(fuzzing.mutate_text(rng.choice(seeds["compose"]), rng))
        assert outcome.kind != "crash", outcome.detail
        outcome = fuzzing.unpack_bytes(fuzzing.mutate_tar(rng.choice(seeds["tar"]), rng), scratch)
        assert outcome.kind != "crash", outcome.detail
