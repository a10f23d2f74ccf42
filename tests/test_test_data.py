"""The suite says what test data it needs (issue 12: a clone elsewhere has no ``../shared``).

We test these aspects:
- with ``BERTH_CORPUS`` naming a missing directory, every corpus test is skipped for one reason
  that names the setting, never "empty parameter set", and nothing fails;
- with ``CI=true`` as well, the same tests fail (a CI run cannot pass by skipping them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT

CORPUS_TESTS = [
    "tests/corpus/test_compose_corpus.py",
    "tests/translators/kubernetes/test_corpus.py",
    "tests/translators/compose/test_dotenv.py",
]


def _pytest(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "BERTH_CORPUS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *CORPUS_TESTS],
        cwd=ROOT,
        env={**base, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_missing_corpus_skips_with_the_setting_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    proc = _pytest(tmp_path, BERTH_CORPUS=str(missing))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "empty parameter set" not in out
    skips = [line for line in out.splitlines() if line.startswith("SKIPPED")]
    assert skips, out
    reasons = {line.split(": ", 1)[1] for line in skips}
    assert reasons == {f"no test corpus at {missing}: set BERTH_CORPUS to the corpus directory "
                       "(default <repository>/../shared/corpus)"}  # fmt: skip
    assert " failed" not in out


def test_missing_corpus_fails_under_ci(tmp_path: Path) -> None:
    proc = _pytest(tmp_path, BERTH_CORPUS=str(tmp_path / "nowhere"), CI="true")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "set BERTH_CORPUS" in out and "CI=true" in out
    assert " skipped" not in out.splitlines()[-1]
