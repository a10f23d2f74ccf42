"""The store's running containers as supervisor targets (probes, restarts, metrics), for
``berth agent`` with or without Kubernetes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable

from agent.runtime.engine import KUBERNETES_KINDS, Engine
from agent.supervisor.targets import StaticTarget, Target
from translators.errors import BerthError

log = logging.getLogger("berth.agent")


def targets_of(engine: Engine) -> Iterable[Target]:
    """Every running container of the store, for the supervisor's probes."""
    try:
        deployments = engine.store().list()
    except BerthError:
        return []
    found: list[Target] = []
    for deployment in deployments:
        ctr = engine.container(deployment.name)
        if ctr is None or not ctr.alive or not ctr.pid:
            continue
        config = deployment.spec.config
        name = deployment.name
        origin = deployment.spec.origin
        found.append(
            StaticTarget(
                name=name,
                pid=ctr.pid,
                health_file=engine.health_path(name),
                healthcheck=config.healthcheck,
                readiness=config.readiness,
                startup=config.startup,
                image_healthcheck=deployment.image_config.healthcheck,
                restarts=engine.run_state(name).restarts,
                restart_on_unhealthy=origin is not None and origin.kind in KUBERNETES_KINDS,
                exec_fn=engine.exec_function(name),
                restart_fn=functools.partial(_restart, engine, name),
                health_fn=functools.partial(_health_changed, engine, name),
            )
        )
    return found


def _restart(engine: Engine, name: str, reason: str) -> None:
    log.info("%s: restarting (%s)", name, reason)
    try:
        engine.stop(name, timeout=10)
        engine.start(name)
    except BerthError as exc:
        log.warning("%s: restart failed: %s", name, exc)


def _health_changed(engine: Engine, name: str, status: str) -> None:
    engine.health_changed(name, status)
