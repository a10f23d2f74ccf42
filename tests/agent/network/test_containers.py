"""Networks end to end: real containers (runc under conmon) started by the Engine on netavark
bridges, names from aardvark-dns, ports through iptables.

We test these aspects: a published port (fixed and random) answers on the host and is shown by
``container port``; resolv.conf names aardvark-dns and extra_hosts land in /etc/hosts; a client
fetches from a server by deployment name, compose service and alias, and again after the server
restarted with a new address; a pod group talks over localhost and publishes a port; an internal
network has no route out and two networks are isolated; a port conflict is a clear error and the
holder keeps serving; 20 start/stop cycles leave nothing behind (each kind of leftover counted).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.demo.image import PAGE, build_demo_layout
from agent.network.errors import NetworkError
from agent.network.networks import Networks
from agent.runtime.engine import Engine
from agent.runtime.execing import Exec
from agent.store.deploying import build_spec
from agent.store.records import Owner
from tests.agent.network.conftest import free_port

pytestmark = pytest.mark.skipif(shutil.which("runc") is None, reason="runc is needed")


@pytest.fixture(scope="module")
def layout() -> Iterator[Path]:
    base = Path("/dev/shm") / f"berth-netimg-{uuid.uuid4().hex[:8]}"
    build_demo_layout(base)
    yield base
    shutil.rmtree(base, ignore_errors=True)


class Host:
    """One store and its engine; every deployment, attachment and network removed afterwards."""

    def __init__(self, base: Path, layout: Path) -> None:
        self.base = base
        self.root = base / "store"
        self.root.mkdir(parents=True)
        self.run = base / "run"
        self.image = f"oci:{layout}:latest"
        self.engine = Engine(self.root, self.run)
        self.networks = Networks(self.root)

    def deploy(
        self, name: str, config: dict[str, Any], *, owner: Owner | None = None, start: bool = True
    ) -> None:
        spec = build_spec({"name": name, "image": self.image, "config": config})
        self.engine.deploy(spec, owner=owner or Owner(kind="cli"), start=False)
        if start:
            self.engine.start(name)

    def exec(self, name: str, *argv: str, timeout: float = 10.0) -> tuple[int | None, str]:
        got = Exec(self.engine.containers).captured(name, list(argv), timeout=timeout)
        return got.exit_code, got.output.decode(errors="replace")

    def fetch_in(self, name: str, url: str, *, within: float = 15.0) -> str:
        """``wget`` inside ``name``, retried while names and routes settle."""
        deadline = time.monotonic() + within
        while True:
            code, out = self.exec(name, "wget", "-q", "-O", "-", url, timeout=5.0)
            if code == 0 or time.monotonic() > deadline:
                return out if code == 0 else ""
            time.sleep(0.2)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            for dep in self.engine.store().list():
                with contextlib.suppress(Exception):
                    self.engine.remove(dep.name)
        for path in (self.run / "networks" / "attached").glob("*.json"):
            with contextlib.suppress(Exception):
                self.engine.attacher.detach(path.stem)
        for network in self.networks.list():
            with contextlib.suppress(Exception):
                self.networks.remove(network.name)


@pytest.fixture
def host(layout: Path) -> Iterator[Host]:
    base = Path("/dev/shm") / f"berth-netctr-{uuid.uuid4().hex[:8]}"
    made = Host(base, layout)
    try:
        yield made
    finally:
        made.close()
        shutil.rmtree(base, ignore_errors=True)


def _fetch(url: str, within: float = 10.0) -> str:
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - a test URL on loopback
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                return ""
            time.sleep(0.05)


HTTPD = ["httpd", "-f", "-p", "80", "-h", "/srv/www"]
SLEEP = ["sleep", "600"]


def test_published_ports_answer_and_etc_files(host: Host) -> None:
    port = free_port()
    host.deploy(
        "web",
        {
            "cmd": HTTPD,
            "ports": [f"127.0.0.1:{port}:80", {"container": 80, "host": 0, "host_ip": "127.0.0.1"}],
            "network": {"extra_hosts": ["db.example:10.1.2.3"]},
        },
    )
    assert _fetch(f"http://127.0.0.1:{port}/") == PAGE.decode()

    shown = subprocess.run(
        [sys.executable, "-m", "agent", "container", "port", "web", "-o", "json"],
        env={
            "BERTH_ROOT": str(host.root),
            "BERTH_RUN_ROOT": str(host.run),
            "PATH": "/usr/sbin:/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    ports = json.loads(shown.stdout)
    assert {p["host_port"] for p in ports} >= {port}
    (random,) = [p["host_port"] for p in ports if p["host_port"] != port]
    assert 32768 <= random <= 60999
    assert _fetch(f"http://127.0.0.1:{random}/") == PAGE.decode()

    gateway = host.networks.get("berth").gateway
    _, resolv = host.exec("web", "cat", "/etc/resolv.conf")
    assert resolv.splitlines()[0] == f"nameserver {gateway}"
    _, hosts = host.exec("web", "cat", "/etc/hosts")
    assert "10.1.2.3\tdb.example" in hosts.splitlines()
    address = host.engine.status("web").addresses["berth"]
    assert any(line.startswith(f"{address}\t") and "web" in line for line in hosts.splitlines())


def test_names_aliases_and_a_restarted_server(host: Host) -> None:
    host.networks.create("proj_default")
    net = {"networks": [{"name": "proj_default", "aliases": ["api"]}]}
    host.deploy(
        "proj-web-1",
        {"cmd": HTTPD, "network": net},
        owner=Owner(kind="compose", project="proj", service="web"),
    )
    host.deploy(
        "proj-client-1",
        {"cmd": SLEEP, "network": {"networks": ["proj_default"]}},
        owner=Owner(kind="compose", project="proj", service="client"),
    )
    for name in ("proj-web-1", "web", "api"):
        assert host.fetch_in("proj-client-1", f"http://{name}/") == PAGE.decode(), name

    before = host.engine.status("proj-web-1").addresses["proj_default"]
    host.engine.stop("proj-web-1", timeout=0)
    host.engine.start("proj-web-1")
    after = host.engine.status("proj-web-1").addresses["proj_default"]
    assert after != before
    for name in ("web", "api"):
        assert host.fetch_in("proj-client-1", f"http://{name}/") == PAGE.decode(), name


def test_pod_group_over_localhost_with_a_published_port(host: Host) -> None:
    port = free_port()
    host.deploy(
        "pod-web",
        {
            "cmd": ["httpd", "-f", "-p", "8080", "-h", "/srv/www"],
            "group": "pod1",
            "ports": [f"127.0.0.1:{port}:8080"],
        },
    )
    host.deploy("pod-side", {"cmd": SLEEP, "group": "pod1"})
    assert host.fetch_in("pod-side", "http://127.0.0.1:8080/") == PAGE.decode()
    assert _fetch(f"http://127.0.0.1:{port}/") == PAGE.decode()
    assert host.engine.status("pod-side").ports == host.engine.status("pod-web").ports
    host.engine.stop("pod-side", timeout=0)  # the group's namespace stays while a member runs
    assert _fetch(f"http://127.0.0.1:{port}/") == PAGE.decode()


def test_internal_has_no_route_out_and_networks_are_isolated(host: Host) -> None:
    host.networks.create("inner", internal=True)
    host.networks.create("outer")
    host.networks.create("other")
    host.deploy("in-1", {"cmd": SLEEP, "network": {"networks": ["inner"]}})
    host.deploy("out-1", {"cmd": SLEEP, "network": {"networks": ["outer"]}})
    host.deploy("srv-1", {"cmd": HTTPD, "network": {"networks": ["other"]}})

    def default_route(name: str) -> bool:
        _, table = host.exec(name, "cat", "/proc/net/route")
        return any(line.split()[1:2] == ["00000000"] for line in table.splitlines()[1:])

    assert not default_route("in-1")
    assert default_route("out-1")
    server = host.engine.status("srv-1").addresses["other"]
    code, _ = host.exec("out-1", "wget", "-q", "-O", "-", f"http://{server}/", timeout=4.0)
    assert code != 0
    code, _ = host.exec("in-1", "wget", "-q", "-O", "-", f"http://{server}/", timeout=4.0)
    assert code != 0


def test_port_conflict_is_clear_and_the_holder_untouched(host: Host) -> None:
    port = free_port()
    host.deploy("first", {"cmd": HTTPD, "ports": [f"127.0.0.1:{port}:80"]})
    host.deploy("second", {"cmd": HTTPD, "ports": [f"127.0.0.1:{port}:80"]}, start=False)
    with pytest.raises(
        NetworkError, match=f"second: host port {port}/tcp is already published by container 'first'"
    ):
        host.engine.start("second")
    assert host.engine.status("second").state != "running"
    assert host.engine.attacher.attached("second") is None
    assert host.engine.status("first").state == "running"
    assert _fetch(f"http://127.0.0.1:{port}/") == PAGE.decode()


def _iptables() -> str:
    return "\n".join(
        subprocess.run(["iptables", "-t", t, "-S"], capture_output=True, text=True, check=True).stdout
        for t in ("nat", "filter")
    )


def test_twenty_cycles_leave_nothing_behind(host: Host) -> None:
    port = free_port()
    host.networks.create("cyc")
    host.deploy(
        "cyc-web", {"cmd": HTTPD, "ports": [f"127.0.0.1:{port}:80"], "network": {"networks": ["cyc"]}}
    )
    net = host.networks.get("cyc")
    cid = host.engine.attacher.attached("cyc-web").options["container_id"]  # type: ignore[union-attr]
    addresses = set()
    for _ in range(20):
        addresses.add(host.engine.status("cyc-web").addresses["cyc"])
        assert _fetch(f"http://127.0.0.1:{port}/") == PAGE.decode()
        host.engine.stop("cyc-web", timeout=0)
        host.engine.start("cyc-web")
    host.engine.stop("cyc-web", timeout=0)
    assert len(addresses) == 20  # each start leased a new address

    leftovers = {
        "bridge": int(Path(f"/sys/class/net/{net.interface}").exists()),
        "veths on the bridge": len(list(Path(f"/sys/class/net/{net.interface}/brif").glob("*"))),
        "iptables rules (container id)": _iptables().count(cid[:12]),
        "iptables rules (subnet)": _iptables().count(net.subnet),
        "iptables rules (bridge)": _iptables().count(f" {net.interface} "),
        "leases": len(json.loads((host.run / "networks" / "leases.json").read_text())["cyc"]["by_container"]),
        "port reservations": sum(
            1
            for v in json.loads(Path("/run/berth/host-ports.json").read_text()).values()
            if v.get("store") == str(host.root.resolve())
        ),
        "aardvark entries": sum(
            len(p.read_text().splitlines())
            for p in (host.run / "networks" / "netavark" / "aardvark-dns").glob("cyc")
        ),
        "netns files": len(list((host.run / "netns").glob("*"))),
        "attachments": len(list((host.run / "networks" / "attached").glob("*.json"))),
    }
    assert leftovers == dict.fromkeys(leftovers, 0)
    assert _fetch(f"http://127.0.0.1:{port}/", within=0.3) == ""


def test_a_failing_network_setup_leaves_nothing(host: Host) -> None:
    # netavark's setup runs while runc creates the container; when it fails, start fails with it
    host.networks.create("broken", driver_opts={"mtu": "lots"})
    port = free_port()
    host.deploy(
        "nope",
        {"cmd": HTTPD, "ports": [f"127.0.0.1:{port}:80"], "network": {"networks": ["broken"]}},
        start=False,
    )
    with pytest.raises(NetworkError, match="netavark setup for nope"):
        host.engine.start("nope")
    assert host.engine.status("nope").state != "running"
    assert host.engine.container("nope") is None
    assert host.engine.attacher.attached("nope") is None
    assert host.engine.attacher.users("broken") == []
    assert not (host.run / "netns" / "nope").exists()
    ports = json.loads(Path("/run/berth/host-ports.json").read_text())
    assert f"tcp/{port}" not in ports


def test_ipv6_network_gives_addresses_that_answer(host: Host) -> None:
    host.networks.create("dual", ipv6_subnet="fd42:7b:1e:5::/64")
    net = {"networks": [{"name": "dual", "ipv6_address": "fd42:7b:1e:5::80"}]}
    host.deploy("v6-web", {"cmd": HTTPD, "network": net})
    host.deploy("v6-client", {"cmd": SLEEP, "network": {"networks": ["dual"]}})
    attached = host.engine.attacher.attached("v6-client")
    assert attached is not None and attached.endpoints[0].ipv6 == "fd42:7b:1e:5::2"
    _, inet6 = host.exec("v6-web", "cat", "/proc/net/if_inet6")
    assert "fd42007b001e00050000000000000080" in inet6
    assert host.fetch_in("v6-client", "http://[fd42:7b:1e:5::80]/") == PAGE.decode()
    host.engine.stop("v6-client", timeout=0)
    leases = json.loads((host.run / "networks" / "leases.json").read_text())
    assert leases["dual#v6"]["by_container"] == {"v6-web": "fd42:7b:1e:5::80"}
