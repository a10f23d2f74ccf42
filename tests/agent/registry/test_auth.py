"""Authentication and TLS against real registries.

We test these aspects:
- HTTP basic auth (htpasswd, bcrypt) over TLS verified with the test CA, with credentials from
  ``~/.docker/config.json`` (``auth`` base64), ``$REGISTRY_AUTH_FILE`` (username/password) and
  explicit ``--creds``;
- wrong or missing credentials -> AuthError naming the registry, the user and where the
  credentials came from; nothing is recorded;
- the Bearer flow against ``auth: token`` with our token server: one token per scope for a whole
  pull (cached), refused credentials -> AuthError naming the token server;
- TLS: a certificate from another CA, or the system CAs only, fails verification (no fallback to
  plain HTTP even on loopback); an insecure-listed host skips verification;
- plain HTTP is used only for loopback and insecure-listed hosts: ``0.0.0.0:PORT`` reaches the
  same local registry but is not loopback by name, so it needs ``insecure``.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from agent.registry import errors, pulling
from agent.store import images
from tests.agent.registry.conftest import SecureRegistry, TokenRegistry
from tests.support import images as images_mod
from tests.support import registry as registry_mod


@pytest.fixture
def no_ambient_creds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A fresh HOME with no auth files, and no auth-file variables."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("REGISTRY_AUTH_FILE", raising=False)
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    return home


def _docker_config(home: Path, host: str, user: str, password: str) -> None:
    (home / ".docker").mkdir()
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))


def test_basic_auth_from_docker_config(
    tls_registry: SecureRegistry, test_images: images_mod.TestImages, no_ambient_creds: Path, tmp_path: Path
) -> None:
    host = tls_registry.registry.host
    _docker_config(no_ambient_creds, host, "alice", "wonderland")
    record = pulling.pull_image(f"{host}/test/simple", tmp_path / "store", ca_file=tls_registry.ca_file)
    assert record.digest == test_images.simple.digest


def test_basic_auth_from_registry_auth_file(
    tls_registry: SecureRegistry,
    test_images: images_mod.TestImages,
    no_ambient_creds: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    host = tls_registry.registry.host
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(
        json.dumps({"auths": {f"{host}/test": {"username": "alice", "password": "wonderland"}}})
    )
    monkeypatch.setenv("REGISTRY_AUTH_FILE", str(auth_file))
    _docker_config(no_ambient_creds, host, "alice", "wrong")  # the auth file comes first
    record = pulling.pull_image(f"{host}/test/multi", tmp_path / "store", ca_file=tls_registry.ca_file)
    assert record.digest == test_images.amd64.digest


@pytest.mark.parametrize(
    ("creds", "config", "message"),
    [
        ("alice:nope", None, "user 'alice' from --creds were refused"),
        (None, ("mallory", "x"), "user 'mallory' from "),
        (None, None, "no credentials found"),
    ],
    ids=["wrong-explicit", "wrong-docker-config", "none"],
)
def test_basic_auth_refused(
    *,
    tls_registry: SecureRegistry,
    no_ambient_creds: Path,
    tmp_path: Path,
    creds: str | None,
    config: tuple[str, str] | None,
    message: str,
) -> None:
    host = tls_registry.registry.host
    if config:
        _docker_config(no_ambient_creds, host, *config)
    with pytest.raises(errors.AuthError) as caught:
        pulling.pull_image(
            f"{host}/test/simple", tmp_path / "store", creds=creds, ca_file=tls_registry.ca_file
        )
    assert host in str(caught.value)
    assert message in str(caught.value)
    assert images.ImageStore(tmp_path / "store").list() == []


def test_bearer_token_flow_caches_the_token(
    token_registry: TokenRegistry, test_images: images_mod.TestImages, no_ambient_creds: Path, tmp_path: Path
) -> None:
    issuer = token_registry.tokens.issuer
    before = len(issuer.issued)
    record = pulling.pull_image(
        f"{token_registry.registry.host}/test/multi", tmp_path, creds="alice:wonderland"
    )
    assert record.digest == test_images.amd64.digest
    # index + manifest + config + 2 layers, one token for the scope
    assert issuer.issued[before:] == ["repository:test/multi:pull"]


@pytest.mark.parametrize("creds", ["alice:nope", None], ids=["wrong", "anonymous"])
def test_bearer_token_refused(
    token_registry: TokenRegistry, no_ambient_creds: Path, tmp_path: Path, creds: str | None
) -> None:
    with pytest.raises(errors.AuthError) as caught:
        pulling.pull_image(f"{token_registry.registry.host}/test/simple", tmp_path, creds=creds)
    assert token_registry.tokens.realm in str(caught.value)
    assert images.ImageStore(tmp_path).list() == []


@pytest.mark.parametrize("use_other_ca", [True, False], ids=["other-ca", "system-cas"])
def test_untrusted_certificate_fails(
    tls_registry: SecureRegistry, no_ambient_creds: Path, tmp_path: Path, use_other_ca: bool
) -> None:
    ca_file = tls_registry.other_ca_file if use_other_ca else None
    with pytest.raises(errors.TLSError, match="not trusted"):
        pulling.pull_image(
            f"{tls_registry.registry.host}/test/simple", tmp_path, creds="alice:wonderland", ca_file=ca_file
        )


def test_insecure_host_skips_verification(
    tls_registry: SecureRegistry, test_images: images_mod.TestImages, no_ambient_creds: Path, tmp_path: Path
) -> None:
    host = tls_registry.registry.host
    record = pulling.pull_image(f"{host}/test/simple", tmp_path, creds="alice:wonderland", insecure=[host])
    assert record.digest == test_images.simple.digest


def test_plain_http_only_for_loopback_or_listed_hosts(
    plain_registry: registry_mod.Registry, test_images: images_mod.TestImages, tmp_path: Path
) -> None:
    port = plain_registry.host.rsplit(":", 1)[1]
    unlisted = f"0.0.0.0:{port}"
    with pytest.raises(errors.TLSError, match="plain HTTP is allowed only"):
        pulling.pull_image(f"{unlisted}/test/simple", tmp_path)
    record = pulling.pull_image(f"{unlisted}/test/simple", tmp_path, insecure=[unlisted])
    assert record.digest == test_images.simple.digest
    assert record.registry == unlisted
