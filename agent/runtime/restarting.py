"""Restart policies: whether an exited container starts again, and after how long.

The decision is made by the process conmon runs when a container exits (its exit command), so
restarts need no Berth process to stay resident, as podman's do. Backoff follows where the spec
came from: docker's daemon for compose and native specs (100 ms, doubling, at most 1 min), the
kubelet's CrashLoopBackOff for Kubernetes ones (10 s, doubling, at most 5 min). A container that
stayed up for 10 minutes has its backoff reset, as the kubelet does (docker resets sooner; the
longer window is the safer one for an edge host that crash-loops).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from translators.spec.deployment import RestartPolicy

BackoffKind = Literal["docker", "kubelet"]
RESET_AFTER = 600.0
"""Seconds of uptime after which a container's backoff starts again from the first step."""

_STEPS: dict[BackoffKind, tuple[float, float]] = {"docker": (0.1, 60.0), "kubelet": (10.0, 300.0)}


@dataclass(frozen=True)
class Decision:
    """What to do after an exit."""

    restart: bool
    delay: float = 0.0
    """Seconds to wait before starting again."""
    reason: str = ""
    """Why not, for ``status`` (policy no, stopped by the user, retries exhausted, ...)."""


def backoff(kind: BackoffKind, attempt: int, minimum: float | None = None) -> float:
    """Delay before restart number ``attempt`` (0-based) of a crash loop."""
    first, cap = _STEPS[kind]
    if minimum is not None:
        first = max(first, minimum)
    return float(min(cap, first * (2 ** min(attempt, 32))))


def decide(
    policy: RestartPolicy,
    *,
    exit_code: int,
    stopped_by_user: bool,
    restarts: int,
    uptime: float,
    kind: BackoffKind = "docker",
) -> Decision:
    """The decision after an exit with ``exit_code`` of a container restarted ``restarts`` times in
    its current crash loop, which had been up for ``uptime`` seconds."""
    if stopped_by_user:
        return Decision(False, reason="stopped by the user")
    if policy.policy == "no":
        return Decision(False, reason="restart policy is no")
    if policy.policy == "on-failure" and exit_code == 0:
        return Decision(False, reason="exited 0 and the restart policy is on-failure")
    attempt = 0 if uptime >= RESET_AFTER else restarts
    if policy.policy == "on-failure" and policy.max_retries is not None and attempt >= policy.max_retries:
        return Decision(
            False, reason=f"gave up after {policy.max_retries} restarts (on-failure:{policy.max_retries})"
        )
    return Decision(True, delay=backoff(kind, attempt, policy.delay))
