"""The supervisor over many cheap targets, run as its own process by ``test_load``.

``python -m tests.agent.supervisor.loadrun RECORD_DIR PID...``: one target per pid, each with an
exec liveness probe (a cheap function: is the process there?) and a TCP readiness probe into the
pid's network namespace, every second. Prints ``port N`` once serving; SIGTERM ends it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from agent.supervisor import running
from agent.supervisor.targets import StaticTarget
from translators.spec.probes import Probe


def _alive(pid: int) -> Callable[[Sequence[str], float], tuple[int, str]]:
    def exec_fn(argv: Sequence[str], timeout: float) -> tuple[int, str]:
        return (0, "alive") if Path(f"/proc/{pid}").exists() else (1, "gone")

    return exec_fn


def main(argv: list[str]) -> int:
    records, pids = Path(argv[0]), [int(p) for p in argv[1:]]
    liveness = Probe.model_validate({"exec": ["true"], "interval": 1, "timeout": 1, "retries": 3})
    readiness = Probe.model_validate({"tcp_socket": {"port": 80}, "interval": 1, "timeout": 1, "retries": 1})
    targets = [
        StaticTarget(
            name=f"c{i:02d}",
            pid=pid,
            health_file=records / f"c{i:02d}.json",
            healthcheck=liveness,
            readiness=readiness,
            exec_fn=_alive(pid),
        )
        for i, pid in enumerate(pids)
    ]
    return running.run(
        lambda: targets, port=0, refresh=1, on_ready=lambda port: print(f"port {port}", flush=True)
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
