"""A newcomer's first command on a fresh clone: ``bash .ci/demo`` with no Go toolchain.

We test these aspects:
- the committed repository, cloned into a directory with no ``../shared`` beside it, runs the
  README's first command with Go hidden from PATH: the main job's setup layer needs no Go (the
  control plane is the test layer's), and the demo deploys its services;
- the time it took is reported (the target is under 90 s on a quiet machine, packages installed;
  the suite shares two cores with other work, so the time is reported, not asserted).

It runs exactly what ``.ci/demo`` runs, so it follows the demo as that grows (starting containers).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.paths import ROOT


def _path_without_go() -> str:
    """$PATH without the directories that hold a ``go`` binary."""
    dirs = os.environ.get("PATH", "/usr/bin:/bin").split(os.pathsep)
    return os.pathsep.join(d for d in dirs if d and not (Path(d) / "go").exists())


@pytest.mark.slow
def test_demo_on_a_fresh_clone_needs_no_go(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clone = tmp_path / "berth"
    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(clone)], check=True, timeout=120)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", head], check=True, timeout=120)
    assert not (tmp_path / "shared").exists()
    path = _path_without_go()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GO", "BERTH_", "VIRTUAL_ENV", "PYTHON"))
    }
    env["PATH"] = path
    assert shutil.which("go", path=path) is None
    store = tmp_path / "store"
    start = time.monotonic()
    try:
        proc = subprocess.run(
            ["bash", ".ci/demo", str(store)],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        seconds = time.monotonic() - start
        with capsys.disabled():
            print(f"\nbash .ci/demo on a fresh clone without Go: {seconds:.1f} s")
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "berth-demo-web-1" in proc.stdout and "berth-demo-page-1" in proc.stdout
        assert "hello from berth" in proc.stdout  # the web service answered
        assert (store / "deployments" / "berth-demo-web-1" / "rootfs" / "bin" / "busybox").is_file()
        assert not (clone / ".work" / "bin").exists(), "the demo built the test control plane"
    finally:
        berth = clone / ".venv" / "bin" / "berth"
        for name in ("berth-demo-web-1", "berth-demo-page-1"):  # the demo leaves its services running
            if berth.exists():
                subprocess.run(
                    [str(berth), "container", "remove", "--root", str(store), name],
                    env=env,
                    capture_output=True,
                    check=False,
                    timeout=120,
                )
        subprocess.run(["rm", "-rf", str(clone / ".venv")], check=False)
