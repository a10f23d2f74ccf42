"""Named steps of every store transaction, where a test can kill the process with SIGKILL.

Crash tests set ``BERTH_CRASH_AT=<step>`` and run a command; :func:`hit` kills the process when it
reaches that step, exactly as a power cut or an OOM kill would. Every step a transaction passes
through is listed in :data:`STEPS`, so the tests enumerate them from here instead of keeping a
copy that could drift.
"""

from __future__ import annotations

import os
import signal

ENV = "BERTH_CRASH_AT"

STEPS: tuple[str, ...] = (
    "lock:acquired",
    "unpack:mid-layer",
    "unpack:before-rename",
    "merge:mid-layer",
    "merge:before-rename",
    "deploy:rootfs-linked",
    "deploy:before-commit",
    "deploy:committed",
    "deploy:switched",
    "rollback:pointer-written",
    "rollback:switched",
    "remove:unlinked",
    "remove:trashed",
    "metadata:deployments-written",
    "metadata:written",
    "config:written",
)


def hit(step: str) -> None:
    """Die here with SIGKILL when the environment asks for this step."""
    if step not in STEPS:
        raise ValueError(f"unknown crash step {step!r}")
    if os.environ.get(ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
