"""Bridge networks through netavark and aardvark-dns: real namespaces, real iptables, real DNS.

We test these aspects: a published port answers on 127.0.0.1 and nothing is left after detach
(interfaces, rules, leases, port reservations, DNS entries); two containers find each other by name
and by alias; a re-attached container gets a new address and its name follows; a port held by
another process is a clear error naming it, with nothing set up; internal networks have no route out;
two networks are isolated from each other.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from agent.network.errors import NetworkError
from agent.store.deploying import build_spec
from tests.agent.network.conftest import BUSYBOX, Lab, free_port
from translators.spec.deployment import ContainerConfig


def _config(**config: object) -> ContainerConfig:
    return build_spec({"name": "x", "image": "busybox", "config": config}).config


def _fetch(url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - a test URL on loopback
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                return ""
            time.sleep(0.1)


def _lookup(
    lab: Lab, ns: Path, name: str, server: str, expect: str | None = None, *, timeout: float = 10.0
) -> str:
    """nslookup from inside ``ns``, retried as a resolver does while the server reloads its names."""
    deadline = time.monotonic() + timeout
    while True:
        proc = lab.in_ns(ns, BUSYBOX, "nslookup", name, server)
        if proc.returncode == 0 and "Address:" in proc.stdout.rsplit("Name:", 1)[-1]:
            found = proc.stdout.rsplit("Address:", 1)[1].split()[0]
            if expect is None or found == expect:
                return found
        if time.monotonic() > deadline:
            return proc.stdout + proc.stderr
        time.sleep(0.2)


def _resolve(lab: Lab, ns: Path, name: str, server: str) -> str:
    return _lookup(lab, ns, name, server)


def _wget_in(lab: Lab, ns: Path, url: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        proc = lab.in_ns(ns, BUSYBOX, "wget", "-q", "-O", "-", url)
        if proc.returncode == 0 or time.monotonic() > deadline:
            return proc.stdout
        time.sleep(0.1)


def _iptables() -> str:
    return "\n".join(
        subprocess.run(["iptables", "-t", table, "-S"], capture_output=True, text=True, check=True).stdout
        for table in ("nat", "filter")
    )


def test_published_port_answers_and_detach_leaves_nothing(lab: Lab) -> None:
    port = free_port()
    ns = lab.netns("web")
    attached = lab.attacher.attach("web", _config(ports=[f"127.0.0.1:{port}:80"]), ns)
    lab.serve(ns)
    assert _fetch(f"http://127.0.0.1:{port}/") == "hello from the namespace\n"
    (endpoint,) = attached.endpoints
    bridge = lab.networks.get("berth").interface
    assert Path(f"/sys/class/net/{bridge}").exists()
    cid = attached.options["container_id"]
    assert cid in _iptables()

    lab.attacher.detach("web")
    assert not Path(f"/sys/class/net/{bridge}").exists()
    assert cid not in _iptables()
    assert endpoint.ipv4 not in _iptables()
    assert lab.attacher.users("berth") == []
    assert lab.attacher.attached("web") is None
    assert _fetch(f"http://127.0.0.1:{port}/", timeout=0.5) == ""
    assert f"tcp/{port}" not in json.loads(Path("/run/berth/host-ports.json").read_text())


def test_names_and_aliases_resolve_and_follow_a_restart(lab: Lab) -> None:
    lab.networks.create("proj_default")
    server, client = lab.netns("server"), lab.netns("client")
    cfg = _config(network={"networks": [{"name": "proj_default", "aliases": ["api"]}]})
    first = lab.attacher.attach("server", cfg, server, aliases=["svc"])
    lab.attacher.attach("client", _config(network={"networks": ["proj_default"]}), client)
    lab.serve(server)
    gateway = lab.networks.get("proj_default").gateway
    for name in ("server", "svc", "api"):
        assert _lookup(lab, client, name, gateway, first.endpoints[0].ipv4) == first.endpoints[0].ipv4
    # the client's resolver is the host's (nsenter changes only the network namespace): resolve
    # through aardvark-dns as the container would, then connect over the bridge
    address = _resolve(lab, client, "api", gateway)
    assert _wget_in(lab, client, f"http://{address}/") == "hello from the namespace\n"

    lab.attacher.detach("server")
    second = lab.attacher.attach("server", cfg, server, aliases=["svc"])
    assert second.endpoints[0].ipv4 != first.endpoints[0].ipv4
    assert _lookup(lab, client, "svc", gateway, second.endpoints[0].ipv4) == second.endpoints[0].ipv4


def test_port_held_by_a_process_is_named_and_nothing_is_set_up(lab: Lab) -> None:
    port = free_port()
    listen = f"import socket,time; s=socket.socket(); s.bind(('127.0.0.1',{port})); s.listen(); print(1, flush=True); time.sleep(60)"
    holder = subprocess.Popen([sys.executable, "-c", listen], stdout=subprocess.PIPE)
    lab.procs.append(holder)
    assert holder.stdout is not None and holder.stdout.readline()
    ns = lab.netns("late")
    with pytest.raises(
        NetworkError, match=rf"127.0.0.1:{port}/tcp is in use by process {holder.pid} \(python"
    ):
        lab.attacher.attach("late", _config(ports=[f"127.0.0.1:{port}:80"]), ns)
    assert lab.attacher.attached("late") is None
    assert lab.attacher.users("berth") == []


def test_port_published_by_another_container_is_refused(lab: Lab) -> None:
    port = free_port()
    lab.attacher.attach("one", _config(ports=[f"127.0.0.1:{port}:80"]), lab.netns("one"))
    with pytest.raises(NetworkError, match=f"host port {port}/tcp is already published by container 'one'"):
        lab.attacher.attach("two", _config(ports=[f"127.0.0.1:{port}:80"]), lab.netns("two"))
    assert lab.attacher.attached("one") is not None


def test_internal_network_has_no_route_out_and_networks_are_isolated(lab: Lab) -> None:
    lab.networks.create("inner", internal=True)
    lab.networks.create("other")
    a, b = lab.netns("a"), lab.netns("b")
    lab.attacher.attach("a", _config(network={"networks": ["inner"]}), a)
    attached_b = lab.attacher.attach("b", _config(network={"networks": ["other"]}), b)
    routes = lab.in_ns(a, "ip", "route").stdout
    assert "default" not in routes
    lab.serve(b)
    reach = lab.in_ns(a, BUSYBOX, "nc", "-w", "2", attached_b.endpoints[0].ipv4, "80")
    assert reach.returncode != 0


def test_concurrent_attaches_answer_every_name_from_every_member_on_return(lab: Lab) -> None:
    """Attaches of one process are made in batches with one DNS round (attaching._Batch): when
    each returns, its name answers at once from every member attached so far, and when all have
    returned every name answers from every member."""
    from agent.network import dns

    lab.networks.create("batch_default")
    gateway = lab.networks.get("batch_default").gateway
    cfg = _config(network={"networks": ["batch_default"]})
    names = [f"b{i}" for i in range(6)]
    spaces = {name: lab.netns(name) for name in names}
    attached = {}
    late: list[str] = []

    def attach(name: str) -> None:
        attached[name] = lab.attacher.attach(name, cfg, spaces[name])
        address = attached[name].endpoints[0].ipv4
        if address not in dns.query(gateway, name, 1.0, netns=spaces[name]):
            late.append(name)

    threads = [threading.Thread(target=attach, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(attached) == names and late == []
    for asker in names:
        for name in names:
            assert dns.query(gateway, name, 1.0, netns=spaces[asker]) == [attached[name].endpoints[0].ipv4]


def test_a_detach_does_not_ask_for_a_member_whose_setup_has_not_run(lab: Lab) -> None:
    """A lease taken by an attach in progress (its netavark setup not run yet) is no name to ask
    for: the detach of another member used to pick it, restart aardvark-dns and fail with "does
    not resolve ... even after a restart" (seen in `up -d --force-recreate` of two services)."""
    from agent.network import dns

    lab.networks.create("race_default")
    gateway = lab.networks.get("race_default").gateway
    cfg = _config(network={"networks": ["race_default"]})
    keeper_ns = lab.netns("keeper")
    keeper = lab.attacher.attach("keeper", cfg, keeper_ns)
    lab.attacher.attach("leaving", cfg, lab.netns("leaving"))
    planned, finish = lab.attacher.attach_deferred("a-pending", cfg, lab.netns("a-pending"))
    began = time.monotonic()
    lab.attacher.detach("leaving")  # sorted first among the leases: "a-pending"
    assert time.monotonic() - began < 2.0  # no restart of aardvark-dns either
    done = finish()
    assert done.endpoints[0].ipv4 == planned.endpoints[0].ipv4
    for name, address in (("keeper", keeper.endpoints[0].ipv4), ("a-pending", planned.endpoints[0].ipv4)):
        assert dns.query(gateway, name, 1.0, netns=keeper_ns) == [address]


def test_setups_after_the_first_on_a_network_run_side_by_side_and_all_work(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first setup on a network makes its bridge, firewall and aardvark-dns alone; the setups
    queued behind it then run at once (attaching._Batch._setups). Every container still gets its
    address, its published port, its name from every member, and netavark's rules are not doubled
    by two setups that both found one missing."""
    from agent.network import dns, netavark

    spans: list[tuple[float, float, bool]] = []
    real_setup = netavark.setup

    def timed(
        config: Path, ns: Path, options: dict[str, object], *, shared: bool = False
    ) -> dict[str, object]:
        began = time.monotonic()
        try:
            return real_setup(config, ns, options, shared=shared)
        finally:
            spans.append((began, time.monotonic(), shared))

    monkeypatch.setattr(netavark, "setup", timed)
    lab.networks.create("side_default")
    network = lab.networks.get("side_default")
    cfg = _config(network={"networks": ["side_default"]})
    names = [f"s{i}" for i in range(6)]
    ports = {name: free_port() for name in names[:3]}
    spaces = {name: lab.netns(name) for name in names}
    finishes = []
    for name in names:  # all planned before any setup runs, as compose's threads queue them
        config = (
            _config(network={"networks": ["side_default"]}, ports=[f"127.0.0.1:{ports[name]}:80"])
            if name in ports
            else cfg
        )
        finishes.append(lab.attacher.attach_deferred(name, config, spaces[name])[1])
    results = {}

    def finish(index: int) -> None:
        results[names[index]] = finishes[index]()

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == names
    assert lab.attacher.made(network)
    first = min(spans)
    assert not first[2]  # the first setup on the fresh network went alone
    shared = [s for s in spans if s[2]]
    assert shared and all(s[0] >= first[1] for s in shared)
    assert any(a[0] < b[1] and b[0] < a[1] for a in shared for b in shared if a is not b), spans

    for name in names:
        lab.serve(spaces[name])
    for name, port in ports.items():
        assert _fetch(f"http://127.0.0.1:{port}/") == "hello from the namespace\n", name
    for asker in names:
        for name in names:
            assert dns.query(network.gateway, name, 1.0, netns=spaces[asker]) == [
                results[name].endpoints[0].ipv4
            ]
    assert (
        _wget_in(lab, spaces["s5"], f"http://{results['s0'].endpoints[0].ipv4}/")
        == "hello from the namespace\n"
    )
    rules = [line for line in _iptables().splitlines() if line.startswith("-A")]
    doubled = {line for line in rules if rules.count(line) > 1 and network.subnet in line}
    assert not doubled

    for name in names:
        lab.attacher.detach(name)
    assert not lab.attacher.made(network)  # the bridge went with the last container
    assert network.subnet not in _iptables()
