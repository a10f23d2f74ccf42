"""A store deleted while its container publishes a port leaves netavark's DNAT behind; a new
container publishing that port fails with a one-line error naming the cure, ``berth network prune``
removes the stale rules, and the new container then answers on the port (not the old one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.demo.image import PAGE
from agent.network import forwards, netns
from agent.network.attaching import _container_id
from agent.network.errors import NetworkError
from tests.agent.network.conftest import free_port
from tests.agent.network.test_containers import HTTPD, Host, _fetch, layout  # noqa: F401 - fixture

pytestmark = pytest.mark.skipif(shutil.which("runc") is None, reason="runc is needed")


@pytest.fixture
def hosts(layout: Path) -> Iterator[tuple[Host, Host]]:  # noqa: F811 - the fixture imported above
    base = Path("/dev/shm") / f"berth-stale-{uuid.uuid4().hex[:8]}"
    old, new = Host(base / "old", layout), Host(base / "new", layout)
    gone = old.root.with_name("store.gone")
    try:
        yield old, new
    finally:
        if gone.exists():
            gone.rename(old.root)
        new.close()
        old.close()
        for ns in base.glob("*/run/netns/*"):  # a namespace its store lost track of while "gone"
            netns.remove(ns)
        shutil.rmtree(base, ignore_errors=True)


def test_stale_dnat_of_a_deleted_store_is_refused_then_pruned(hosts: tuple[Host, Host]) -> None:
    old, new = hosts
    port = free_port()
    old.deploy("stale-web", {"cmd": HTTPD, "ports": [f"127.0.0.1:{port}:80"]})
    assert _fetch(f"http://127.0.0.1:{port}/") == PAGE.decode()
    old_id = _container_id(old.root, "stale-web")
    assert forwards.forwarded(old_id, port, "tcp")

    old.root.rename(old.root.with_name("store.gone"))  # the store goes; its container runs on
    assert _fetch(f"http://127.0.0.1:{port}/") == PAGE.decode()

    serve = ["sh", "-c", "mkdir -p /tmp/w && echo new > /tmp/w/i.html && exec httpd -f -p 80 -h /tmp/w"]
    new.deploy("fresh-web", {"cmd": serve, "ports": [f"127.0.0.1:{port}:80"]}, start=False)
    with pytest.raises(NetworkError) as refused:
        new.engine.start("fresh-web")
    message = str(refused.value)
    assert "\n" not in message
    assert f"host port {port}/tcp is still forwarded by netavark to container 'stale-web'" in message
    assert "berth network prune" in message

    env = {**os.environ, "BERTH_ROOT": str(new.root), "BERTH_RUN_ROOT": str(new.run)}
    pruned = subprocess.run(
        [sys.executable, "-m", "agent", "network", "prune"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert pruned.returncode == 0, pruned.stderr
    assert f"stale forward of host port tcp/{port} removed" in pruned.stdout.splitlines()
    assert not forwards.forwarded(old_id, port, "tcp")
    assert forwards.jumps(old_id) == []

    new.engine.start("fresh-web")
    assert _fetch(f"http://127.0.0.1:{port}/i.html") == "new\n"  # the new container's answer
