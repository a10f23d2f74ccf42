"""A real Kubernetes control plane (etcd + kube-apiserver) on loopback, as envtest runs it.

The binaries are built from Go modules by ``.ci/controlplane/build`` (called by ``.ci/setup-tests``)
into ``.work/bin``. Certificates come from openssl: a throwaway CA, a serving certificate for
127.0.0.1 and an admin client certificate in ``system:masters``. Everything listens on
127.0.0.1 on free ports and lives in a temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.support.paths import ROOT

BIN = ROOT / ".work" / "bin"
START_TIMEOUT = 180.0


@dataclass(frozen=True)
class ControlPlane:
    """Where the running API server is and how to reach it as an administrator."""

    url: str
    kubeconfig: Path
    ca: Path
    cert: Path
    key: Path
    workdir: Path
    restart_apiserver: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)
    """Stop kube-apiserver and start it again on the same port and etcd (the data stays)."""
    stop_apiserver: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)
    """Stop kube-apiserver (etcd keeps running); start_apiserver brings it back."""
    start_apiserver: Callable[[], None] = field(default=lambda: None, compare=False, repr=False)
    """Start a stopped kube-apiserver on the same port and etcd; a no-op when it runs."""
    etcd_url: str = ""
    """etcd's client URL (plain HTTP on loopback), to read what the API server stored."""

    def token_kubeconfig(self, token: str, path: Path) -> Path:
        """A kubeconfig at ``path`` for this API server with a bearer token (a service account's,
        from the TokenRequest API: then only RBAC applies, as for the agent in a cluster)."""
        path.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "t", "cluster": {"server": self.url, "certificate-authority": str(self.ca)}}
                    ],
                    "users": [{"name": "token", "user": {"token": token}}],
                    "contexts": [{"name": "t", "context": {"cluster": "t", "user": "token"}}],
                    "current-context": "t",
                }
            )
        )
        return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _certificates(d: Path) -> None:
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=berth-test-ca",
        cwd=d,
    )
    (d / "srv.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    (d / "cli.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject, ext in (
        ("apiserver", "/CN=localhost", "srv.ext"),
        ("admin", "/O=system:masters/CN=admin", "cli.ext"),
    ):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            ext,
            "-out",
            f"{name}.crt",
            cwd=d,
        )
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sa.key", cwd=d)
    _openssl("ec", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)


def _kubeconfig(d: Path, url: str) -> Path:
    path = d / "kubeconfig"
    path.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: envtest\n  cluster:\n    server: {url}\n    certificate-authority: {d / 'ca.crt'}\n"
        f"users:\n- name: envtest\n  user:\n    client-certificate: {d / 'admin.crt'}\n"
        f"    client-key: {d / 'admin.key'}\n"
        "contexts:\n- name: envtest\n  context:\n    cluster: envtest\n    user: envtest\n"
        "current-context: envtest\n"
    )
    return path


def _wait(
    check: str, url: str, context: ssl.SSLContext | None, proc: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{check} exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=2, context=context) as resp,  # noqa: S310 - loopback https only
        ):
            if resp.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"{check} not ready after {START_TIMEOUT:.0f}s:\n{log.read_text()[-4000:]}")


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own descriptor
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def running(extra_args: Sequence[str] = ()) -> Iterator[ControlPlane]:
    """Start etcd and kube-apiserver; stop both and remove their data on exit. ``extra_args`` go
    to kube-apiserver (an audit policy and log, for counting a client's requests)."""
    for name in ("etcd", "kube-apiserver"):
        if not (BIN / name).is_file():
            raise RuntimeError(
                f"{BIN / name} is missing: run bash .ci/setup-tests (it builds the control plane)"
            )
    d = Path(tempfile.mkdtemp(prefix="berth-envtest-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        _certificates(d)
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_log = d / "etcd.log"
        procs.append(
            _spawn(
                [
                    str(BIN / "etcd"),
                    "--name=t",
                    f"--data-dir={d / 'etcd'}",
                    f"--listen-client-urls=http://127.0.0.1:{etcd_port}",
                    f"--advertise-client-urls=http://127.0.0.1:{etcd_port}",
                    f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}",
                    f"--initial-cluster=t=http://127.0.0.1:{peer_port}",
                    "--unsafe-no-fsync=true",
                    "--log-level=warn",
                ],
                etcd_log,
            )
        )
        _wait("etcd", f"http://127.0.0.1:{etcd_port}/health", None, procs[0], etcd_log)
        api_log = d / "apiserver.log"
        api_args = [
            str(BIN / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{etcd_port}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={api_port}",
            f"--cert-dir={d / 'certs'}",
            f"--tls-cert-file={d / 'apiserver.crt'}",
            f"--tls-private-key-file={d / 'apiserver.key'}",
            f"--client-ca-file={d / 'ca.crt'}",
            f"--service-account-issuer=https://127.0.0.1:{api_port}/",
            f"--service-account-key-file={d / 'sa.pub'}",
            f"--service-account-signing-key-file={d / 'sa.key'}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount",
            *extra_args,
        ]
        procs.append(_spawn(api_args, api_log))
        url = f"https://127.0.0.1:{api_port}"
        context = ssl.create_default_context(cafile=str(d / "ca.crt"))
        context.load_cert_chain(str(d / "admin.crt"), str(d / "admin.key"))
        _wait("kube-apiserver", f"{url}/readyz", context, procs[1], api_log)
        _wait("default namespace", f"{url}/api/v1/namespaces/default", context, procs[1], api_log)

        def stop_apiserver() -> None:
            _stop(procs[1])

        def start_apiserver() -> None:
            if procs[1].poll() is None:
                return
            with api_log.open("ab") as out:
                procs[1] = subprocess.Popen(api_args, stdout=out, stderr=subprocess.STDOUT)
            _wait("kube-apiserver", f"{url}/readyz", context, procs[1], api_log)

        def restart_apiserver() -> None:
            stop_apiserver()
            start_apiserver()

        yield ControlPlane(
            url,
            _kubeconfig(d, url),
            d / "ca.crt",
            d / "admin.crt",
            d / "admin.key",
            d,
            restart_apiserver,
            stop_apiserver,
            start_apiserver,
            f"http://127.0.0.1:{etcd_port}",
        )
    finally:
        for proc in reversed(procs):
            _stop(proc)
        shutil.rmtree(d, ignore_errors=True)
