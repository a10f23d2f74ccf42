"""Session fixtures: the test images, and real registries (plain, TLS + basic auth, token auth)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import certs, images, registry, tokens

USERS = {"alice": "wonderland"}


@pytest.fixture(scope="session")
def test_images(tmp_path_factory: pytest.TempPathFactory) -> images.TestImages:
    return images.build_test_images(tmp_path_factory.mktemp("layout") / "layout")


@pytest.fixture(scope="session")
def plain_registry(
    tmp_path_factory: pytest.TempPathFactory, test_images: images.TestImages
) -> Iterator[registry.Registry]:
    with registry.running(tmp_path_factory.mktemp("plain-registry")) as running:
        images.push_all(test_images, running.host)
        yield running


@dataclass(frozen=True)
class SecureRegistry:
    """A TLS registry with htpasswd basic auth, and the CA that signed its certificate."""

    registry: registry.Registry
    ca_file: Path
    other_ca_file: Path


@pytest.fixture(scope="session")
def tls_registry(
    tmp_path_factory: pytest.TempPathFactory, test_images: images.TestImages
) -> Iterator[SecureRegistry]:
    work = tmp_path_factory.mktemp("tls-registry")
    ca, ca_cert, ca_key = certs.make_ca(work / "ca")
    other, _, _ = certs.make_ca(work / "other-ca")
    server = certs.make_server_cert(work / "server", ca_cert, ca_key)
    htpasswd = registry.write_htpasswd(work / "htpasswd", USERS)
    with registry.running(work / "registry", tls=server, ca_file=ca.cert, htpasswd=htpasswd) as running:
        images.push_all(test_images, running.host, creds="alice:wonderland", ca_dir=ca.cert.parent)
        yield SecureRegistry(running, ca.cert, other.cert)


@dataclass(frozen=True)
class TokenRegistry:
    registry: registry.Registry
    tokens: tokens.TokenServer


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, test_images: images.TestImages
) -> Iterator[TokenRegistry]:
    work = tmp_path_factory.mktemp("token-registry")
    signer, cert, key = certs.make_signing_cert(work / "signer")
    issuer = tokens.TokenIssuer(cert=cert, key=key, service="berth-test-registry", users=dict(USERS))
    server = tokens.TokenServer(issuer)
    token = {
        "realm": server.realm,
        "service": issuer.service,
        "issuer": issuer.issuer,
        "rootcertbundle": str(signer.cert),
    }
    try:
        with registry.running(work / "registry", token=token) as running:
            images.push_all(test_images, running.host, creds="alice:wonderland")
            yield TokenRegistry(running, server)
    finally:
        server.close()
