"""Real network namespaces with a server inside (busybox httpd on their 127.0.0.1), removed afterwards."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest


def free_host_port() -> int:
    """A TCP port nothing listens on in the host's namespace (so a hit there would be a leak)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(pid: int, port: int) -> bool:
    """Whether a socket listens on ``port`` in the network namespace of ``pid``."""
    try:
        lines = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(f":{port:04X}" in line.split()[1] and line.split()[3] == "0A" for line in lines)


def wait_listening(pid: int, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not listening(pid, port):
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {port} in the namespace of {pid}")
        time.sleep(0.02)


@dataclass
class IsolatedServer:
    """busybox httpd on 127.0.0.1:port inside its own network namespace."""

    pid: int
    port: int
    body: str
    netns_path: Path


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def start_isolated_httpd(
    www: Path, body: str, port: int | None = None
) -> tuple[subprocess.Popen[bytes], IsolatedServer]:
    """busybox httpd serving ``www`` in a new ``unshare --net`` namespace (caller stops it)."""
    (www / "index.html").write_text(body)
    port = port or free_host_port()
    proc = subprocess.Popen(
        [
            "unshare",
            "--net",
            "sh",
            "-c",
            f"ip link set lo up && exec busybox httpd -f -p 127.0.0.1:{port} -h {www}",
        ]
    )
    try:
        wait_listening(proc.pid, port)
    except BaseException:
        stop(proc)
        raise
    return proc, IsolatedServer(proc.pid, port, body, Path(f"/proc/{proc.pid}/ns/net"))


@pytest.fixture
def isolated_httpd(tmp_path: Path) -> Iterator[IsolatedServer]:
    """``unshare --net``: the server's namespace is only reachable through its pid."""
    www = tmp_path / "www"
    www.mkdir()
    proc, server = start_isolated_httpd(www, f"inside the namespace {secrets.token_hex(4)}\n")
    try:
        yield server
    finally:
        stop(proc)


@pytest.fixture
def named_netns_httpd(tmp_path: Path) -> Iterator[IsolatedServer]:
    """``ip netns add``: a namespace named by a file under /run/netns, with busybox httpd inside."""
    name = f"berth-hc-{os.getpid()}-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
        www = tmp_path / "www-named"
        www.mkdir()
        body = f"named namespace {secrets.token_hex(4)}\n"
        (www / "index.html").write_text(body)
        port = free_host_port()
        proc = subprocess.Popen(
            ["ip", "netns", "exec", name, "busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", str(www)]
        )
        wait_listening(proc.pid, port)
        yield IsolatedServer(proc.pid, port, body, Path("/run/netns") / name)
    finally:
        if proc is not None:
            stop(proc)
        subprocess.run(["ip", "netns", "delete", name], check=False)
