"""The contents of a container's /etc/hosts, /etc/hostname and /etc/resolv.conf.

As docker writes them: on the host network, the host's hosts and resolv.conf; otherwise a fresh
hosts file (localhost and the container's own name) and the host's resolv.conf with loopback name
servers left out (they would point into the container), Google's public servers when none is left,
and the spec's servers, search domains and options replacing the host's when given. ``extra_hosts``
come first in hosts so that they win over anything else, as podman orders them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from translators.spec.network import NetworkConfig

HOST_HOSTS = Path("/etc/hosts")
HOST_RESOLV = Path("/etc/resolv.conf")
FALLBACK_SERVERS = ("8.8.8.8", "8.8.4.4")
DEFAULT_HOSTS = (
    "127.0.0.1\tlocalhost",
    "::1\tlocalhost ip6-localhost ip6-loopback",
    "fe00::0\tip6-localnet",
    "ff00::0\tip6-mcastprefix",
    "ff02::1\tip6-allnodes",
    "ff02::2\tip6-allrouters",
)


@dataclass(frozen=True)
class Resolv:
    servers: list[str] = field(default_factory=list)
    search: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"nameserver {s}" for s in self.servers]
        if self.search:
            lines.append("search " + " ".join(self.search))
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "".join(line + "\n" for line in lines)


def parse_resolv(text: str) -> Resolv:
    out = Resolv()
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if len(words) < 2:
            continue
        if words[0] == "nameserver":
            out.servers.append(words[1])
        elif words[0] in ("search", "domain"):
            out.search[:] = words[1:]
        elif words[0] == "options":
            out.options.extend(words[1:])
    return out


def _loopback(server: str) -> bool:
    return server.startswith("127.") or server in ("::1", "0:0:0:0:0:0:0:1")


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def resolv_conf(
    network: NetworkConfig,
    *,
    host_resolv: Path = HOST_RESOLV,
    network_servers: Sequence[str] = (),
    network_search: Sequence[str] = (),
) -> str | None:
    """resolv.conf for the container; None: none at all (network ``none`` without any DNS setting,
    as podman leaves it).

    ``network_servers``/``network_search``: what the container's networks serve names with
    (aardvark-dns on the gateway, its search domain); they come first, so container names
    resolve, and the spec's (else the host's) servers follow as fallbacks."""
    dns = network.dns
    if network.mode == "none" and not (dns.servers or dns.search or dns.options):
        return None
    host = parse_resolv(_read(host_resolv))
    servers = list(dns.servers) or list(network_servers) or list(host.servers)
    if network.mode != "host" and not dns.servers and not network_servers:
        servers = [s for s in servers if not _loopback(s)] or list(FALLBACK_SERVERS)
    if network_servers:
        # aardvark-dns forwards what it does not know to the host's servers itself
        servers = list(dict.fromkeys([*network_servers, *dns.servers]))
    return Resolv(
        servers=servers,
        search=list(dict.fromkeys([*network_search, *(list(dns.search) or host.search)])),
        options=list(dns.options) or host.options,
    ).render()


def hosts(
    network: NetworkConfig,
    hostname: str,
    *,
    aliases: Sequence[str] = (),
    addresses: Sequence[str] = (),
    host_hosts: Path = HOST_HOSTS,
) -> str:
    """/etc/hosts: extra hosts, then the base (the host's on the host network), then this container's
    names on its addresses (127.0.0.1 when it has none of its own)."""
    lines = []
    for entry in network.extra_hosts:
        name, _, address = entry.partition(":")
        lines.append(f"{address}\t{name}")
    if network.mode == "host":
        lines.extend(_read(host_hosts).splitlines())
    else:
        lines.extend(DEFAULT_HOSTS)
        names = " ".join(dict.fromkeys([hostname, *aliases]))
        for address in addresses or ["127.0.0.1"]:
            lines.append(f"{address}\t{names}")
    return "".join(line + "\n" for line in lines)


def hostname_file(hostname: str) -> str:
    return hostname + "\n"
