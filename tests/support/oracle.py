"""Running Docker Compose v2.40.3 (the oracle) the way /work/shared/corpus/ORACLE.md does.

``.ci/setup-tests`` installs it into ``.work/compose-oracle`` (``BERTH_COMPOSE_ORACLE`` may name another
binary).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.support.paths import WORK

ORACLE = Path(
    os.environ.get("BERTH_COMPOSE_ORACLE", str(WORK / "compose-oracle" / "bin" / "docker-compose-binary"))
)
INSTALL = "bash .ci/setup-tests"


def run(project_dir: Path, files: list[str], env: dict[str, str]) -> tuple[int, Any, str]:
    """(exit code, parsed JSON model or None, stderr) of ``docker compose config --format json``."""
    args = [str(ORACLE)]
    for f in files:
        args += ["-f", f]
    proc = subprocess.run(
        [*args, "config", "--format", "json"],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    model = json.loads(proc.stdout) if proc.returncode == 0 else None
    return proc.returncode, model, proc.stderr
