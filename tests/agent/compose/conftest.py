"""Fixtures for compose and kube play on the Engine: a store on tmpfs holding the demo image
(``localhost/berth-demo:latest``), a private run root, and a finalizer that removes every
deployment, network and volume the test made, even when it fails."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.demo.image import build_demo_layout
from agent.network.networks import Networks
from agent.registry import pulling
from agent.runtime.engine import Engine
from agent.store import deploying

IMAGE = "localhost/berth-demo:latest"
REPO = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Host:
    """A store with the demo image, and the berth CLI run against it as a user runs it."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.root = base / "store"
        self.run_root = base / "run"
        self.project = f"t{uuid.uuid4().hex[:8]}"
        build_demo_layout(base / "layout" / "berth-demo")
        pulling.pull_image(f"oci:{base / 'layout' / 'berth-demo'}:latest", self.root)
        self.engine = Engine(self.root, self.run_root)

    def berth(
        self, *args: str, timeout: float = 240, check: bool = False, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "BERTH_ROOT": str(self.root),
            "BERTH_RUN_ROOT": str(self.run_root),
            **(env or {}),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "agent", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=self.base,
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"berth {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
        return proc

    def write(self, name: str, text: str) -> Path:
        path = self.base / name
        path.write_text(text)
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):
            store = self.engine.store()
            for deployment in store.list():
                with contextlib.suppress(Exception):
                    self.engine.remove(deployment.name)
        networks = Networks(self.root)
        for network in networks.list():
            with contextlib.suppress(Exception):
                networks.remove(network.name)
        with contextlib.suppress(Exception):
            for volume in deploying.Store.open(self.root).volumes.list():
                deploying.remove_volume(self.root, volume, force=True)


@pytest.fixture
def host() -> Iterator[Host]:
    base = Path("/dev/shm") / f"berth-compose-{uuid.uuid4().hex[:8]}"
    base.mkdir()
    made = None
    try:
        made = Host(base)
        yield made
    finally:
        if made is not None:
            made.close()
        shutil.rmtree(base, ignore_errors=True)
