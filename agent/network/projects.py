"""The networks a project declares (compose's ``networks:``, a kube play's one network), made real.

``ensure`` creates what the project owns (labelled with the project, as docker compose labels
``com.docker.compose.project``), checks that ``external`` ones exist, and leaves networks that
already exist as they are, so a second ``up`` changes nothing. ``remove_unused`` is ``down``'s half:
the project's own networks that no container is attached to go; external ones never do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agent.network.attaching import Attacher
from agent.network.errors import NetworkError
from agent.network.networks import Network
from translators.spec.project import NetworkDef

PROJECT_LABEL = "io.berth.project"
"""The label naming the project that created a network (compose: com.docker.compose.project)."""
DRIVER_OPTS = {
    "com.docker.network.driver.mtu": "mtu",
    "mtu": "mtu",
    "isolate": "isolate",
}
"""Compose driver options netavark's bridge has, by the name Berth stores them under."""


@dataclass
class Ensured:
    networks: list[Network] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def ensure(attacher: Attacher, project: str, defs: Sequence[NetworkDef]) -> Ensured:
    """Every network of ``defs``, created when missing (external ones must exist)."""
    out = Ensured()
    networks = attacher.networks
    for spec in defs:
        if spec.driver != "bridge":
            raise NetworkError(f"network {spec.name}: driver {spec.driver!r} is not supported (bridge only)")
        if networks.exists(spec.name):
            out.networks.append(networks.get(spec.name))
            continue
        if spec.external:
            raise NetworkError(
                f"network {spec.name} is declared as external, but could not be found "
                f"(create it with: berth network create {spec.name})"
            )
        opts = {}
        for key, value in spec.driver_opts.items():
            if key in DRIVER_OPTS:
                opts[DRIVER_OPTS[key]] = value
            else:
                out.warnings.append(f"network {spec.name}: driver option {key} is not supported, ignored")
        v4 = [s for s in spec.subnets if ":" not in s]
        v6 = [s for s in spec.subnets if ":" in s]
        if len(v4) > 1 or len(v6) > 1:
            raise NetworkError(
                f"network {spec.name}: at most one IPv4 and one IPv6 subnet, got {spec.subnets}"
            )
        out.networks.append(
            networks.create(
                spec.name,
                subnet=v4[0] if v4 else None,
                internal=spec.internal,
                ipv6_subnet=v6[0] if v6 else None,
                labels={**spec.labels, PROJECT_LABEL: project},
                driver_opts=opts,
            )
        )
        out.created.append(spec.name)
    return out


def remove_unused(attacher: Attacher, project: str) -> list[str]:
    """Remove the networks ``project`` created that no container is attached to; their names."""
    removed = []
    for network in attacher.networks.list():
        if network.labels.get(PROJECT_LABEL) == project and not attacher.users(network.name):
            attacher.networks.remove(network.name)
            removed.append(network.name)
    return removed
