"""The store's running containers as supervisor targets (probes, restarts, metrics), for
``berth agent`` with or without Kubernetes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from agent.oci.imageconfig import ImageHealthcheck
from agent.runtime.engine import KUBERNETES_KINDS, Engine
from agent.supervisor.targets import StaticTarget, Target
from translators.errors import BerthError
from translators.spec.probes import Probe

log = logging.getLogger("berth.agent")


@dataclass(frozen=True)
class _Probed:
    """What the supervisor needs from one deployment version: fixed while the version is."""

    healthcheck: Probe | None
    readiness: Probe | None
    startup: Probe | None
    image_healthcheck: ImageHealthcheck | None
    restart_on_unhealthy: bool


class EngineTargets:
    """Every running container of the store, for the supervisor's probes, asked for every
    refresh (2 s).

    Reading every deployment's record and validating its spec at each refresh cost 1-1.5 s of
    CPU per refresh at 500 deployments (a third of the node agent's CPU while it rolled them out,
    py-spy). A version's probes never change, so they are kept per version; a refresh reads only
    which version is current (a readlink and a stat per deployment), whether the container lives
    (:meth:`Engine.live_pid`) and its restart count."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._probed: dict[str, tuple[tuple[int, int], _Probed]] = {}

    def __call__(self) -> Iterable[Target]:
        engine = self.engine
        try:
            versions = engine.store().current_versions()
        except BerthError:
            return []
        for gone in set(self._probed) - set(versions):
            del self._probed[gone]
        found: list[Target] = []
        for name, version in versions.items():
            pid = engine.live_pid(name)
            if not pid:
                continue
            probed = self._probed_of(name, version)
            if probed is None:
                continue
            found.append(
                StaticTarget(
                    name=name,
                    pid=pid,
                    health_file=engine.health_path(name),
                    healthcheck=probed.healthcheck,
                    readiness=probed.readiness,
                    startup=probed.startup,
                    image_healthcheck=probed.image_healthcheck,
                    restarts=engine.run_state(name).restarts,
                    restart_on_unhealthy=probed.restart_on_unhealthy,
                    exec_fn=engine.exec_function(name),
                    restart_fn=functools.partial(_restart, engine, name),
                    health_fn=functools.partial(_health_changed, engine, name),
                )
            )
        return found

    def _probed_of(self, name: str, version: tuple[int, int]) -> _Probed | None:
        """The probes of ``name``'s version ``version`` (serial, inode), read once."""
        known = self._probed.get(name)
        if known is not None and known[0] == version:
            return known[1]
        try:
            deployment = self.engine.store().get_version(name, version[0])
            config = deployment.spec.config
        except BerthError as exc:  # removed or switched meanwhile: the next refresh sees it
            log.debug("%s: not watched this time: %s", name, exc)
            return None
        origin = deployment.spec.origin
        probed = _Probed(
            healthcheck=config.healthcheck,
            readiness=config.readiness,
            startup=config.startup,
            image_healthcheck=deployment.image_config.healthcheck,
            restart_on_unhealthy=origin is not None and origin.kind in KUBERNETES_KINDS,
        )
        self._probed[name] = (version, probed)
        return probed


def _restart(engine: Engine, name: str, reason: str) -> None:
    log.info("%s: restarting (%s)", name, reason)
    try:
        engine.stop(name, timeout=10)
        engine.start(name)
    except BerthError as exc:
        log.warning("%s: restart failed: %s", name, exc)


def _health_changed(engine: Engine, name: str, status: str) -> None:
    engine.health_changed(name, status)
