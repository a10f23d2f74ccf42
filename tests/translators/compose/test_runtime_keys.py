"""Healthcheck, deploy (resources, replicas, restart_policy), restart, security, tmpfs, ulimits.

Aspects: durations printed as Go durations, ``test`` string form is CMD-SHELL, ``deploy`` limits
and ``mem_limit``/``cpus`` reach Resources, restart policy conditions map to the spec's,
``security_opt`` forms, capabilities, ``read_only``, tmpfs and ulimits.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.compose import load_yaml

YAML = """
services:
  web:
    image: nginx
    healthcheck: {test: curl -f http://localhost, interval: 90s, timeout: 5s, retries: 3}
    deploy:
      replicas: 2
      resources:
        limits: {cpus: "0.5", memory: 512M, pids: 100}
        reservations: {memory: 128M}
      restart_policy: {condition: on-failure, max_attempts: 4}
    cap_add: [NET_ADMIN]
    cap_drop: [ALL]
    read_only: true
    security_opt: ["no-new-privileges:false", "seccomp=unconfined", "apparmor=p", "label=type:spc_t"]
    tmpfs: /run
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}
    command: sh -c 'echo "hi there"'
    entrypoint: [/bin/tini, --]
"""


def test_model_forms(tmp_path: Path) -> None:
    web = load_yaml(tmp_path, YAML).model["services"]["web"]
    assert web["healthcheck"] == {"test": ["CMD-SHELL", "curl -f http://localhost"], "interval": "1m30s",
                                  "timeout": "5s", "retries": 3}  # fmt: skip
    assert web["command"] == ["sh", "-c", 'echo "hi there"']
    assert web["tmpfs"] == ["/run"]


def test_spec(tmp_path: Path) -> None:
    cfg = load_yaml(tmp_path, YAML).translation.specs[0].config
    assert cfg.healthcheck is not None
    assert cfg.healthcheck.exec == ["/bin/sh", "-c", "curl -f http://localhost"]
    assert (cfg.healthcheck.interval, cfg.healthcheck.retries) == (90.0, 3)
    assert (cfg.resources.cpu, cfg.resources.memory, cfg.resources.pids) == (0.5, 512 << 20, 100)
    assert cfg.resources.memory_reservation == 128 << 20
    assert (cfg.resources.ulimits["nofile"].soft, cfg.resources.ulimits["nproc"].hard) == (1024, 512)
    assert cfg.replicas == 2
    assert (cfg.restart.policy, cfg.restart.max_retries) == ("on-failure", 4)
    sec = cfg.security
    assert (sec.readonly, sec.no_new_privileges, sec.seccomp, sec.apparmor) == (
        True,
        False,
        "unconfined",
        "p",
    )
    assert sec.selinux_options == ["type:spc_t"]
    assert (sec.capabilities.add, sec.capabilities.drop) == (["CAP_NET_ADMIN"], ["ALL"])
    assert [t.target for t in cfg.tmpfs] == ["/run"]
    assert (cfg.entrypoint, cfg.cmd) == (["/bin/tini", "--"], ["sh", "-c", 'echo "hi there"'])


def test_restart_short_form(tmp_path: Path) -> None:
    cfg = (
        load_yaml(tmp_path, "services:\n  w: {image: x, restart: unless-stopped}\n")
        .translation.specs[0]
        .config
    )
    assert cfg.restart.policy == "unless-stopped"
