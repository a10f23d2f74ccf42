"""Fixtures for network tests: a store root, a run dir and namespaces that are always cleaned up."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.network import netns
from agent.network.attaching import Attacher
from agent.network.networks import Networks

BUSYBOX = shutil.which("busybox") or "/bin/busybox"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Lab:
    """A store with its run dir, namespaces and background processes, torn down after the test."""

    def __init__(self, base: Path) -> None:
        self.root = base / "store"
        self.run = base / "run"
        self.root.mkdir()
        self.attacher = Attacher(self.root, self.run)
        self.networks = Networks(self.root)
        self.namespaces: list[Path] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        self.www = base / "www"
        self.www.mkdir()
        (self.www / "index.html").write_text("hello from the namespace\n")

    def netns(self, name: str) -> Path:
        path = netns.create(self.run / "netns" / name)
        self.namespaces.append(path)
        return path

    def in_ns(self, ns: Path, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["nsenter", f"--net={ns}", *argv], capture_output=True, text=True, timeout=timeout, check=False
        )

    def serve(self, ns: Path, port: int = 80) -> None:
        proc = subprocess.Popen(
            ["nsenter", f"--net={ns}", BUSYBOX, "httpd", "-f", "-p", str(port), "-h", str(self.www)]
        )
        self.procs.append(proc)

    def close(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        for path in self.attacher.run.glob("attached/*.json"):
            with contextlib.suppress(Exception):
                self.attacher.detach(path.stem)
        for ns in self.namespaces:
            with contextlib.suppress(Exception):
                netns.remove(ns)
        for network in self.networks.list():
            with contextlib.suppress(Exception):
                self.networks.remove(network.name)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    base = Path("/dev/shm") / f"berth-net-{uuid.uuid4().hex[:8]}"
    base.mkdir()
    lab = Lab(base)
    try:
        yield lab
    finally:
        lab.close()
        shutil.rmtree(base, ignore_errors=True)
