"""deploy: resources (limits, reservations, mem_limit/cpus), replicas/scale, restart_policy, restart.

Aspects: sizes printed as byte strings and CPUs as numbers like docker compose, the spec's
Resources and RestartPolicy, the empty ``resources``/``placement`` compose prints, and the error
when ``mem_limit`` and ``deploy.resources.limits.memory`` disagree.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.compose import errors_of, load_yaml

YAML = """
services:
  web:
    image: nginx
    deploy:
      replicas: 2
      resources:
        limits: {cpus: "0.5", memory: 512M, pids: 100}
        reservations: {memory: 128M}
      restart_policy: {condition: on-failure, max_attempts: 4, delay: 5s}
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    shm_size: 64m
"""


def test_model(tmp_path: Path) -> None:
    web = load_yaml(tmp_path, YAML).model["services"]["web"]
    assert web["deploy"]["resources"] == {
        "limits": {"cpus": 0.5, "memory": str(512 << 20), "pids": 100},
        "reservations": {"memory": str(128 << 20)},
    }
    assert web["shm_size"] == str(64 << 20)


def test_spec(tmp_path: Path) -> None:
    cfg = load_yaml(tmp_path, YAML).translation.specs[0].config
    res = cfg.resources
    assert (res.cpu, res.memory, res.pids, res.memory_reservation, res.shm_size) == (
        0.5, 512 << 20, 100, 128 << 20, 64 << 20,
    )  # fmt: skip
    assert (res.ulimits["nofile"].soft, res.ulimits["nofile"].hard, res.ulimits["nproc"].hard) == (
        1024,
        2048,
        512,
    )
    assert cfg.replicas == 2
    assert (cfg.restart.policy, cfg.restart.max_retries, cfg.restart.delay) == ("on-failure", 4, 5.0)


@pytest.mark.parametrize(
    ("restart", "policy"),
    [
        ("no", "no"),
        ("always", "always"),
        ("unless-stopped", "unless-stopped"),
        ("on-failure:3", "on-failure"),
    ],
    ids=["no", "always", "unless-stopped", "on-failure-count"],
)
def test_restart(tmp_path: Path, restart: str, policy: str) -> None:
    cfg = (
        load_yaml(tmp_path, f"services:\n  w: {{image: x, restart: '{restart}'}}\n")
        .translation.specs[0]
        .config
    )
    assert cfg.restart.policy == policy


def test_scale_and_empty_deploy(tmp_path: Path) -> None:
    project = load_yaml(tmp_path, "services:\n  w: {image: x, scale: 3, deploy: {}}\n")
    assert project.model["services"]["w"]["deploy"] == {"resources": {}, "placement": {}}
    assert project.translation.specs[0].config.replicas == 3


def test_distinct_limits(tmp_path: Path) -> None:
    errors = errors_of(
        tmp_path,
        "services:\n  w:\n    image: x\n    mem_limit: 1g\n    deploy: {resources: {limits: {memory: 2g}}}\n",
    )
    assert errors == [
        f"{tmp_path}/compose.yaml:4: services.w.mem_limit: "
        "can't set distinct values on 'mem_limit' and 'deploy.resources.limits.memory'"
    ]
