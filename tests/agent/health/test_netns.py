"""Checks that connect from the host into a container's network namespace.

We test these aspects:
- an HTTP GET reaches busybox httpd bound to 127.0.0.1 inside an ``unshare --net`` namespace,
  while the same address and port from the host's namespace is refused (only setns reaches it);
- a TCP check reaches the server the same way, and is refused outside it;
- a namespace named by a file (``ip netns add``) works as well as one named by a pid;
- the host's own namespace is recognised (host-network containers connect directly);
- a namespace that is gone is a one-line error naming it;
- the calling thread never changes namespace.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from agent.network.errors import NetworkError
from agent.network.netns import NetworkNamespace
from agent.runtime import probes
from agent.runtime.probes import HttpCheck, TcpCheck
from tests.support.namespaces import IsolatedServer


def _ns_inode() -> int:
    return os.stat("/proc/self/ns/net").st_ino


def test_http_reaches_the_namespace_only_through_setns(isolated_httpd: IsolatedServer) -> None:
    check = HttpCheck(port=isolated_httpd.port, path="/index.html")
    before = _ns_inode()
    inside = probes.run_check(check, 5, netns=NetworkNamespace.of_pid(isolated_httpd.pid))
    assert inside.exit_code == 0, inside.output
    assert inside.output.startswith("HTTP 200")
    assert isolated_httpd.body.strip() in inside.output
    assert _ns_inode() == before
    outside = probes.run_check(check, 5, netns=None)
    assert outside.exit_code == 1
    assert "refused" in outside.output.lower()


def test_http_status_decides(isolated_httpd: IsolatedServer) -> None:
    missing = probes.run_check(
        HttpCheck(port=isolated_httpd.port, path="/nope"),
        5,
        netns=NetworkNamespace.of_pid(isolated_httpd.pid),
    )
    assert missing.exit_code == 1
    assert missing.output.startswith("HTTP 404")


def test_tcp_reaches_the_namespace_only_through_setns(isolated_httpd: IsolatedServer) -> None:
    check = TcpCheck(port=isolated_httpd.port)
    inside = probes.run_check(check, 5, netns=NetworkNamespace.of_pid(isolated_httpd.pid))
    assert inside.exit_code == 0, inside.output
    assert probes.run_check(check, 5).exit_code == 1
    closed = probes.run_check(TcpCheck(port=1), 5, netns=NetworkNamespace.of_pid(isolated_httpd.pid))
    assert closed.exit_code == 1


def test_named_namespace(named_netns_httpd: IsolatedServer) -> None:
    ns = NetworkNamespace(named_netns_httpd.netns_path)
    assert not ns.is_host()
    result = probes.run_check(HttpCheck(port=named_netns_httpd.port), 5, netns=ns)
    assert result.exit_code == 0, result.output
    assert named_netns_httpd.body.strip() in result.output


def test_host_namespace_is_recognised() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        assert NetworkNamespace.of_pid(proc.pid).is_host()
    finally:
        proc.kill()
        proc.wait()
    isolated = subprocess.Popen(["unshare", "--net", "sleep", "30"])
    try:
        ns = NetworkNamespace.of_pid(isolated.pid)
        # unshare may still be the parent for an instant: wait for the namespace to differ
        for _ in range(200):
            if not ns.is_host():
                break
            subprocess.run(["sleep", "0.01"], check=True)
        assert not ns.is_host()
    finally:
        isolated.kill()
        isolated.wait()


def test_host_network_container_connects_directly() -> None:
    """A pid in the host's namespace: the check needs no setns and reaches the host's loopback."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        proc = subprocess.Popen(["sleep", "30"])
        try:
            result = probes.run_check(TcpCheck(port=port), 5, netns=NetworkNamespace.of_pid(proc.pid))
        finally:
            proc.kill()
            proc.wait()
    assert result.exit_code == 0, result.output


def test_a_gone_namespace_is_a_clear_error() -> None:
    ns = NetworkNamespace(Path("/proc/999999999/ns/net"))
    with pytest.raises(NetworkError, match=r"cannot enter network namespace /proc/999999999/ns/net"):
        ns.socket()
    result = probes.run_check(TcpCheck(port=80), 1, netns=ns)
    assert result.exit_code == -1
    assert "cannot enter network namespace" in result.output
