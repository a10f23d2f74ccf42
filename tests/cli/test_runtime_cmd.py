"""The container commands as a user types them, in a subprocess, against real runc and conmon.

We test these aspects: `container deploy` starts what it deploys and `status -o json` says
running; `logs` shows what the container printed, `--tail` and `-t`; `exec` returns the command's
exit code; `port` lists the published port; `install-service` writes a unit systemd-analyze accepts;
`stop` leaves it exited with its code and `remove` leaves no deployment; errors are one line.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.demo import image as demo_image

pytestmark = pytest.mark.slow
BERTH = [sys.executable, "-m", "agent"]


def berth(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BERTH, *args[:2], "--root", str(root), *args[2:]],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


@pytest.fixture
def root() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix=f"berth-cli-{uuid.uuid4().hex[:6]}-", dir="/dev/shm"))
    demo_image.build_demo_layout(base / "layout")
    try:
        yield base
    finally:
        for name in ("talker",):
            berth(base / "store", "container", "remove", name)
        shutil.rmtree(base, ignore_errors=True)


def test_a_container_through_the_cli(root: Path) -> None:
    store = root / "store"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = root / "talker.yaml"
    spec.write_text(
        "config:\n"
        "  cmd: [sh, -c, 'echo hello; echo oops >&2; exec httpd -f -p 80 -h /srv/www']\n"
        f"  ports: ['127.0.0.1:{port}:80']\n"
    )
    image = f"oci:{root / 'layout'}:latest"
    deployed = berth(
        store, "container", "deploy", "--name", "talker", "--config", str(spec), image, "-o", "json"
    )
    assert deployed.returncode == 0, deployed.stderr
    status = json.loads(berth(store, "container", "status", "talker", "-o", "json").stdout)
    assert status["state"] == "running"
    assert status["ports"] == [
        {"container_port": 80, "host_ip": "127.0.0.1", "host_port": port, "protocol": "tcp"}
    ]

    logs = berth(store, "container", "logs", "talker")
    assert (logs.stdout, logs.stderr) == ("hello\n", "oops\n")
    last = berth(store, "container", "logs", "-t", "-n", "1", "talker")  # the last line, with its time
    assert last.stdout == "" and last.stderr.startswith("20") and last.stderr.endswith("Z oops\n")

    assert berth(store, "container", "exec", "talker", "sh", "-c", "exit 7").returncode == 7
    assert berth(store, "container", "exec", "talker", "cat", "/etc/hostname").stdout == "talker\n"
    assert berth(store, "container", "port", "talker").stdout == f"80/tcp -> 127.0.0.1:{port}\n"

    units = root / "units"
    installed = berth(store, "container", "install-service", "talker", "--dir", str(units))
    assert installed.returncode == 0, installed.stderr
    unit = (units / "talker-container.service").read_text()
    assert "Type=notify" in unit and "container run" in unit

    started = time.monotonic()
    stopped = berth(store, "container", "stop", "-t", "1", "talker", "-o", "json")
    assert stopped.returncode == 0, stopped.stderr
    assert time.monotonic() - started < 30
    status = json.loads(berth(store, "container", "status", "talker", "-o", "json").stdout)
    assert (status["state"], status["exit_code"], status["pid"]) == ("exited", 137, None)

    failed = berth(store, "container", "exec", "talker", "true")
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1 and "exec needs it running" in failed.stderr

    assert berth(store, "container", "remove", "talker").returncode == 0
    missing = berth(store, "container", "status", "talker")
    assert missing.returncode == 1 and missing.stderr == "error: no deployment named 'talker'\n"
