"""Where the project, its shared read-only test data and tools sit.

The test data that is not in the repository has one setting per data set, read here and nowhere
else: ``BERTH_CORPUS`` (default ``<project root>/../shared/corpus``) for the corpus of compose files
and Kubernetes manifests, ``BERTH_SEED`` (default ``<project root>/../shared/seed``) for the product
document and the examples taken from it. Tests that need one carry its mark (``corpus``, ``seed``):
when the data set is absent they are skipped with one reason naming the setting, and under
``CI=true`` they fail instead (a CI run must not pass by skipping). ``DataSet.cases`` keeps a
parametrized test from collecting an empty parameter set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
WORK = ROOT / ".work"


@dataclass(frozen=True)
class DataSet:
    """Shared test data outside the repository, found through one environment setting."""

    setting: str
    name: str
    must_hold: tuple[str, ...] = ()
    """Entries the directory must have to count as present."""

    @property
    def path(self) -> Path:
        return Path(os.environ.get(self.setting) or SHARED / self.name)

    @property
    def missing(self) -> str:
        return (
            f"no test {self.name} at {self.path}: set {self.setting} to the {self.name} directory "
            f"(default <repository>/../shared/{self.name})"
        )

    def present(self) -> bool:
        return self.path.is_dir() and all((self.path / entry).exists() for entry in self.must_hold)

    def need(self) -> None:
        """Skip the running test when the data set is absent; under ``CI=true``, fail it."""
        if self.present():
            return
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{self.missing} (CI=true: the {self.name} tests must run)", pytrace=False)
        pytest.skip(self.missing)

    def cases(self, cases: Sequence[Any], argnames: int) -> list[Any]:
        """``cases`` for ``parametrize``, or one placeholder when the data set is absent, so the
        test is collected and skipped (or failed under CI) for the named reason, never for an
        empty parameter set."""
        if self.present():
            return list(cases)
        return [pytest.param(*([None] * argnames), id=f"{self.name}-missing")]


CORPUS_DATA = DataSet("BERTH_CORPUS", "corpus", ("compose", "k8s"))
SEED_DATA = DataSet("BERTH_SEED", "seed")
DATA_SETS = {"corpus": CORPUS_DATA, "seed": SEED_DATA}  # mark name -> data set (tests/conftest.py)

CORPUS = CORPUS_DATA.path
SEED = SEED_DATA.path
MISSING_CORPUS = CORPUS_DATA.missing


def need_corpus() -> None:
    CORPUS_DATA.need()


def corpus_cases(cases: Sequence[Any], argnames: int) -> list[Any]:
    return CORPUS_DATA.cases(cases, argnames)
