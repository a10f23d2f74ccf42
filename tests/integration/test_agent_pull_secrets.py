"""imagePullSecrets: the agent pulls from private registries with the resource's secrets only.

Real registries (docker-registry with token auth through the tests' token server, and with
htpasswd basic auth), a real kube-apiserver, the agent as its service account (manifests/ RBAC:
``get`` on secrets). We test these aspects:
- a ContainerDeployment naming a kubernetes.io/dockerconfigjson secret (``auth`` base64) pulls
  from the token registry and runs; one naming a kubernetes.io/dockercfg secret
  (username/password) pulls from the basic-auth registry and runs;
- without imagePullSecrets: Degraded/ImagePullFailed, the message says the registry refused
  anonymous access and that the resource names no secrets;
- with a wrong password and a secret that does not exist: ImagePullFailed naming both secrets
  (which one was used, which one is missing), and never the password;
- no password (plain or base64) anywhere: status, events, the agent's log, the store and the
  agent's run directory.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent.demo.image import build_demo_layout
from tests.integration.test_agent_kube import (  # the agent fixtures, shared with that module
    CDEPS,
    Agent,
    Api,
    agent_kubeconfig,
    agents,
    answers,
    cluster,
    condition,
    until,
    wait_for,
)
from tests.support import certs, registry, tokens
from tests.support.controlplane import free_port

__all__ = ["agent_kubeconfig", "agents", "cluster"]  # fixtures used by name

pytestmark = pytest.mark.slow

USER, PASSWORD = "alice", f"pw-{os.getpid()}-Wonderland"
SECRETS = "/api/v1/namespaces/default/secrets"


@dataclass(frozen=True)
class Private:
    token: registry.Registry
    basic: registry.Registry


@pytest.fixture(scope="module")
def private() -> Iterator[Private]:
    """Two registries needing alice's password, each holding the demo image as private/demo."""
    work = Path(tempfile.mkdtemp(prefix="berth-pullsecrets-", dir="/dev/shm"))
    build_demo_layout(work / "demo")
    signer, cert, key = certs.make_signing_cert(work / "signer")
    issuer = tokens.TokenIssuer(cert=cert, key=key, service="berth-test-registry", users={USER: PASSWORD})
    server = tokens.TokenServer(issuer)
    token = {
        "realm": server.realm,
        "service": issuer.service,
        "issuer": issuer.issuer,
        "rootcertbundle": str(signer.cert),
    }
    htpasswd = registry.write_htpasswd(work / "htpasswd", {USER: PASSWORD})
    try:
        with (
            registry.running(work / "token-registry", token=token) as with_token,
            registry.running(work / "basic-registry", htpasswd=htpasswd) as with_basic,
        ):
            for host in (with_token.host, with_basic.host):
                for tag in ("v1", "v2", "v3"):
                    registry.push(
                        work / "demo", "latest", f"{host}/private/demo:{tag}", creds=f"{USER}:{PASSWORD}"
                    )
            yield Private(with_token, with_basic)
    finally:
        server.close()
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def secret(name: str, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    key = ".dockerconfigjson" if kind == "kubernetes.io/dockerconfigjson" else ".dockercfg"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "default"},
        "type": kind,
        "data": {key: base64.b64encode(json.dumps(payload).encode()).decode()},
    }


def resource(name: str, image: str, port: int, secrets: list[str] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "image": image,
        "nodeName": "node-p",
        "config": {
            "cmd": ["httpd", "-f", "-p", "80", "-h", "/srv"],
            "ports": [f"127.0.0.1:{port}:80"],
            "volumes": [f"{name}-www:/srv"],
        },
    }
    if secrets is not None:
        spec["imagePullSecrets"] = [{"name": s} for s in secrets]
    return {
        "apiVersion": "berth.io/v1alpha1",
        "kind": "ContainerDeployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def files_text(top: Path) -> str:
    """The regular files under ``top`` (not below mount points: a container's /proc, /sys)."""
    out = []
    for where, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not os.path.ismount(os.path.join(where, d))]
        for name in files:
            path = Path(where, name)
            with contextlib.suppress(OSError):
                if stat.S_ISREG(path.lstat().st_mode) and path.lstat().st_size < 1 << 20:
                    out.append(path.read_text(errors="replace"))
    return "".join(out)


def leaks(text: str) -> list[str]:
    """Forms of the password that must never appear."""
    forms = [PASSWORD, "wrong-" + PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()]
    return [form for form in forms if form in text]


def test_image_pull_secrets(cluster: Api, agents: Callable[[str], Agent], private: Private) -> None:
    pid = os.getpid()
    good, legacy, wrong = f"regcred-{pid}", f"legacy-{pid}", f"wrongcred-{pid}"
    created = [
        secret(
            good,
            "kubernetes.io/dockerconfigjson",
            {
                "auths": {
                    private.token.host: {"auth": base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
                }
            },
        ),
        secret(
            legacy, "kubernetes.io/dockercfg", {private.basic.host: {"username": USER, "password": PASSWORD}}
        ),
        secret(
            wrong,
            "kubernetes.io/dockerconfigjson",
            {"auths": {private.token.host: {"username": USER, "password": "wrong-" + PASSWORD}}},
        ),
    ]
    for body in created:
        assert cluster.call("POST", SECRETS, body).status_code == 201
    agent = agents("node-p")
    names = {k: f"{k}-{pid}" for k in ("anon", "bad", "token", "basic")}
    ports = {k: free_port() for k in names}
    image = f"{private.token.host}/private/demo"
    try:
        bodies = {
            "anon": resource(names["anon"], f"{image}:v1", ports["anon"], None),
            "bad": resource(names["bad"], f"{image}:v2", ports["bad"], [f"missing-{pid}", wrong]),
            "token": resource(names["token"], f"{image}:v3", ports["token"], [good]),
            "basic": resource(
                names["basic"], f"{private.basic.host}/private/demo:v1", ports["basic"], [legacy]
            ),
        }
        for body in bodies.values():
            assert cluster.call("POST", CDEPS, body).status_code == 201

        for key in ("token", "basic"):
            until(
                cluster, names[key], f"{key} Ready", lambda o: condition(o, "Ready").get("status") == "True"
            )
            assert answers(ports[key]), agent.tail()

        anon = until(
            cluster,
            names["anon"],
            "anonymous pull refused",
            lambda o: condition(o, "Degraded").get("reason") == "ImagePullFailed",
        )
        message = condition(anon, "Degraded")["message"]
        assert "anonymous access" in message and "names no imagePullSecrets" in message, message

        bad = until(
            cluster,
            names["bad"],
            "wrong password refused",
            lambda o: condition(o, "Degraded").get("reason") == "ImagePullFailed",
        )
        message = condition(bad, "Degraded")["message"]
        assert f"credentials from secret default/{wrong}" in message, message
        assert f"secret default/missing-{pid} not found" in message, message
        assert not answers(ports["bad"]) and not answers(ports["anon"])

        # the password is nowhere: status, events, the agent's log, the store, the run directory
        everything = json.dumps([until(cluster, n, "readable", bool) for n in names.values()])
        everything += cluster.call("GET", "/api/v1/namespaces/default/events").text
        everything += agent.log.read_text(errors="replace")
        everything += files_text(agent.base)
        assert leaks(everything) == []
    finally:
        for name in names.values():
            cluster.call("DELETE", f"{CDEPS}/{name}")
        for body in created:
            cluster.call("DELETE", f"{SECRETS}/{body['metadata']['name']}")
        wait_for(
            "the resources gone",
            lambda: all(cluster.call("GET", f"{CDEPS}/{n}").status_code == 404 for n in names.values()),
        )
