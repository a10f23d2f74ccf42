"""Where credentials come from: ``--creds``, ``$REGISTRY_AUTH_FILE``, ``~/.docker/config.json``.

We test these aspects:
- the order explicit > REGISTRY_AUTH_FILE > DOCKER_CONFIG > ~/.docker/config.json;
- Docker Hub's legacy key ``https://index.docker.io/v1/``, URL-shaped keys, and containers-auth
  namespace keys (``host/namespace``, longest match first);
- ``auth`` base64 and ``username``/``password`` entries; a malformed ``auth`` is an AuthError;
- the password is never part of the repr (it ends up in logs).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from agent.registry import credentials, errors


def _auth(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def _write(path: Path, auths: dict[str, object]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": auths}))
    return path


@pytest.mark.parametrize(
    ("key", "registry", "repository"),
    [
        ("https://index.docker.io/v1/", "docker.io", "library/nginx"),
        ("docker.io", "docker.io", "user/app"),
        ("reg.example:5000", "reg.example:5000", "a/b"),
        ("https://reg.example:5000", "reg.example:5000", "a/b"),
        ("reg.example:5000/a", "reg.example:5000", "a/b"),
    ],
    ids=["hub-legacy-url", "hub-name", "host-port", "url-key", "namespace"],
)
def test_docker_config_keys(tmp_path: Path, key: str, registry: str, repository: str) -> None:
    _write(tmp_path / ".docker" / "config.json", {key: _auth("u", "p:with:colons")})
    found = credentials.lookup(registry, repository, env={}, home=tmp_path)
    assert found is not None
    assert (found.username, found.password) == ("u", "p:with:colons")


def test_order_and_namespace_specificity(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _write(home / ".docker" / "config.json", {"reg.example": _auth("docker", "1")})
    _write(tmp_path / "dc" / "config.json", {"reg.example": _auth("docker-config-env", "2")})
    auth_file = _write(
        tmp_path / "auth.json",
        {
            "reg.example/team": {"username": "team", "password": "3"},
            "reg.example/team/app": _auth("app", "4"),
        },
    )
    env = {"REGISTRY_AUTH_FILE": str(auth_file), "DOCKER_CONFIG": str(tmp_path / "dc")}

    def user(repository: str, env: dict[str, str]) -> str | None:
        found = credentials.lookup("reg.example", repository, env=env, home=home)
        return found.username if found else None

    assert user("team/app", env) == "app"
    assert user("team/other", env) == "team"
    assert user("solo", env) == "docker-config-env"
    assert user("solo", {}) == "docker"
    explicit = credentials.lookup("reg.example", "solo", explicit="me:pw", env=env, home=home)
    assert explicit == credentials.Credentials("me", "pw", "--creds")
    assert credentials.lookup("other.example", "x", env=env, home=home) is None


def test_malformed_auth_entry(tmp_path: Path) -> None:
    _write(tmp_path / ".docker" / "config.json", {"reg.example": {"auth": "%%%"}})
    with pytest.raises(errors.AuthError, match="not base64"):
        credentials.lookup("reg.example", "x", env={}, home=tmp_path)


def test_password_not_in_repr() -> None:
    assert "s3cret" not in repr(credentials.parse_creds("user:s3cret"))
