"""Attach a container's network namespace to its networks on start, detach it on stop.

Addresses are leased here (netavark does no IPAM): a fixed ``ipv4_address`` when the spec has one,
otherwise the next free address after the last one handed out on that network, so a restarted
container gets a new address and its name (aardvark-dns, updated by netavark on every setup and
teardown) follows it, as docker's names do. Published host ports are registered host-wide, so a
port another Berth container or any other process holds is a clear error before anything is set up.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import ipaddress
import itertools
import os
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from agent.network import dns, forwards, netavark
from agent.network.errors import NetworkError
from agent.network.networks import DEFAULT_NETWORK, Network, Networks
from agent.store import atomic

if TYPE_CHECKING:  # annotations only: the network code runs without the spec models
    from translators.spec.deployment import ContainerConfig

HOST_PORTS = Path("/run/berth/host-ports.json")
ANY = "0.0.0.0"  # noqa: S104 - a published port without host_ip binds every address, as docker's
DNS_SEARCH = "dns.podman"
"""The search domain aardvark-dns serves container names under (netavark 1.4 hard-codes it)."""
EPHEMERAL = (32768, 60999)
"""Host ports picked for a published port without one (as the kernel's default ephemeral range)."""


@dataclass(frozen=True)
class PublishedPort:
    """A container port reachable on the host."""

    host_ip: str
    host_port: int
    container_port: int
    protocol: str


@dataclass(frozen=True)
class Endpoint:
    """The container on one network."""

    network: str
    interface: str
    ipv4: str
    ipv6: str | None = None
    mac: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attached:
    """What a container's network namespace was given, kept until it is detached."""

    container: str
    netns: str
    endpoints: tuple[Endpoint, ...] = ()
    ports: tuple[PublishedPort, ...] = ()
    dns_servers: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)
    """The netavark options, given again at teardown."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attached:
        return cls(
            container=data["container"],
            netns=data["netns"],
            endpoints=tuple(
                Endpoint(**{**e, "aliases": tuple(e.get("aliases", ()))}) for e in data["endpoints"]
            ),
            ports=tuple(PublishedPort(**p) for p in data["ports"]),
            dns_servers=tuple(data.get("dns_servers", ())),
            dns_search=tuple(data.get("dns_search", ())),
            options=data.get("options", {}),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Attacher:
    """Network attachments of the containers of one store."""

    def __init__(self, root: Path, run: Path) -> None:
        self.networks = Networks(root)
        self.root = Path(root)
        self.run = Path(run) / "networks"
        self.config = self.run / "netavark"

    # -- state files ------------------------------------------------------------------------
    def _attached_path(self, name: str) -> Path:
        return self.run / "attached" / f"{name}.json"

    def attached(self, name: str) -> Attached | None:
        data = atomic.read_json(self._attached_path(name))
        return Attached.from_json(data) if data else None

    @contextlib.contextmanager
    def _leases(self) -> Iterator[dict[str, Any]]:
        self.run.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.run / "leases.lock", os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            leases = atomic.read_json(self.run / "leases.json") or {}
            yield leases
            atomic.write_json(self.run / "leases.json", leases)
        finally:
            os.close(fd)

    # -- attach / detach --------------------------------------------------------------------
    def attach(
        self,
        name: str,
        config: ContainerConfig,
        netns: Path,
        *,
        aliases: Sequence[str] = (),
        container_id: str | None = None,
    ) -> Attached:
        """Join ``netns`` to the spec's networks (the default one when it names none) and publish
        its ports. Nothing is left behind when this fails."""
        _, finish = self.attach_deferred(name, config, netns, aliases=aliases, container_id=container_id)
        return finish()

    def attach_deferred(
        self,
        name: str,
        config: ContainerConfig,
        netns: Path,
        *,
        aliases: Sequence[str] = (),
        container_id: str | None = None,
    ) -> tuple[Attached, Callable[[], Attached]]:
        """:meth:`attach` in two steps: addresses and ports are taken now, and what the container
        will be given (addresses, DNS servers) is returned at once with a function that does the
        slow part, netavark's setup (a third of a second here), which the caller may run while it
        prepares and creates the container, as podman sets up the network while it mounts the
        storage. The container must not start before that function returned. When it fails,
        nothing is left behind."""
        if self.attached(name) is not None:
            self.detach(name)
        wanted = config.network.networks or []
        nets: list[tuple[Network, Any]] = []
        if not wanted:
            nets.append((self.networks.ensure_default(), None))
        for attachment in wanted:
            if attachment.name == DEFAULT_NETWORK and not self.networks.exists(DEFAULT_NETWORK):
                self.networks.ensure_default()
            nets.append((self.networks.get(attachment.name), attachment))
        for network, _ in nets:
            self.networks.reserve(network)
        cid = container_id or _container_id(self.root, name)
        with self._leases() as leases:
            endpoints = []
            for index, (network, attachment) in enumerate(nets):
                fixed = attachment.ipv4_address if attachment is not None else None
                ipv4 = _lease(leases, network, name, fixed)
                fixed6 = attachment.ipv6_address if attachment is not None else None
                ipv6 = _lease6(leases, network, name, fixed6) if network.ipv6_subnet else None
                if fixed6 and not network.ipv6_subnet:
                    raise NetworkError(f"ipv6_address {fixed6}: network {network.name} has no IPv6 subnet")
                names = [*aliases, *(attachment.aliases if attachment is not None else [])]
                endpoints.append(
                    Endpoint(
                        network.name,
                        f"eth{index}",
                        ipv4,
                        ipv6,
                        aliases=tuple(dict.fromkeys(a for a in names if a)),
                    )
                )
        try:
            ports = _reserve_ports(self.root, name, config, internal=all(n.internal for n, _ in nets))
        except BaseException:
            self._release(name)
            raise
        options = {
            "container_id": cid,
            "container_name": name,
            "networks": {
                e.network: {
                    "interface_name": e.interface,
                    "static_ips": [e.ipv4, *([e.ipv6] if e.ipv6 else [])],
                    "aliases": list(e.aliases),
                }
                for e in endpoints
            },
            "network_info": {n.name: n.netavark_info() for n, _ in nets},
            "port_mappings": [
                {
                    "host_ip": p.host_ip if p.host_ip not in (ANY, "") else "",
                    "container_port": p.container_port,
                    "host_port": p.host_port,
                    "range": 1,
                    "protocol": p.protocol,
                }
                for p in ports
            ],
        }
        dns_nets = [n for n, _ in nets if n.dns_enabled]
        planned = Attached(
            name,
            str(netns),
            tuple(endpoints),
            tuple(ports),
            tuple(dict.fromkeys(g for n in dns_nets for g in (n.gateway, n.ipv6_gateway) if g)),
            (DNS_SEARCH,) if dns_nets else (),
            options,
        )

        def finish() -> Attached:
            return _Batch.of(self.run).attach(self, setup, [n for n, _ in nets])

        def setup(shared: bool) -> Attached:
            try:
                status = netavark.setup(self.config, netns, options, shared=shared)
            except BaseException:
                self._release(name)
                _release_ports(self.root, name)
                for network, _ in nets:  # what a failed setup left is not known: the next goes alone
                    self._forget_made(network)
                raise
            for network, _ in nets:
                _pin_bridge_address(network.interface)
                self._note_made(network)
            servers: list[str] = []
            search: list[str] = []
            done = []
            for endpoint in endpoints:
                answer = status.get(endpoint.network, {})
                servers += [s for s in answer.get("dns_server_ips", []) if s not in servers]
                search += [s for s in answer.get("dns_search_domains", []) if s not in search]
                iface = answer.get("interfaces", {}).get(endpoint.interface, {})
                done.append(Endpoint(**{**asdict(endpoint), "mac": iface.get("mac_address")}))
            attached = Attached(
                name, str(netns), tuple(done), tuple(ports), tuple(servers), tuple(search), options
            )
            self._attached_path(name).parent.mkdir(parents=True, exist_ok=True)
            atomic.write_json(self._attached_path(name), attached.to_json())
            if (attached.dns_servers, attached.dns_search) != (planned.dns_servers, planned.dns_search):
                self._detach(name)  # the container was told other servers: refuse rather than mislead
                raise NetworkError(
                    f"{name}: netavark serves names on {list(servers)} (search {list(search)}), not on "
                    f"the networks' gateways {list(planned.dns_servers)} as expected"
                )
            return attached  # the batch checks the names (see _Batch)

        return planned, finish

    @contextlib.contextmanager
    def _serialised(self) -> Iterator[None]:
        """One netavark setup or teardown at a time per store (threads and processes alike), or
        one batch of setups (:class:`_Batch`): each ends with a DNS check from every member's
        namespace, which must not see a half-made or half-removed member. (A lock of its own, taken once per change: flock locks belong to an
        open file, so a nested take would wait for itself.)"""
        self.run.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.run / "attach.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # -- networks whose shared state netavark has made ----------------------------------------
    def _made_path(self, network: Network) -> Path:
        return self.run / "made" / network.name

    def _note_made(self, network: Network) -> None:
        """A setup on ``network`` completed: its bridge (this one, by interface index), firewall
        chains and rules and aardvark-dns exist, so the setups after it may run side by side
        (:meth:`made`). Kept in the run directory (tmpfs), which a reboot empties with the rest."""
        index = _ifindex(network.interface)
        if index is not None and self._made_index(network) != index:
            self._made_path(network).parent.mkdir(parents=True, exist_ok=True)
            atomic.write_bytes(self._made_path(network), index.encode())

    def _forget_made(self, network: Network) -> None:
        self._made_path(network).unlink(missing_ok=True)

    def _made_index(self, network: Network) -> str | None:
        try:
            return self._made_path(network).read_text()
        except OSError:
            return None

    def made(self, network: Network) -> bool:
        """True when a setup on ``network`` may run beside others: a setup completed on the bridge
        that exists now (a bridge made again after its last container left has a new index) and,
        where the network serves names, aardvark-dns runs (netavark starts it when it does not,
        and two setups starting it at once would both try)."""
        index = self._made_index(network)
        if index is None or index != _ifindex(network.interface):
            return False
        return not network.dns_enabled or dns.running(self.config / "aardvark-dns")

    def detach(self, name: str) -> None:
        """Undo :meth:`attach`: interfaces, rules, DNS entries, leases and port reservations."""
        with self._serialised():
            self._detach(name)

    def _detach(self, name: str) -> None:
        attached = self.attached(name)
        if attached is None:
            return
        netns = Path(attached.netns)
        nets = [self.networks.get(n) for n in attached.options.get("networks", {}) if self.networks.exists(n)]
        try:
            if netns.exists():
                netavark.teardown(self.config, netns, attached.options)
        except BaseException:
            for network in nets:
                self._forget_made(network)
            raise
        self._release(name)
        _release_ports(self.root, name)
        self._attached_path(name).unlink(missing_ok=True)
        for network in nets:  # the last container gone: netavark removed the bridge and its rules
            if not self.users(network.name):
                self._forget_made(network)
        self._check_dns(nets)

    def _check_dns(self, nets: list[Network], changed: Sequence[str] = ()) -> None:
        """After a change, aardvark-dns must still answer on each network that has names: every
        container in ``changed`` (just attached) by its address, asked from every member's
        namespace, else (after a detach) any member left. Only members whose setup is done count:
        a container with a lease whose netavark setup has not run yet (another thread's attach in
        progress) has no name to find, and asking for it made a detach restart aardvark-dns and
        fail with "does not resolve ... even after a restart"."""
        for network in nets:
            if not network.dns_enabled:
                continue
            with self._leases() as leases:
                leased = dict(leases.get(network.name, {}).get("by_container", {}))
            members = {m: a for m, a in leased.items() if self._attached_path(m).exists()}
            if not members:
                continue
            wanted = [m for m in changed if m in members] or [sorted(members)[0]]
            askers: list[Path | None] = [
                Path(a.netns) for m in members if (a := self.attached(m)) is not None
            ]
            dns.ensure_answering(
                self.config,
                network.gateway,
                {m: str(members[m]) for m in wanted},
                netavark.aardvark(),
                askers=askers or [None],
            )

    def _release(self, name: str) -> None:
        with self._leases() as leases:
            for table in leases.values():
                if isinstance(table, dict):
                    table.get("by_container", {}).pop(name, None)

    def users(self, network: str) -> list[str]:
        """Containers attached to ``network`` now."""
        with self._leases() as leases:
            return sorted(leases.get(network, {}).get("by_container", {}))


class _Batch:
    """Attachments of one store's containers, made in batches (group commit).

    Every attachment runs under :meth:`Attacher._serialised`, and each used to end with its own
    DNS check from every member's namespace: ten containers of a compose level made ten netavark
    setups and ten check rounds in a row, the critical path of ``compose up`` (55 queries, and a
    query sent while aardvark-dns reloads waits for its timeout). Here the threads of one process
    queue their setups; whoever gets the batch lock takes the file lock once, runs every queued
    setup (netavark one at a time, as before), then ONE check round: each new member's name
    asked from every member's namespace on its networks, which is what the per-attach checks
    together asked, and more (a name attached early is asked from members attached after it).
    An attach returns only after the round that checked it, so a container still never starts
    before its name answers; a setup that fails, or a network whose names do not answer even
    after a restart, fails the attaches it concerns only.
    """

    _all: ClassVar[dict[str, _Batch]] = {}
    _made: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self.queue: list[_Job] = []
        self.mutex = threading.Lock()
        self.turn = threading.Lock()

    @classmethod
    def of(cls, run: Path) -> _Batch:
        with cls._made:
            return cls._all.setdefault(str(run), cls())

    def attach(self, attacher: Attacher, setup: Callable[[bool], Attached], nets: list[Network]) -> Attached:
        job = _Job(setup, nets)
        with self.mutex:
            self.queue.append(job)
        with self.turn:
            if not job.done:
                with self.mutex:
                    jobs, self.queue = self.queue, []
                self._run(attacher, jobs)
        if job.error is not None or job.result is None:
            raise job.error or NetworkError("network attachment was interrupted")
        return job.result

    @staticmethod
    def _run(attacher: Attacher, jobs: list[_Job]) -> None:
        try:
            with attacher._serialised():
                _Batch._setups(attacher, jobs)
                made = [j for j in jobs if j.result is not None]
                networks: dict[str, Network] = {}
                for job in made:
                    networks.update({n.name: n for n in job.nets})
                for network in networks.values():
                    names = [j.result.container for j in made if j.result and network in j.nets]
                    try:
                        attacher._check_dns([network], names)
                    except Exception as exc:  # fails only this network's attaches
                        for job in made:
                            if network in job.nets and job.error is None:
                                job.error = exc
        except BaseException as exc:  # the lock, or an interrupt: no job was checked
            for job in jobs:
                if job.error is None:
                    job.error = (
                        exc
                        if isinstance(exc, Exception)
                        else NetworkError("network attachment was interrupted")
                    )
            raise
        finally:
            for job in jobs:
                job.done = True

    @staticmethod
    def _setups(attacher: Attacher, jobs: list[_Job]) -> None:
        """Every job's netavark setup: one at a time while a job's network has no bridge and
        firewall yet (the first setup on a network makes them, see :func:`netavark.setup`),
        then all the others at once. One at a time, ten setups on one network took 1.2 s of
        ``compose up``; the first one alone is a third of that, and what the others do (a veth
        pair, the DNS entry, checks that find the rules there) overlaps well."""
        left = list(jobs)
        while left:
            ready = [j for j in left if all(attacher.made(n) for n in j.nets)]
            if len(ready) <= 1:
                job = ready[0] if ready else left[0]
                _Batch._setup(job, shared=False)
                left.remove(job)
                continue
            threads = [threading.Thread(target=_Batch._setup, args=(j, True)) for j in ready[1:]]
            for thread in threads:
                thread.start()
            try:
                _Batch._setup(ready[0], shared=True)
            finally:
                for thread in threads:
                    thread.join()
            left = [j for j in left if j not in ready]

    @staticmethod
    def _setup(job: _Job, shared: bool) -> None:
        try:
            job.result = job.setup(shared)
        except Exception as exc:  # handed to the job's own thread
            job.error = exc


@dataclass
class _Job:
    setup: Callable[[bool], Attached]
    nets: list[Network]
    result: Attached | None = None
    error: BaseException | None = None
    done: bool = False


def _pin_bridge_address(interface: str) -> None:
    """Give the bridge a fixed MAC address (its current one, assigned explicitly).

    A Linux bridge without an assigned address takes the lowest address of its ports, so it
    changes when a container leaves; the other containers keep the gateway's old address in their
    ARP caches and lose the gateway (and aardvark-dns on it) until the entries expire: for half a
    minute after any container on the network stopped, names did not resolve (measured here with
    netavark 1.4, which leaves the address to the kernel; later netavark versions pin it too).
    """
    sysfs = Path("/sys/class/net") / interface
    try:
        if (sysfs / "addr_assign_type").read_text().strip() == "3":  # NET_ADDR_SET: already pinned
            return
        address = (sysfs / "address").read_text().strip()
    except OSError:
        return
    subprocess.run(
        ["ip", "link", "set", "dev", interface, "address", address], capture_output=True, check=False
    )


def _ifindex(interface: str) -> str | None:
    """The interface's index ("12"), None when there is no such interface."""
    try:
        return (Path("/sys/class/net") / interface / "ifindex").read_text().strip()
    except OSError:
        return None


def _container_id(root: Path, name: str) -> str:
    return hashlib.sha256(f"{Path(root).resolve()}\0{name}".encode()).hexdigest()


def _lease(leases: dict[str, Any], network: Network, name: str, fixed: str | None) -> str:
    table = leases.setdefault(network.name, {"by_container": {}, "last": None})
    used = {v for k, v in table["by_container"].items() if k != name}
    subnet = ipaddress.ip_network(network.subnet, strict=False)
    if fixed:
        address = ipaddress.ip_address(fixed)
        if address not in subnet:
            raise NetworkError(f"ipv4_address {fixed} is not in network {network.name}'s subnet {subnet}")
        if fixed in used or fixed == network.gateway:
            raise NetworkError(f"ipv4_address {fixed} on network {network.name} is already in use")
        table["by_container"][name] = fixed
        return fixed
    for candidate in _after(subnet, table.get("last")):  # the next free one after the last handed out
        if candidate not in used and candidate != network.gateway:
            table["by_container"][name] = candidate
            table["last"] = candidate
            return candidate
    raise NetworkError(f"network {network.name} has no free address left in {subnet}")


def _after(subnet: ipaddress.IPv4Network | ipaddress.IPv6Network, last: str | None) -> Iterator[str]:
    """The subnet's host addresses, starting after ``last`` (when it is one) and wrapping round,
    made one at a time: listing a /24's 254 as strings for every lease was a tenth of a second of
    ``compose up`` for ten services."""
    if subnet.num_addresses <= 2:  # /31, /32: every address is a host
        hosts = [str(h) for h in subnet.hosts()]
        start = hosts.index(last) + 1 if last in hosts else 0
        yield from hosts[start:] + hosts[:start]
        return
    first, final = int(subnet.network_address) + 1, int(subnet.broadcast_address) - 1
    try:
        begin = int(ipaddress.ip_address(last)) + 1 if last else first
    except ValueError:
        begin = first
    if not first <= begin <= final:
        begin = first
    for value in itertools.chain(range(begin, final + 1), range(first, begin)):
        yield str(ipaddress.ip_address(value))


def _lease6(leases: dict[str, Any], network: Network, name: str, fixed: str | None) -> str:
    """An IPv6 address on the network: ``fixed``, else the next one after the last handed out (the
    subnet is a /64 or so: walked lazily, never listed)."""
    table = leases.setdefault(f"{network.name}#v6", {"by_container": {}, "last": None})
    used = {v for k, v in table["by_container"].items() if k != name}
    subnet = ipaddress.IPv6Network(str(network.ipv6_subnet), strict=False)
    gateway = ipaddress.IPv6Address(network.ipv6_gateway) if network.ipv6_gateway else subnet[1]
    if fixed:
        address = ipaddress.ip_address(fixed)
        if address not in subnet:
            raise NetworkError(f"ipv6_address {fixed} is not in network {network.name}'s subnet {subnet}")
        if str(address) in used or address == gateway:
            raise NetworkError(f"ipv6_address {fixed} on network {network.name} is already in use")
        table["by_container"][name] = str(address)
        return str(address)
    first, last = int(subnet.network_address) + 1, int(subnet.broadcast_address) - 1
    after = int(ipaddress.IPv6Address(table["last"])) + 1 if table.get("last") else first
    candidate = after if first <= after <= last else first
    for _ in range(min(last - first + 1, 1 << 20)):
        text = str(ipaddress.IPv6Address(candidate))
        if text not in used and ipaddress.IPv6Address(candidate) != gateway:
            table["by_container"][name] = table["last"] = text
            return text
        candidate = candidate + 1 if candidate < last else first
    raise NetworkError(f"network {network.name} has no free IPv6 address left in {subnet}")


# -- published ports -------------------------------------------------------------------------
@contextlib.contextmanager
def _host_ports() -> Iterator[dict[str, dict[str, str]]]:
    HOST_PORTS.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(HOST_PORTS.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        table = atomic.read_json(HOST_PORTS) or {}
        yield table  # holders whose store is gone stay until checked (see _stale) or pruned
        atomic.write_json(HOST_PORTS, table)
    finally:
        os.close(fd)


def _key(protocol: str, port: int) -> str:
    return f"{protocol}/{port}"


def _reserve_ports(root: Path, name: str, config: ContainerConfig, *, internal: bool) -> list[PublishedPort]:
    wanted = [p for p in config.ports if p.host is not None]
    if wanted and internal:
        raise NetworkError(f"{name}: ports cannot be published from an internal network")
    store = str(Path(root).resolve())
    out: list[PublishedPort] = []
    with _host_ports() as table:
        for mapping in wanted:
            host_ip = mapping.host_ip or ANY
            port = mapping.host or _ephemeral(table, mapping.protocol)
            holder = _stale(table, port, mapping.protocol, name)
            if holder is not None and not (holder["store"] == store and holder["container"] == name):
                raise NetworkError(
                    f"{name}: host port {port}/{mapping.protocol} is already published by container "
                    f"{holder['container']!r} (store {holder['store']})"
                )
            taken = _bound_by_other(host_ip, port, mapping.protocol)
            if taken:
                raise NetworkError(
                    f"{name}: host port {host_ip}:{port}/{mapping.protocol} is in use by {taken}"
                )
            table[_key(mapping.protocol, port)] = {"store": store, "container": name}
            out.append(PublishedPort(host_ip, port, mapping.container, mapping.protocol))
    return out


def _gone(holder: dict[str, str]) -> bool:
    return not Path(holder.get("store", "/nonexistent")).exists()


def _stale(table: dict[str, dict[str, str]], port: int, protocol: str, name: str) -> dict[str, str] | None:
    """The port's holder; one whose store was deleted is forgotten, unless netavark still forwards
    the port to it: that rule would win over the new one, so the publish fails saying how to clean."""
    key = _key(protocol, port)
    holder = table.get(key)
    if holder is None or not _gone(holder):
        return holder
    container = _container_id(Path(holder["store"]), holder.get("container", ""))
    if forwards.forwarded(container, port, protocol):
        raise NetworkError(
            f"{name}: host port {port}/{protocol} is still forwarded by netavark to container "
            f"{holder.get('container')!r} of the deleted store {holder['store']}: remove its stale "
            "rules with 'berth network prune'"
        )
    del table[key]
    return None


def prune_stale_ports() -> list[str]:
    """Remove netavark's forwarding rules of containers whose store was deleted while they ran,
    and forget their ports (``berth network prune``). Returns ``tcp/8080``-style names."""
    removed = []
    with _host_ports() as table:
        owners: dict[tuple[str, str], list[str]] = {}
        for key, holder in table.items():
            if _gone(holder):
                owners.setdefault((holder.get("store", ""), holder.get("container", "")), []).append(key)
        for (store, container), keys in owners.items():
            ports = [(int(k.split("/", 1)[1]), k.split("/", 1)[0]) for k in keys]
            forwards.remove(_container_id(Path(store), container), ports)
            for key in keys:
                del table[key]
                removed.append(key)
    return removed


def _release_ports(root: Path, name: str) -> None:
    store = str(Path(root).resolve())
    with _host_ports() as table:
        for key in [k for k, v in table.items() if v.get("store") == store and v.get("container") == name]:
            del table[key]


def _ephemeral(table: dict[str, dict[str, str]], protocol: str) -> int:
    for port in range(*EPHEMERAL):
        if _key(protocol, port) not in table and not _bound_by_other(ANY, port, protocol):
            return port
    raise NetworkError("no free ephemeral host port")


def _bound_by_other(host_ip: str, port: int, protocol: str) -> str:
    """'' if the port can be bound on the host, else who holds it ("process 123 (nginx)")."""
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    with socket.socket(family, kind) as sock:
        try:
            sock.bind((host_ip, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return ""
            return _holder(port, protocol) or "another process"
    return ""


def _holder(port: int, protocol: str) -> str:
    """The process listening on ``port``, found through /proc/net and the processes' sockets."""
    inodes = set()
    for table in (f"/proc/net/{protocol}", f"/proc/net/{protocol}6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as lines:
            next(lines, None)
            for line in lines:
                parts = line.split()
                if len(parts) > 9 and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(parts[9])
    if not inodes:
        return ""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        comm = Path(f"/proc/{pid}/comm").read_text().strip()
                        return f"process {pid} ({comm})"
    return ""
