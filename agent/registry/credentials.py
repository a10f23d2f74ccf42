"""Where registry credentials come from, in the order skopeo and podman look.

1. ``--creds user:pass`` given explicitly;
2. ``$REGISTRY_AUTH_FILE`` (containers-auth.json), whose keys may also be ``host/namespace``
   (the longest match wins);
3. ``~/.docker/config.json``, whose Docker Hub entry is keyed ``https://index.docker.io/v1/``.

An entry holds ``auth`` (base64 of ``user:pass``) or ``username`` and ``password``. Credential
helpers (``credsStore``/``credHelpers``) are not run: Berth does not execute helper programs.
The environment and home directory are parameters so callers and tests decide what is read.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.oci import references
from agent.registry import errors


@dataclass(frozen=True)
class Credentials:
    """A user name and password (or identity token used as password)."""

    username: str
    password: str
    origin: str
    """Where they came from (``--creds``, a file path), for error messages."""

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, origin={self.origin!r})"


def parse_creds(text: str, origin: str = "--creds") -> Credentials:
    """``user:pass`` (the password may contain ``:``)."""
    user, sep, password = text.partition(":")
    if not sep or not user:
        raise errors.InvalidReference("", f"{origin}: expected USER:PASSWORD")
    return Credentials(user, password, origin)


def _keys_for(registry: str, repository: str) -> list[str]:
    """Candidate keys of an ``auths`` map, most specific first."""
    hosts = [registry]
    if registry == references.DOCKER_HUB:
        hosts = ["docker.io", "index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"]
    keys: list[str] = []
    parts = repository.split("/")
    for host in hosts:
        keys += [f"{host}/{'/'.join(parts[:n])}" for n in range(len(parts), 0, -1)]
        keys += [host, f"https://{host}", f"http://{host}", f"https://{host}/v1/", f"https://{host}/v2/"]
    return keys


def _entry_credentials(entry: Any, origin: str) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise errors.AuthError("", f"{origin}: 'auth' is not base64 of USER:PASSWORD") from exc
        return parse_creds(decoded, origin)
    if entry.get("username"):
        return Credentials(str(entry["username"]), str(entry.get("password", "")), origin)
    return None


def from_file(path: Path, registry: str, repository: str) -> Credentials | None:
    """Look ``registry``/``repository`` up in one auth file; None when absent or not listed."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise errors.AuthError("", f"cannot read credentials from {path}: {exc}") from exc
    auths = doc.get("auths") if isinstance(doc, dict) else None
    if not isinstance(auths, dict):
        return None
    return from_auths(auths, registry, repository, str(path))


def from_auths(auths: Mapping[str, Any], registry: str, repository: str, origin: str) -> Credentials | None:
    """Look ``registry``/``repository`` up in an ``auths`` map (an auth file's, or a Kubernetes
    pull secret's); None when not listed. ``origin`` names the map in errors and in the result."""
    normalised = {key.rstrip("/") if key.count("/") > 2 else key: value for key, value in auths.items()}
    for key in _keys_for(registry, repository):
        for candidate in (key, key.rstrip("/")):
            if candidate in auths:
                return _entry_credentials(auths[candidate], origin)
            if candidate in normalised:
                return _entry_credentials(normalised[candidate], origin)
    return None


def lookup(
    registry: str,
    repository: str,
    *,
    explicit: str | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> Credentials | None:
    """The credentials to use for ``registry``, or None for anonymous access."""
    if explicit:
        return parse_creds(explicit)
    env = os.environ if env is None else env
    files: list[Path] = []
    if env.get("REGISTRY_AUTH_FILE"):
        files.append(Path(env["REGISTRY_AUTH_FILE"]))
    if env.get("DOCKER_CONFIG"):
        files.append(Path(env["DOCKER_CONFIG"]) / "config.json")
    files.append((home or Path(env.get("HOME", "~")).expanduser()) / ".docker" / "config.json")
    for path in files:
        found = from_file(path, registry, repository)
        if found is not None:
            return found
    return None
