"""Lookaside signature stores configured in ``registries.d`` (``man containers-registries.d``).

Each ``*.yaml`` file of the directory may hold ``default-docker`` and ``docker: {NAMESPACE: ...}``
entries with a ``lookaside`` (older name ``sigstore``) URL; the most specific namespace wins
(``host/repo``, its parents, ``host``), then ``default-docker``. Signatures of a manifest live at
``BASE/REPOSITORY@sha256=HEX/signature-N`` for N = 1, 2, ... up to the first missing one, read
from ``file://`` directories or over ``http(s)://``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import requests
import yaml

from agent.oci import references
from agent.trust.errors import TrustError

ENV_REGISTRIES_D = "BERTH_REGISTRIES_D"
SYSTEM_REGISTRIES_D = Path("/etc/containers/registries.d")
MAX_SIGNATURE = 4 << 20
MAX_SIGNATURES = 64


def registries_d(explicit: Path | str | None = None) -> Path:
    """``--registries.d``, else ``$BERTH_REGISTRIES_D``, else /etc/containers/registries.d."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_REGISTRIES_D)
    return Path(env) if env else SYSTEM_REGISTRIES_D


def _load(directory: Path) -> tuple[dict[str, str], str | None]:
    """Namespace -> lookaside URL, and the default-docker one."""
    namespaces: dict[str, str] = {}
    default: str | None = None
    if not directory.is_dir():
        return namespaces, default
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise TrustError(f"{path}: cannot read registries.d file: {exc}") from exc
        if not isinstance(data, dict):
            raise TrustError(f"{path}: expected a mapping")
        entry = data.get("default-docker")
        if isinstance(entry, dict) and _url(entry):
            if default is not None:
                raise TrustError(f"{path}: default-docker is configured twice in {directory}")
            default = _url(entry)
        docker = data.get("docker") or {}
        if not isinstance(docker, dict):
            raise TrustError(f"{path}: docker: expected a mapping of namespaces")
        for namespace, entry in docker.items():
            if isinstance(entry, dict) and _url(entry):
                if namespace in namespaces:
                    raise TrustError(f"{path}: docker.{namespace} is configured twice in {directory}")
                namespaces[str(namespace)] = str(_url(entry))
    return namespaces, default


def _url(entry: dict[str, object]) -> str | None:
    value = entry.get("lookaside", entry.get("sigstore"))
    return str(value).rstrip("/") if value else None


def base_url(ref: references.Reference, directory: Path) -> str | None:
    """The lookaside URL configured for ``ref``'s repository, or None."""
    namespaces, default = _load(directory)
    name = f"{ref.registry}/{ref.repository}"
    while name:
        if name in namespaces:
            return namespaces[name]
        name = name.rpartition("/")[0]
    return default


def signatures(ref: references.Reference, digest: str, directory: Path) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) of each stored signature of ``digest``, in order; none without a lookaside."""
    base = base_url(ref, directory)
    if base is None:
        return
    algorithm, _, hexdigest = digest.partition(":")
    prefix = f"{base}/{ref.repository}@{algorithm}={hexdigest}"
    for n in range(1, MAX_SIGNATURES + 1):
        url = f"{prefix}/signature-{n}"
        data = _read(url)
        if data is None:
            return
        yield url, data


def _read(url: str) -> bytes | None:
    parsed = urlparse(url)
    if parsed.scheme == "file":
        path = Path(unquote(parsed.path))
        try:
            with path.open("rb") as handle:
                return handle.read(MAX_SIGNATURE + 1)[:MAX_SIGNATURE]
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TrustError(f"{url}: cannot read signature: {exc.strerror}") from exc
    if parsed.scheme in ("http", "https"):
        try:
            with requests.get(url, timeout=30, stream=True) as resp:
                if resp.status_code == 404:
                    return None
                if resp.status_code != 200:
                    raise TrustError(f"{url}: lookaside answered HTTP {resp.status_code}")
                data = resp.raw.read(MAX_SIGNATURE + 1, decode_content=True)
                return bytes(data[:MAX_SIGNATURE])
        except requests.RequestException as exc:
            raise TrustError(f"{url}: cannot read signature: {exc}") from exc
    raise TrustError(f"{url}: lookaside scheme {parsed.scheme!r} is not supported (file, http, https)")
