"""Networks as objects: created, listed, inspected and removed like deployments.

A network's definition lives in the store (``networks/<name>.json``) and outlives reboots; its
bridge exists on the host only while a container is attached (netavark creates it on the first
setup and removes it with the last teardown). Subnets and bridge names are unique on the host,
not just in one store: every store's networks are registered in one host-wide file under a lock
(``/run/berth/host-networks.json``), and routes already on the host are avoided, so two stores (or
podman, whose networks take 10.88.0.0/16 and 10.89.0.0/16) never get overlapping subnets.
"""

from __future__ import annotations

import builtins
import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.network.errors import NetworkError
from agent.store import atomic

if TYPE_CHECKING:  # annotations only: the network code runs without the spec models
    from translators.spec.project import Project

DEFAULT_NETWORK = "berth"
POOL = ipaddress.IPv4Network("10.90.0.0/16")
"""Subnets handed out when none is given: /24 blocks of this pool."""
HOST_REGISTRY = Path("/run/berth/host-networks.json")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")


@dataclass(frozen=True)
class Network:
    """One bridge network."""

    name: str
    id: str
    """64 hex digits, as netavark wants."""
    interface: str
    """The host bridge (berth0, berth1, ...)."""
    subnet: str
    gateway: str
    internal: bool = False
    dns_enabled: bool = True
    ipv6_subnet: str | None = None
    ipv6_gateway: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    driver_opts: dict[str, str] = field(default_factory=dict)
    created: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Network:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def netavark_info(self) -> dict[str, Any]:
        """The ``network_info`` entry netavark's setup reads."""
        subnets = [{"subnet": self.subnet, "gateway": self.gateway}]
        if self.ipv6_subnet:
            subnets.append({"subnet": self.ipv6_subnet, "gateway": self.ipv6_gateway or ""})
        options = {k: v for k, v in self.driver_opts.items() if k in ("mtu", "vlan", "isolate")}
        # networks are isolated from each other, as docker's are (netavark's default lets any two
        # bridges on the host route to each other); ``isolate=false`` opts out
        options.setdefault("isolate", "true")
        info: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "driver": "bridge",
            "network_interface": self.interface,
            "subnets": subnets,
            "ipv6_enabled": self.ipv6_subnet is not None,
            "internal": self.internal,
            "dns_enabled": self.dns_enabled,
            "ipam_options": {"driver": "host-local"},
        }
        if options:
            info["options"] = options
        return info


class Networks:
    """The networks of one store (``<root>/networks``)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.dir = self.root / "networks"

    def _path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise NetworkError(f"invalid network name {name!r}: letters, digits, '_', '.', '-'")
        return self.dir / f"{name}.json"

    def get(self, name: str) -> Network:
        data = atomic.read_json(self._path(name))
        if data is None:
            raise NetworkError(f"no network named {name!r}")
        return Network.from_json(data)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def list(self) -> list[Network]:
        if not self.dir.is_dir():
            return []
        out = []
        for path in sorted(self.dir.glob("*.json")):
            data = atomic.read_json(path)
            if data is not None:
                out.append(Network.from_json(data))
        return out

    def create(
        self,
        name: str,
        *,
        subnet: str | None = None,
        gateway: str | None = None,
        internal: bool = False,
        dns: bool = True,
        ipv6_subnet: str | None = None,
        labels: dict[str, str] | None = None,
        driver_opts: dict[str, str] | None = None,
        exist_ok: bool = False,
    ) -> Network:
        """Define a network; its subnet and bridge are reserved on the host at once."""
        path = self._path(name)
        if path.exists():
            if exist_ok:
                return self.get(name)
            raise NetworkError(f"network {name!r} already exists")
        net_id = hashlib.sha256(f"{self.root.resolve()}\0{name}\0{time.time()}".encode()).hexdigest()
        with _host_registry() as registry:
            taken = _taken_subnets(registry)
            chosen = _check_subnet(subnet, taken) if subnet else _free_subnet(taken)
            gw = gateway or str(next(chosen.hosts()))
            if ipaddress.ip_address(gw) not in chosen:
                raise NetworkError(f"gateway {gw} is not in subnet {chosen}")
            v6 = ipaddress.ip_network(ipv6_subnet, strict=False) if ipv6_subnet else None
            interface = _free_interface(registry)
            network = Network(
                name=name,
                id=net_id,
                interface=interface,
                subnet=str(chosen),
                gateway=gw,
                internal=internal,
                dns_enabled=dns,
                ipv6_subnet=str(v6) if v6 else None,
                ipv6_gateway=str(next(v6.hosts())) if v6 else None,
                labels=dict(labels or {}),
                driver_opts=dict(driver_opts or {}),
                created=time.time(),
            )
            self.dir.mkdir(parents=True, exist_ok=True)
            atomic.write_json(path, network.to_json())
            registry[interface] = {"subnet": network.subnet, "store": str(self.root.resolve()), "name": name}
        return network

    def ensure_project(self, project: Project) -> builtins.list[Network]:
        """The networks a compose project or Kubernetes play declares, created where missing (as
        ``docker compose up`` does); an ``external`` one must exist already."""
        made = []
        for key, definition in project.networks.items():
            if definition.external:
                if not self.exists(definition.name):
                    raise NetworkError(
                        f"network {definition.name} declared as external (networks.{key}) does not exist: "
                        f"create it first (berth network create {definition.name})"
                    )
                made.append(self.get(definition.name))
                continue
            made.append(
                self.create(
                    definition.name,
                    subnet=definition.subnets[0] if definition.subnets else None,
                    internal=definition.internal,
                    labels=definition.labels,
                    driver_opts=definition.driver_opts,
                    exist_ok=True,
                )
            )
        return made

    def ensure_default(self) -> Network:
        return self.create(DEFAULT_NETWORK, exist_ok=True)

    def remove(self, name: str) -> None:
        """Forget a network (the caller has detached every container from it)."""
        network = self.get(name)
        self._path(name).unlink()
        with _host_registry() as registry:
            registry.pop(network.interface, None)

    def reserve(self, network: Network) -> None:
        """Register a network defined before a reboot (the host registry is on tmpfs)."""
        with _host_registry() as registry:
            entry = registry.get(network.interface)
            mine = {"subnet": network.subnet, "store": str(self.root.resolve()), "name": network.name}
            if entry is not None and entry != mine and _alive(entry):
                raise NetworkError(
                    f"network {network.name!r}: bridge {network.interface} is taken by network "
                    f"{entry.get('name')!r} of the store at {entry.get('store')}"
                )
            registry[network.interface] = mine


@contextlib.contextmanager
def _host_registry() -> Iterator[dict[str, dict[str, str]]]:
    """The host-wide bridge -> {subnet, store, name} table, read and written under a lock."""
    HOST_REGISTRY.parent.mkdir(parents=True, exist_ok=True)
    lock = HOST_REGISTRY.with_suffix(".lock")
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = atomic.read_json(HOST_REGISTRY) or {}
        registry = {k: v for k, v in data.items() if isinstance(v, dict) and _alive(v)}
        yield registry
        atomic.write_json(HOST_REGISTRY, registry)
    finally:
        os.close(fd)


def _alive(entry: dict[str, str]) -> bool:
    """An entry whose store or network file is gone is stale (a test store deleted, say)."""
    store = entry.get("store")
    name = entry.get("name")
    return bool(store and name) and (Path(str(store)) / "networks" / f"{name}.json").exists()


def _host_routes() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    proc = subprocess.run(["ip", "-j", "route", "show"], capture_output=True, text=True, check=False)
    routes = []
    with contextlib.suppress(ValueError):
        for route in json.loads(proc.stdout or "[]"):
            dst = route.get("dst")
            if dst and dst != "default":
                routes.append(ipaddress.ip_network(dst, strict=False))
    return routes


def _taken_subnets(
    registry: dict[str, dict[str, str]],
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    taken = [ipaddress.ip_network(v["subnet"], strict=False) for v in registry.values() if v.get("subnet")]
    # podman's default pools, so Berth's and podman's networks never overlap
    taken += [ipaddress.ip_network("10.88.0.0/16"), ipaddress.ip_network("10.89.0.0/16")]
    return taken + _host_routes()


def _check_subnet(
    text: str, taken: list[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        subnet = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise NetworkError(f"invalid subnet {text!r}: {exc}") from exc
    for other in taken:
        if subnet.version == other.version and subnet.overlaps(other):
            raise NetworkError(f"subnet {subnet} overlaps {other}, which is in use on this host")
    return subnet


def _free_subnet(taken: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> ipaddress.IPv4Network:
    for candidate in POOL.subnets(new_prefix=24):
        if not any(candidate.overlaps(t) for t in taken if isinstance(t, ipaddress.IPv4Network)):
            return candidate
    raise NetworkError(f"no free /24 subnet left in {POOL}: remove unused networks (berth network prune)")


def _free_interface(registry: dict[str, dict[str, str]]) -> str:
    present = set(os.listdir("/sys/class/net"))
    for index in range(10_000):
        name = f"berth{index}"
        if name not in registry and name not in present:
            return name
    raise NetworkError("no free bridge name berth0..berth9999")
