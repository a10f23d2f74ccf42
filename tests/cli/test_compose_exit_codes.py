"""``berth compose`` exits as docker compose does for errors found before any container is touched
(docker compose v2.40.3 is the oracle: these cases need no daemon)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import oracle
from tests.support.paths import ROOT

PROJECT = "services:\n  web:\n    image: busybox\n"
CASES = [
    ["-f", "compose.yaml", "up", "-d", "nosuch"],
    ["-f", "missing.yaml", "ps"],
    ["-f", "compose.yaml", "up", "-d", "--scale", "x"],
    ["-f", "compose.yaml", "up", "-d", "--force-recreate", "--no-recreate"],
    ["-f", "compose.yaml", "exec"],
    ["-f", "compose.yaml", "frob"],
    ["-f", "broken.yaml", "down"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c[2:]) for c in CASES])
def test_exit_code_as_docker_compose(tmp_path: Path, args: list[str]) -> None:
    assert oracle.ORACLE.is_file(), f"install the oracle: {oracle.INSTALL}"
    (tmp_path / "compose.yaml").write_text(PROJECT)
    (tmp_path / "broken.yaml").write_text("services:\n  web:\n    image: [1\n")
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock", "PYTHONPATH": str(ROOT)}
    env["BERTH_ROOT"] = str(tmp_path / "store")
    want = subprocess.run(
        [str(oracle.ORACLE), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    got = subprocess.run(
        [sys.executable, "-m", "agent", "compose", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert got.returncode == want.returncode, (want.stderr, got.stderr)
    assert "Traceback" not in got.stderr
