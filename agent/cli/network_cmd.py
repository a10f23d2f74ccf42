"""``berth network create|ls|inspect|rm|prune``: bridge networks as objects of the store.

Thin: definitions are kept by :class:`agent.network.networks.Networks`, attachments by
:class:`agent.network.attaching.Attacher`. A network is *in use* while a container is attached to it
(running) or a deployment's spec names it (bridge deployments without ``networks`` use the default
one): ``rm`` refuses it, naming them, and ``prune`` leaves it alone, as docker does for networks
with containers, stopped or not.
"""

from __future__ import annotations

import hashlib
import ipaddress
from pathlib import Path
from typing import Any

import click

from agent.cli.store_output import emit, handle_errors, root_of, store_options
from agent.runtime.paths import ENV_RUN_ROOT

_run_root_option = click.option(
    "--run-root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=ENV_RUN_ROOT,
    help="Runtime state directory (default /run/berth[/<store>]; env BERTH_RUN_ROOT).",
)

DRIVER_OPTS = ("mtu", "isolate")
"""Driver options netavark's bridge has and Berth passes on (isolate: true unless false)."""


@click.group()
def network() -> None:
    """Create, list, inspect and remove bridge networks."""


def _networks(root: Path | None) -> Any:
    from agent.network.networks import Networks

    return Networks(root_of(root))


def _attacher(root: Path | None, run_root: Path | None) -> Any:
    from agent.network.attaching import Attacher
    from agent.runtime.paths import RunPaths

    store_root = root_of(root)
    return Attacher(store_root, RunPaths.for_store(store_root, run_root).run)


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}", param_hint=what)
        out[key] = val
    return out


def _ula(seed: str) -> str:
    """A unique-local IPv6 /64 (fd00::/8) derived from the network's name and store."""
    digest = hashlib.sha256(seed.encode()).digest()
    return str(ipaddress.IPv6Network((b"\xfd" + digest[:7] + b"\0" * 8, 64)))


def _users(root: Path | None, run_root: Path | None, name: str) -> list[str]:
    """Containers attached to ``name`` now, then deployments whose spec names it."""
    from agent.network.networks import DEFAULT_NETWORK
    from agent.store import deploying
    from translators.errors import BerthError

    users = list(_attacher(root, run_root).users(name))
    try:
        deployments = deploying.Store.open(root_of(root), create=False).list()
    except BerthError:  # a store without deployments yet: none to name
        deployments = []
    for dep in deployments:
        net = dep.spec.config.network
        names = [a.name for a in net.networks] or ([DEFAULT_NETWORK] if net.mode == "bridge" else [])
        if name in names and dep.name not in users:
            users.append(dep.name)
    return users


def _row(net: Any, users: list[str]) -> dict[str, Any]:
    return {
        "name": net.name,
        "id": net.id[:12],
        "interface": net.interface,
        "subnet": ", ".join(s for s in (net.subnet, net.ipv6_subnet) if s),
        "gateway": net.gateway,
        "internal": net.internal,
        "dns": net.dns_enabled,
        "containers": len(users),
    }


@network.command()
@click.argument("name")
@click.option("--subnet", "subnets", multiple=True, help="CIDR (IPv4 and/or IPv6); default a free /24.")
@click.option("--gateway", help="IPv4 gateway (default: the subnet's first address).")
@click.option("--internal", is_flag=True, help="No route out of the network, no published ports.")
@click.option(
    "--ipv6", is_flag=True, help="Add an IPv6 subnet (a unique-local /64 unless --subnet gives one)."
)
@click.option("--disable-dns", is_flag=True, help="No aardvark-dns names on this network.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE")
@click.option(
    "--opt", "opts", multiple=True, metavar="KEY=VALUE", help="Driver options: mtu=N, isolate=true|false."
)
@click.option("-d", "--driver", default="bridge", show_default=True, type=click.Choice(["bridge"]))
@store_options
@handle_errors
def create(
    name: str,
    subnets: tuple[str, ...],
    gateway: str | None,
    internal: bool,
    ipv6: bool,
    disable_dns: bool,
    labels: tuple[str, ...],
    opts: tuple[str, ...],
    driver: str,
    root: Path | None,
    output: str,
) -> None:
    """Define a bridge network; its subnet and bridge name are reserved on the host at once."""
    from agent.network.errors import NetworkError

    v4: list[str] = []
    v6: list[str] = []
    for text in subnets:
        try:
            (v6 if ipaddress.ip_network(text, strict=False).version == 6 else v4).append(text)
        except ValueError as exc:
            raise NetworkError(f"--subnet {text!r}: not a CIDR subnet ({exc})") from exc
    if len(v4) > 1 or len(v6) > 1:
        raise NetworkError("--subnet: at most one IPv4 and one IPv6 subnet")
    driver_opts = _pairs(opts, "--opt")
    for key, value in driver_opts.items():
        if key not in DRIVER_OPTS:
            raise NetworkError(f"--opt {key}: unknown bridge option (known: {', '.join(DRIVER_OPTS)})")
        if key == "mtu" and not (value.isdigit() and 68 <= int(value) <= 65535):
            raise NetworkError(f"--opt mtu={value}: expected a number from 68 to 65535")
        if key == "isolate" and value not in ("true", "false"):
            raise NetworkError(f"--opt isolate={value}: expected true or false")
    store_root = root_of(root)
    ipv6_subnet = v6[0] if v6 else (_ula(f"{store_root.resolve()}\0{name}") if ipv6 else None)
    net = _networks(root).create(
        name,
        subnet=v4[0] if v4 else None,
        gateway=gateway,
        internal=internal,
        dns=not disable_dns,
        ipv6_subnet=ipv6_subnet,
        labels=_pairs(labels, "--label"),
        driver_opts=driver_opts,
    )
    if output == "json":
        emit(output, net.to_json())
    else:
        click.echo(net.name)


@network.command(name="ls")
@click.option("-q", "--quiet", is_flag=True, help="Names only.")
@_run_root_option
@store_options
@handle_errors
def ls(quiet: bool, run_root: Path | None, root: Path | None, output: str) -> None:
    """List the store's networks."""
    nets = _networks(root).list()
    if quiet:
        for net in nets:
            click.echo(net.name)
        return
    rows = [_row(net, _users(root, run_root, net.name)) for net in nets]
    emit(output, rows, ["name", "id", "interface", "subnet", "gateway", "internal", "dns", "containers"])


@network.command()
@click.argument("names", nargs=-1, required=True)
@_run_root_option
@store_options
@handle_errors
def inspect(names: tuple[str, ...], run_root: Path | None, root: Path | None, output: str) -> None:
    """Definition, attached containers and their addresses (JSON with ``-o json``)."""
    networks = _networks(root)
    attacher = _attacher(root, run_root)
    docs = []
    for name in names:
        net = networks.get(name)
        containers: dict[str, Any] = {}
        for key in attacher.users(name):
            attached = attacher.attached(key)
            for endpoint in attached.endpoints if attached is not None else ():
                if endpoint.network == name:
                    containers[key] = {
                        "ipv4": endpoint.ipv4,
                        "ipv6": endpoint.ipv6,
                        "mac": endpoint.mac,
                        "aliases": list(endpoint.aliases),
                    }
        docs.append({**net.to_json(), "containers": containers, "users": _users(root, run_root, name)})
    if output == "json":
        emit(output, docs if len(docs) > 1 else docs[0])
        return
    for doc in docs:
        emit(output, doc)


@network.command()
@click.argument("names", nargs=-1, required=True)
@_run_root_option
@store_options
@handle_errors
def rm(names: tuple[str, ...], run_root: Path | None, root: Path | None, output: str) -> None:
    """Remove networks no container is attached to and no deployment names."""
    from agent.network.errors import NetworkError

    networks = _networks(root)
    for name in names:  # all checked first: nothing is removed when one cannot be
        networks.get(name)  # a missing network is an error naming it
        users = _users(root, run_root, name)
        if users:
            raise NetworkError(f"network {name!r} is in use by {', '.join(users)}: stop or remove them first")
    removed = []
    for name in dict.fromkeys(names):
        networks.remove(name)
        removed.append(name)
    if output == "json":
        emit(output, {"removed": removed})
    else:
        for name in removed:
            click.echo(name)


@network.command()
@_run_root_option
@store_options
@handle_errors
def prune(run_root: Path | None, root: Path | None, output: str) -> None:
    """Remove every network no container is attached to and no deployment names, and the port
    forwarding rules netavark kept for containers whose store was deleted while they ran."""
    from agent.network.attaching import prune_stale_ports

    networks = _networks(root)
    removed = []
    for net in networks.list():
        if not _users(root, run_root, net.name):
            networks.remove(net.name)
            removed.append(net.name)
    stale = prune_stale_ports()
    if output == "json":
        emit(output, {"removed": removed, "stale_ports": stale})
    else:
        for name in removed:
            click.echo(name)
        for port in stale:
            click.echo(f"stale forward of host port {port} removed")
