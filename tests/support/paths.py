"""Where the project, its shared read-only test data and tools sit.

The test data that is not in the repository has one setting per data set, read here and nowhere
else: ``BERTH_CORPUS`` (default ``<project root>/../shared/corpus``) for the corpus of compose files
and Kubernetes manifests. Tests that need it carry the ``corpus`` mark: when the corpus is absent they
are skipped with one reason naming the setting, and under ``CI=true`` they fail instead (a CI run
must not pass by skipping). ``corpus_cases`` keeps a parametrized test from collecting an empty
parameter set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
WORK = ROOT / ".work"

ENV_CORPUS = "BERTH_CORPUS"
CORPUS = Path(os.environ.get(ENV_CORPUS) or SHARED / "corpus")
MISSING_CORPUS = (
    f"no test corpus at {CORPUS}: set {ENV_CORPUS} to the corpus directory "
    "(default <repository>/../shared/corpus)"
)


def corpus_present() -> bool:
    return (CORPUS / "compose").is_dir() and (CORPUS / "k8s").is_dir()


def need_corpus() -> None:
    """Skip the running test when the corpus is absent; under ``CI=true``, fail it."""
    if corpus_present():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{MISSING_CORPUS} (CI=true: the corpus tests must run)", pytrace=False)
    pytest.skip(MISSING_CORPUS)


def corpus_cases(cases: Sequence[Any], argnames: int) -> list[Any]:
    """``cases`` for ``parametrize``, or one placeholder when the corpus is absent, so the test is
    collected and skipped (or failed under CI) for the named reason, never for an empty set."""
    if corpus_present():
        return list(cases)
    return [pytest.param(*([None] * argnames), id="corpus-missing")]
