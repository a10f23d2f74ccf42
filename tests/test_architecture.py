"""The layering the project promises, checked on the code itself.

We test these aspects:
- import-linter's contracts in pyproject.toml hold (translators import no agent, kubernetes client,
  requests, subprocess or socket), run through the real tool;
- the agent's layers hold (cli -> supervisor|kube|demo -> runtime -> trust -> registry -> store -> oci);
- a planted violation of each contract is caught, so neither is vacuous.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(exe), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_translators_are_pure() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "translators are pure" in result.stdout


def test_agent_layers_hold() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "agent layers" in result.stdout and "KEPT" in result.stdout


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "translators", copy / "translators")
    shutil.copytree(ROOT / "agent", copy / "agent", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def test_a_planted_violation_is_caught(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    (copy / "translators" / "sneaky.py").write_text("import subprocess\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "translators.sneaky -> subprocess" in result.stdout


def test_the_store_importing_the_registry_is_caught(tmp_path: Path) -> None:
    """The cycle the layers removed: the store pulls only through an injected puller."""
    copy = _copy(tmp_path)
    (copy / "agent" / "store" / "sneaky.py").write_text("from agent.registry import pulling\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "agent.store.sneaky -> agent.registry.pulling" in result.stdout
