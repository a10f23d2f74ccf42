"""A stand-in for Berth's exit command in tests: reap, then restart unless stopped (after a delay).

conmon runs it when the container exits: ``restarter.py RUN KEY NAME LOG DELAY REPORT``. It
restarts at most once per run (the container itself decides whether it exits again), writing
what happened to REPORT.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from agent.runtime.containers import Containers
from agent.runtime.errors import RuntimeFailure
from agent.runtime.paths import RunPaths


def main(argv: list[str]) -> int:
    run, key, name, log, delay, report = argv
    containers = Containers(RunPaths(Path(run), key))
    with open(report, "a") as out:
        try:
            status = containers.reap(name)
            if status.stop_requested:
                out.write("stopped\n")
                return 0
            out.write("backoff\n")
            out.flush()
            time.sleep(float(delay))
            command = [
                "/usr/bin/env",
                f"PYTHONPATH={os.environ.get('PYTHONPATH', '')}",
                sys.executable,
                __file__,
                *argv,
            ]
            containers.create(name, log_path=Path(log), exit_command=command, restart=True)
            containers.start(name)
            out.write("restarted\n")
        except RuntimeFailure as exc:
            out.write(f"refused: {exc}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
