"""Debian's ``docker-registry`` (distribution 2.8) on 127.0.0.1 for tests.

``start_registry`` writes a config into a temp dir and runs ``docker-registry serve CONFIG`` on a
free port with its own storage: plain HTTP, TLS with the tests' CA, htpasswd (bcrypt) basic auth,
or ``auth: token`` against the tests' token server (``tests.support.tokens``). ``push`` uploads an
OCI layout with skopeo, the reference client.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import requests
import yaml

from tests.support import certs

REGISTRY_BIN = "/usr/bin/docker-registry"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Registry:
    """A running registry: ``host`` is ``127.0.0.1:PORT``."""

    host: str
    process: subprocess.Popen[bytes]
    storage: Path
    log: Path
    tls: certs.KeyPair | None = None
    ca_file: Path | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"


def write_htpasswd(path: Path, users: dict[str, str]) -> Path:
    lines = [
        f"{user}:{bcrypt.hashpw(pw.encode(), bcrypt.gensalt(rounds=5)).decode()}"
        for user, pw in users.items()
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _wait_ready(registry: Registry, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if registry.process.poll() is not None:
            raise RuntimeError(f"docker-registry exited: {registry.log.read_text()[-2000:]}")
        with contextlib.suppress(requests.RequestException):
            requests.get(
                f"{registry.url}/v2/", timeout=1, verify=str(registry.ca_file) if registry.ca_file else True
            )
            return
        time.sleep(0.05)
    raise RuntimeError(f"docker-registry did not start: {registry.log.read_text()[-2000:]}")


def start_registry(
    workdir: Path,
    *,
    tls: certs.KeyPair | None = None,
    ca_file: Path | None = None,
    htpasswd: Path | None = None,
    token: dict[str, str] | None = None,
) -> Registry:
    """Start a registry; ``token`` holds realm, service, issuer and rootcertbundle."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    http: dict[str, object] = {"addr": f"127.0.0.1:{port}", "secret": "berth-tests"}
    if tls is not None:
        http["tls"] = {"certificate": str(tls.cert), "key": str(tls.key)}
    config: dict[str, object] = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": str(workdir / "storage")},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": http,
    }
    if htpasswd is not None:
        config["auth"] = {"htpasswd": {"realm": "berth-tests", "path": str(htpasswd)}}
    if token is not None:
        config["auth"] = {"token": token}
    config_path = workdir / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    log = workdir / "registry.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(config_path)], stdout=out, stderr=subprocess.STDOUT
        )
    registry = Registry(f"127.0.0.1:{port}", process, workdir / "storage", log, tls, ca_file)
    try:
        _wait_ready(registry)
    except BaseException:
        stop(registry)
        raise
    return registry


def stop(registry: Registry) -> None:
    registry.process.terminate()
    try:
        registry.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        registry.process.kill()
        registry.process.wait()


@contextlib.contextmanager
def running(
    workdir: Path,
    *,
    tls: certs.KeyPair | None = None,
    ca_file: Path | None = None,
    htpasswd: Path | None = None,
    token: dict[str, str] | None = None,
) -> Iterator[Registry]:
    registry = start_registry(workdir, tls=tls, ca_file=ca_file, htpasswd=htpasswd, token=token)
    try:
        yield registry
    finally:
        stop(registry)


def push(
    layout: Path,
    ref: str,
    destination: str,
    *,
    all_platforms: bool = False,
    creds: str | None = None,
    ca_dir: Path | None = None,
) -> None:
    """``skopeo copy oci:LAYOUT:REF docker://DESTINATION`` keeping our manifests byte for byte."""
    args = ["skopeo", "copy", "--quiet", "--preserve-digests"]
    if all_platforms:
        args.append("--all")
    if ca_dir is not None:
        args += ["--dest-cert-dir", str(ca_dir)]
    else:
        args.append("--dest-tls-verify=false")
    if creds:
        args += ["--dest-creds", creds]
    args += [f"oci:{layout}:{ref}", f"docker://{destination}"]
    subprocess.run(args, check=True, capture_output=True, timeout=120)
