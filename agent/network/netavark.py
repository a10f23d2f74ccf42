"""netavark driven through its documented interface: ``netavark setup|teardown NETNS`` with the
network options as JSON on stdin, as podman 4 drives it.

netavark and aardvark-dns are installed by Debian's netavark and aardvark-dns packages under
/usr/lib/podman (not on PATH). Berth gives netavark a config directory of its own per store, so
aardvark-dns serves Berth's names apart from podman's.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from agent.network.errors import NetworkError

NETAVARK = os.environ.get("BERTH_NETAVARK", "/usr/lib/podman/netavark")
AARDVARK = os.environ.get("BERTH_AARDVARK_DNS", "/usr/lib/podman/aardvark-dns")


def _binary(path: str) -> str:
    if os.access(path, os.X_OK):
        return path
    found = shutil.which(os.path.basename(path))
    if found is None:
        raise NetworkError(
            f"{os.path.basename(path)} is not installed (Debian package: {os.path.basename(path)})"
        )
    return found


def aardvark() -> str:
    """The aardvark-dns binary netavark starts (Berth restarts it when it goes quiet)."""
    return _binary(AARDVARK)


def _run(
    command: str, config: Path, netns: Path, options: dict[str, Any], *, shared: bool = False
) -> dict[str, Any]:
    config.mkdir(parents=True, exist_ok=True)
    argv = [
        _binary(NETAVARK),
        "--config",
        str(config),
        "--aardvark-binary",
        _binary(AARDVARK),
        command,
        str(netns),
    ]
    fd = os.open(config / "netavark.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:  # one netavark at a time per store (concurrent setups race on the bridge and firewall),
        # except setups on networks whose bridge and firewall exist already (``shared``)
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        proc = subprocess.run(argv, input=json.dumps(options), capture_output=True, text=True, check=False)
    finally:
        os.close(fd)
    if proc.returncode != 0:
        message = proc.stderr.strip() or proc.stdout.strip()
        with contextlib.suppress(ValueError, AttributeError):  # errors come as {"error": "..."} on stdout
            message = json.loads(proc.stdout).get("error", message)
        raise NetworkError(f"netavark {command} for {options.get('container_name')}: {message}")
    try:
        result: dict[str, Any] = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except ValueError as exc:
        raise NetworkError(f"netavark {command}: unreadable answer {proc.stdout[:200]!r}") from exc
    return result


def setup(config: Path, netns: Path, options: dict[str, Any], *, shared: bool = False) -> dict[str, Any]:
    """Create interfaces, addresses, routes, firewall rules and DNS entries; netavark's status.

    ``shared``: the caller knows that every network of ``options`` has its bridge, firewall
    chains and rules and a running aardvark-dns already (a setup on it completed and nothing tore
    it down since), so this setup creates none of them and may run beside other such setups.
    netavark 1.4 makes the shared state "if missing" (list, then create), which races when two
    setups both find it missing; what each setup adds on its own (a veth pair, the container's
    port rules, its DNS entry under aardvark-dns's own lock) does not."""
    return _run("setup", config, netns, options, shared=shared)


def teardown(config: Path, netns: Path, options: dict[str, Any]) -> None:
    """Undo :func:`setup` with the same options (the bridge goes with its last container)."""
    _run("teardown", config, netns, options)
