"""Golden cases: whole manifests and the specs, project and warnings they must give.

We test these aspects:
- each ``tests/golden/kubernetes/<case>/input.yaml`` translates to ``expected.json`` (specs and
  project dumped as JSON without defaults, warnings as printed); the expected files are written by
  hand from Kubernetes semantics, not generated;
- each ``tests/golden/kubernetes/bad/<case>/input.yaml`` fails with exactly the errors listed in
  ``expected-error.txt`` (one per line, in any order).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.paths import ROOT
from translators import kubernetes
from translators.errors import InvalidSpec

GOLDEN = ROOT / "tests" / "golden" / "kubernetes"
GOOD = sorted(p for p in GOLDEN.iterdir() if (p / "expected.json").exists())
BAD = sorted(p for p in (GOLDEN / "bad").iterdir() if (p / "expected-error.txt").exists())


def run(case: Path) -> dict[str, object]:
    text = (case / "input.yaml").read_text(encoding="utf-8")
    t = kubernetes.translate(kubernetes.load_text(text, "input.yaml"))
    return {
        "specs": [s.model_dump(mode="json", exclude_defaults=True) for s in t.specs],
        "project": t.project.model_dump(mode="json", exclude_defaults=True),
        "warnings": [str(w) for w in t.warnings],
    }


@pytest.mark.parametrize("case", GOOD, ids=[p.name for p in GOOD])
def test_golden(case: Path) -> None:
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert run(case) == expected


@pytest.mark.parametrize("case", BAD, ids=[p.name for p in BAD])
def test_golden_bad(case: Path) -> None:
    text = (case / "input.yaml").read_text(encoding="utf-8")
    with pytest.raises(InvalidSpec) as info:
        kubernetes.translate(kubernetes.load_text(text, "input.yaml"))
    expected = (case / "expected-error.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(str(d) for d in info.value.diagnostics) == sorted(expected)


def test_golden_cases_exist() -> None:
    assert len(GOOD) >= 3
    assert len(BAD) >= 2
