"""Restart decisions: policies, retry counts, backoff steps and their reset.

We test these aspects: each policy against exit codes and a user's stop; on-failure:N gives up after
N restarts; docker's and the kubelet's backoff sequences and caps; the reset after a long uptime.
"""

from __future__ import annotations

import itertools

import pytest

from agent.runtime import restarting
from translators.spec.deployment import RestartPolicy


def _policy(value: str) -> RestartPolicy:
    return RestartPolicy.model_validate(value)


@pytest.mark.parametrize(
    ("policy", "code", "restart"),
    [
        ("no", 1, False),
        ("always", 0, True),
        ("always", 137, True),
        ("unless-stopped", 0, True),
        ("on-failure", 0, False),
        ("on-failure", 1, True),
    ],
)
def test_policy_against_exit_code(policy: str, code: int, restart: bool) -> None:
    decision = restarting.decide(_policy(policy), exit_code=code, stopped_by_user=False, restarts=0, uptime=1)
    assert decision.restart is restart
    assert decision.restart or decision.reason


@pytest.mark.parametrize("policy", ["always", "unless-stopped", "on-failure"])
def test_a_stop_by_the_user_is_never_undone(policy: str) -> None:
    decision = restarting.decide(_policy(policy), exit_code=1, stopped_by_user=True, restarts=0, uptime=1)
    assert not decision.restart
    assert decision.reason == "stopped by the user"


def test_on_failure_gives_up_after_its_retries() -> None:
    policy = _policy("on-failure:3")
    made = [
        restarting.decide(policy, exit_code=1, stopped_by_user=False, restarts=n, uptime=0.5).restart
        for n in range(5)
    ]
    assert made == [True, True, True, False, False]


def test_docker_backoff_doubles_from_100ms_to_a_minute() -> None:
    delays = [restarting.backoff("docker", n) for n in range(12)]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.8]
    assert delays[-1] == 60.0
    assert all(a <= b for a, b in itertools.pairwise(delays))


def test_kubelet_backoff_doubles_from_10s_to_5min() -> None:
    assert [restarting.backoff("kubelet", n) for n in range(7)] == [10, 20, 40, 80, 160, 300, 300]


def test_long_uptime_resets_the_backoff_and_the_retry_count() -> None:
    policy = _policy("on-failure:2")
    late = restarting.decide(
        policy, exit_code=1, stopped_by_user=False, restarts=9, uptime=restarting.RESET_AFTER
    )
    assert late.restart
    assert late.delay == restarting.backoff("docker", 0)


def test_the_specs_delay_is_the_first_step() -> None:
    policy = RestartPolicy.model_validate({"policy": "always", "delay": "2s"})
    decision = restarting.decide(policy, exit_code=1, stopped_by_user=False, restarts=1, uptime=0)
    assert decision.delay == 4.0
