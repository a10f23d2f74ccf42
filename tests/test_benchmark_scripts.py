"""The benchmark scripts start as the README runs them (``python benchmarks/X.py``).

Run as a script, a benchmark's own directory comes first on ``sys.path``: a file there named like
one of the project's packages (``agent.py`` once) hides that package from every other benchmark,
and they fail at import. Each script with a command line must at least print its usage.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

SCRIPTS = sorted(p for p in (ROOT / "benchmarks").glob("*.py") if "argparse" in p.read_text())
PACKAGES = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}


def test_no_benchmark_is_named_like_a_package() -> None:
    clashes = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if p.stem in PACKAGES)
    assert clashes == []


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_the_script_starts(script: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(script), "--help"],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout
