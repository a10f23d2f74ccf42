"""Starting deployments: Berth's Engine next to raw ``runc run`` of the same bundle and ``podman run``.

Three cases, each with its peers in this script (absolute times are noisy on 2 shared cores: the
ratios are the figures), medians of ``--reps`` repetitions, every repetition on fresh names:

1. **deploy to first answer** (host network, busybox httpd of the demo image, already pulled):
   Berth ``Engine.deploy(start=False)`` + ``Engine.start`` until the port answers, next to
   ``runc run -d`` of a copy of the bundle Berth wrote (rootfs overlay already mounted: the peer
   only starts) and ``podman run -d --network host``. ``deploy`` with its SETTLE wait (the Engine
   watches a new version for ``BERTH_SETTLE`` s before calling it up) is shown apart: it is a
   deliberate wait, not start cost.
2. **10 containers** (``sleep``, network none) started one after another: ``Engine.start`` of 10
   staged deployments, ``runc run -d`` of 10 bundles, ``podman run -d --network none``.
3. **bridge, start to first answer with a published port**: ``Engine.start`` of a deployment with
   ``127.0.0.1:PORT:80`` on the default network (netavark setup, aardvark-dns) until
   ``127.0.0.1:PORT`` answers, next to ``podman run -d -p 127.0.0.1:PORT:80`` on a podman network of
   its own (scratch config dir, so podman's own networks on this host are untouched).

Targets: Berth's start overhead over raw runc < 100 ms per container, 10 containers < 1 s (issue 6);
bridge start not slower than podman's (issue 7). ``--profile`` prints where one bridge start spends
its time (cProfile, cumulative).

Run: PYTHONPATH=. .venv/bin/python benchmarks/start.py [--reps 5] [--many 10] [--profile]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import ipaddress
import json
import os
import pstats
import shutil
import socket
import statistics
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.demo.image import build_demo_layout
from agent.runtime import cgroups, overlays
from agent.runtime.engine import Engine
from agent.store.deploying import build_spec
from agent.store.records import Owner

CONTAINERS_CONF = """\
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
network_config_dir = "{networks}"
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answer(port: int, timeout: float = 20.0) -> None:
    """Poll until http://127.0.0.1:PORT/ answers (what a client waiting for the service sees)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as got:
                got.read()
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing answered on 127.0.0.1:{port} within {timeout} s") from None
            time.sleep(0.005)


class Podman:
    """podman with a scratch store and network config dir (CONTAINERS_CONF as in peers-here.md)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        (base / "networks").mkdir(parents=True)
        conf = base / "containers.conf"
        conf.write_text(CONTAINERS_CONF.format(networks=base / "networks"))
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}
        self.flags = [
            "--root",
            str(base / "root"),
            "--runroot",
            str(base / "runroot"),
            "--tmpdir",
            str(base / "tmp"),
        ]
        self.network = f"bench{uuid.uuid4().hex[:6]}"

    def __call__(self, *args: str) -> str:
        proc = subprocess.run(
            ["podman", *self.flags, *args], env=self.env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"podman {' '.join(args[:3])}: {proc.stderr.strip()}")
        return proc.stdout.strip()

    def setup(self, layout: Path) -> str:
        image = self("pull", "-q", f"oci:{layout}:latest").splitlines()[-1]
        taken = [ipaddress.ip_network(r["dst"]) for r in _routes() if r.get("dst", "default") != "default"]
        for third in range(200, 255):
            subnet = ipaddress.ip_network(f"10.91.{third}.0/24")
            if not any(subnet.overlaps(t) for t in taken):
                break
        self("network", "create", "--subnet", str(subnet), self.network)
        return image

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self("rm", "-a", "-f", "-t", "0")
        with contextlib.suppress(RuntimeError):
            self("network", "rm", "-f", self.network)
        with contextlib.suppress(RuntimeError):
            self("system", "reset", "-f")


def _routes() -> list[dict[str, Any]]:
    out = subprocess.run(["ip", "-j", "route"], capture_output=True, text=True, check=True).stdout
    return list(json.loads(out or "[]"))


class Runc:
    """``runc run -d`` of copies of bundles Berth wrote: same runtime spec, own overlay and cgroup."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "runc-state"
        self.ids: list[str] = []
        self.mounts: list[Path] = []

    def bundle_like(self, engine: Engine, name: str, ident: str) -> Path:
        """A bundle with Berth's config.json for ``name`` (the container must exist): its run-dir
        files copied, its rootfs an overlay of the deployment's lower tree on a fresh upper."""
        source = engine.paths.bundle(name)
        run_dir = engine.paths.container(name)
        bundle = self.base / "bundles" / ident
        files = bundle / "files"
        files.mkdir(parents=True)
        config = json.loads((source / "config.json").read_text())
        for mount in config.get("mounts", []):
            src = str(mount.get("source", ""))
            if src.startswith(str(run_dir) + "/"):
                copy = files / Path(src).relative_to(run_dir)
                copy.parent.mkdir(parents=True, exist_ok=True)
                if Path(src).is_dir():
                    shutil.copytree(src, copy, dirs_exist_ok=True)
                else:
                    shutil.copy2(src, copy)
                mount["source"] = str(copy)
        config["root"]["path"] = str(bundle / "rootfs")
        config["linux"]["cgroupsPath"] = f"/berth-bench-runc/{ident}"
        config["process"]["terminal"] = False
        namespaces = config["linux"].get("namespaces", [])
        config["linux"]["namespaces"] = [
            n for n in namespaces if not (n["type"] == "network" and n.get("path"))
        ]
        (bundle / "config.json").write_text(json.dumps(config))
        deployment = engine.store().get(name)
        overlays.mount(deployment.rootfs, bundle / "upper", bundle / "work", bundle / "rootfs")
        self.mounts.append(bundle / "rootfs")
        return bundle

    def run(self, bundle: Path, ident: str) -> None:
        self.ids.append(ident)
        subprocess.run(
            ["runc", "--root", str(self.root), "run", "-d", "-b", str(bundle), ident],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def close(self) -> None:
        for ident in self.ids:
            subprocess.run(
                ["runc", "--root", str(self.root), "delete", "-f", ident], capture_output=True, check=False
            )
        for target in self.mounts:
            with contextlib.suppress(OSError):
                overlays.unmount(target)
        cgroups.remove("/berth-bench-runc")


class Berth:
    def __init__(self, base: Path, layout: Path) -> None:
        (base / "store").mkdir(parents=True)
        self.engine = Engine(base / "store", base / "run")
        self.image = f"oci:{layout}:latest"
        self.names: list[str] = []

    def stage(self, name: str, config: dict[str, Any]) -> None:
        spec = build_spec({"name": name, "image": self.image, "config": config})
        self.engine.deploy(spec, owner=Owner(kind="cli"), start=False)
        self.names.append(name)

    def deploy(self, name: str, config: dict[str, Any]) -> None:
        spec = build_spec({"name": name, "image": self.image, "config": config})
        self.names.append(name)
        self.engine.deploy(spec, owner=Owner(kind="cli"))

    def clear(self) -> None:
        for name in self.names:
            with contextlib.suppress(Exception):
                self.engine.remove(name)
        self.names.clear()

    def close(self) -> None:
        self.clear()
        for network in self.engine.attacher.networks.list():
            with contextlib.suppress(Exception):
                self.engine.attacher.networks.remove(network.name)


def httpd(port: int) -> list[str]:
    return ["httpd", "-f", "-p", str(port), "-h", "/srv/www"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--many", type=int, default=10)
    parser.add_argument("--profile", action="store_true", help="cProfile one bridge start")
    args = parser.parse_args()
    base = Path("/dev/shm") / f"berth-bench-start-{uuid.uuid4().hex[:8]}"  # podman names the image after it
    base.mkdir()
    build_demo_layout(base / "layout")
    berth = Berth(base / "berth", base / "layout")
    runc = Runc(base / "runc")
    podman = Podman(base / "podman")
    results: dict[str, list[float]] = {}

    @contextlib.contextmanager
    def clock(key: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        results.setdefault(key, []).append(time.perf_counter() - started)

    try:
        image = podman.setup(base / "layout")
        berth.stage("warm", {"cmd": ["true"]})  # pulls the image into the store once, untimed
        for rep in range(args.reps):
            # 1. deploy to first answer, host network
            port = free_port()
            name = f"host{rep}"
            with clock("berth deploy(stage) + start -> answer"):
                berth.stage(name, {"cmd": httpd(port), "network": {"mode": "host"}})
                with clock("berth start -> answer"):
                    berth.engine.start(name)
                    answer(port)
            bundle = runc.bundle_like(berth.engine, name, f"r{rep}")
            berth.clear()
            with clock("runc run -d -> answer"):
                runc.run(bundle, f"r{rep}")
                answer(port)
            runc.close()
            port = free_port()
            with clock("podman run -d --network host -> answer"):
                podman("run", "-d", "--network", "host", image, *httpd(port))
                answer(port)
            podman("rm", "-a", "-f", "-t", "0")
            port = free_port()
            with clock(f"berth deploy (with SETTLE {os.environ.get('BERTH_SETTLE', '1.0')} s)"):
                berth.deploy(f"full{rep}", {"cmd": httpd(port), "network": {"mode": "host"}})
            berth.clear()

            # 2. many containers, network none
            names = [f"m{rep}x{i}" for i in range(args.many)]
            for each in names:
                berth.stage(each, {"cmd": ["sleep", "600"], "network": {"mode": "none"}})
            with clock(f"berth start x{args.many}"):
                for each in names:
                    berth.engine.start(each)
            bundles = [runc.bundle_like(berth.engine, n, f"{n}r") for n in names]
            berth.clear()
            with clock(f"runc run -d x{args.many}"):
                for bundle in bundles:
                    runc.run(bundle, bundle.name)
            runc.close()
            with clock(f"podman run -d --network none x{args.many}"):
                for _ in names:
                    podman("run", "-d", "--network", "none", image, "sleep", "600")
            podman("rm", "-a", "-f", "-t", "0")

            # 3. bridge with a published port
            port = free_port()
            name = f"br{rep}"
            berth.stage(name, {"cmd": httpd(80), "ports": [f"127.0.0.1:{port}:80"]})
            with clock("berth start bridge -p -> answer"):
                berth.engine.start(name)
                answer(port)
            with clock("berth stop bridge"):
                berth.engine.stop(name, timeout=0)
            berth.clear()
            port = free_port()
            with clock("podman run -d -p -> answer"):
                podman(
                    "run", "-d", "--network", podman.network, "-p", f"127.0.0.1:{port}:80", image, *httpd(80)
                )
                answer(port)
            with clock("podman stop bridge"):
                podman("stop", "-a", "-t", "0")
            podman("rm", "-a", "-f", "-t", "0")
        if args.profile:
            port = free_port()
            berth.stage("prof", {"cmd": httpd(80), "ports": [f"127.0.0.1:{port}:80"]})
            profile = cProfile.Profile()
            profile.enable()
            berth.engine.start("prof")
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(20)
    finally:
        berth.close()
        runc.close()
        podman.close()
        shutil.rmtree(base, ignore_errors=True)

    med = {k: statistics.median(v) * 1000 for k, v in results.items()}
    print(f"medians of {args.reps} runs (ms; min in brackets)")
    for key, values in results.items():
        print(f"  {key:48s} {med[key]:8.1f}  ({min(values) * 1000:.1f})")
    many = args.many
    print("ratios and targets")
    overhead = med["berth start -> answer"] - med["runc run -d -> answer"]
    print(f"  start -> answer: berth - runc = {overhead:.1f} ms (target < 100 ms)")
    print(
        f"  start -> answer: berth / podman = {med['berth start -> answer'] / med['podman run -d --network host -> answer']:.2f}"
    )
    per = (med[f"berth start x{many}"] - med[f"runc run -d x{many}"]) / many
    print(
        f"  {many} containers: berth {med[f'berth start x{many}']:.0f} ms (target < 1000), over runc {per:.1f} ms each"
    )
    print(
        f"  {many} containers: berth / podman = {med[f'berth start x{many}'] / med[f'podman run -d --network none x{many}']:.2f}"
    )
    print(
        f"  bridge -p -> answer: berth / podman = {med['berth start bridge -p -> answer'] / med['podman run -d -p -> answer']:.2f} (target <= 1)"
    )


if __name__ == "__main__":
    main()
