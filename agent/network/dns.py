"""aardvark-dns kept answering: a probe query after every setup and teardown, and a restart when
the server went quiet.

Measured here (shared/peers-here.md): with podman 4.3.1 and aardvark-dns 1.4, a container stopped
and started again left the network's DNS server silent for good in 2 of 4 runs, although the
process ran and its config listed the new address. So Berth asks the server on each gateway for a
name it must know, and restarts aardvark-dns (which re-reads its config) when no answer comes.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from agent.network.errors import NetworkError
from agent.network.netns import NetworkNamespace

FIRST_TIMEOUT = 0.15
"""Seconds a probe query waits for its answer before aardvark-dns is restarted (see ensure_answering)."""
FIRST_WAITS = (0.02, 0.05, 0.1)
"""The waits of the first probe rounds, before :data:`FIRST_TIMEOUT`: an answer takes under a
millisecond here and tens under load, so a round that gets none lost its query in a reload."""


def query(server: str, name: str, timeout: float = 1.0, *, netns: Path | None = None) -> list[str]:
    """The A records ``server`` gives for ``name`` (empty: no answer in time, or none), asked from
    the network namespace ``netns`` when given: aardvark-dns answers by who asks, and a server
    that still answers the host may have gone quiet for the containers."""
    ident = random.getrandbits(16)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".") if p) + b"\0"
    packet = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 1, 1)
    made = NetworkNamespace(netns).socket(socket.AF_INET, socket.SOCK_DGRAM) if netns else None
    with made or socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(packet, (server, 53))
            data, _ = sock.recvfrom(4096)
        except OSError:
            return []
    return _addresses(data, ident)


def _addresses(data: bytes, ident: int) -> list[str]:
    if len(data) < 12:
        return []
    got, flags, qd, an = struct.unpack("!HHHH", data[:8])
    if got != ident or flags & 0x000F:
        return []
    pos = 12
    for _ in range(qd):
        pos = _skip_name(data, pos) + 4
    out = []
    for _ in range(an):
        pos = _skip_name(data, pos)
        if pos + 10 > len(data):
            break
        rtype, _cls, _ttl, length = struct.unpack("!HHIH", data[pos : pos + 10])
        pos += 10
        if rtype == 1 and length == 4:
            out.append(socket.inet_ntoa(data[pos : pos + 4]))
        pos += length
    return out


def _skip_name(data: bytes, pos: int) -> int:
    while pos < len(data):
        length = data[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0 == 0xC0:
            return pos + 2
        pos += length + 1
    return pos


def ensure_answering(
    config: Path, gateway: str, expected: Mapping[str, str], aardvark: str, *, askers: list[Path | None]
) -> bool:
    """Make sure aardvark-dns on ``gateway`` resolves each name of ``expected`` to its address for
    every container namespace in ``askers``; True if it had to be restarted. Raises when even a
    fresh server does not answer.

    Before a restart each query waits :data:`FIRST_TIMEOUT` only: a query sent while the server
    reloads (netavark signals it on every setup) goes unanswered, and waiting half a second for
    it was the longest step of an attach (answers take under a millisecond here, tens under
    load); an unanswered one is asked again until the two seconds are up. The first waits are
    shorter still (:data:`FIRST_WAITS`): the query lost in a reload is the usual case, and its
    0.15 s plus the pause after it were a fifth of a second on the critical path of ``compose up``
    twice (after the first container's setup and after the last)."""
    pending = [(name, address, ns) for ns in askers for name, address in expected.items()]

    def answered(timeouts: Iterator[float]) -> Callable[[], bool]:
        def check() -> bool:
            timeout = next(timeouts)
            while pending:  # what answered once is not asked again
                name, address, ns = pending[0]
                if address not in query(gateway, name, timeout, netns=ns):
                    return False
                pending.pop(0)
            return True

        return check

    # a reload takes a moment: the first query may go unanswered
    if _poll(answered(itertools.chain(FIRST_WAITS, itertools.repeat(FIRST_TIMEOUT))), 2.0, pause=0.01):
        return False
    _restart(config / "aardvark-dns", aardvark)
    pending[:] = [(name, address, ns) for ns in askers for name, address in expected.items()]
    if _poll(answered(itertools.repeat(0.5)), 3.0):
        return True
    missing = sorted({name for name, _, _ in pending})
    raise NetworkError(
        f"aardvark-dns on {gateway} does not resolve {', '.join(missing)} for its containers even after a restart"
    )


def _poll(check: Callable[[], bool], seconds: float, *, pause: float = 0.05) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(pause)


def _restart(directory: Path, aardvark: str) -> None:
    """Stop the quiet server (SIGKILL if it will not go) and start it again on the same config;
    it daemonizes itself, as when netavark starts it."""
    with contextlib.suppress(OSError, ValueError):
        pid = int((directory / "aardvark.pid").read_text().strip())
        os.kill(pid, signal.SIGTERM)
        if not _poll(lambda: not _alive(pid), 3.0):
            os.kill(pid, signal.SIGKILL)
            _poll(lambda: not _alive(pid), 3.0)
    subprocess.run(
        [aardvark, "--config", str(directory), "-p", "53", "run"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )


def running(directory: Path) -> bool:
    """Whether the aardvark-dns of config ``directory`` (its pid file there) is running."""
    try:
        pid = int((directory / "aardvark.pid").read_text().strip())
    except (OSError, ValueError):
        return False
    return _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie is gone for our purpose
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    return False
