"""The containers-policy.json format (``man containers-policy.json``), read as podman reads it.

A policy maps a transport and a *scope* to requirements that must all hold:
``insecureAcceptAnything``, ``reject``, ``signedBy`` (GnuPG keys, simple signing) and
``sigstoreSigned`` (a cosign public key). The most specific scope wins: for ``docker`` that is
``host/repo:tag``, then ``host/repo``, its parent namespaces, ``host``, a ``*.domain`` wildcard,
and the transport's ``""``; for ``oci``, ``oci-archive`` and ``docker-archive`` the absolute path
(with ``:tag``), then its parent directories; the top-level ``default`` last.

Keys are read when the policy is loaded, so a missing key file is an error naming the policy,
not a silent rejection later. Relative key paths are relative to the policy file. Keyless
sigstore (``fulcio``, ``rekorPublicKey*``) needs the network and is refused as unsupported.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from agent.trust.errors import TrustError

ENV_POLICY = "BERTH_POLICY"
SYSTEM_POLICY = Path("/etc/containers/policy.json")
TRANSPORTS = ("docker", "oci", "oci-archive", "docker-archive")
Kind = Literal["insecureAcceptAnything", "reject", "signedBy", "sigstoreSigned"]
IdentityKind = Literal[
    "matchExact", "matchRepoDigestOrExact", "matchRepository", "exactReference", "exactRepository"
]
_IDENTITY_KINDS = (
    "matchExact",
    "matchRepoDigestOrExact",
    "matchRepository",
    "exactReference",
    "exactRepository",
)


@dataclass(frozen=True)
class Identity:
    """``signedIdentity``: which docker reference a signature must claim."""

    kind: IdentityKind = "matchRepoDigestOrExact"
    value: str = ""
    """``dockerReference`` of exactReference, ``dockerRepository`` of exactRepository."""


@dataclass(frozen=True)
class Requirement:
    """One requirement; ``keys`` are key files' bytes (armored or binary OpenPGP, or PEM)."""

    kind: Kind
    keys: tuple[bytes, ...] = ()
    identity: Identity = field(default_factory=Identity)
    origin: str = ""
    """Where it came from, for messages: ``policy.json: transports.docker["host/repo"]``."""


@dataclass(frozen=True)
class Policy:
    path: str
    default: tuple[Requirement, ...]
    transports: Mapping[str, Mapping[str, tuple[Requirement, ...]]]

    def for_scope(self, transport: str, scopes: list[str]) -> tuple[str, tuple[Requirement, ...]]:
        """The requirements of the most specific of ``scopes`` (most specific first), and its name."""
        section = self.transports.get(transport, {})
        for scope in [*scopes, ""]:
            if scope in section:
                return f'transports.{transport}["{scope}"]', section[scope]
        return "default", self.default


def policy_path(explicit: Path | str | None = None) -> Path:
    """``--policy``, else ``$BERTH_POLICY``, else /etc/containers/policy.json (as podman)."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_POLICY)
    return Path(env) if env else SYSTEM_POLICY


def load(path: Path) -> Policy:
    """Read and validate a policy file; every problem names the file and the JSON path."""
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError as exc:
        raise TrustError(
            f"{path}: no trust policy (write one, or give --policy FILE / ${ENV_POLICY})"
        ) from exc
    except (OSError, ValueError) as exc:
        raise TrustError(f"{path}: cannot read the trust policy: {exc}") from exc
    return parse(data, path)


def parse(data: Any, path: Path) -> Policy:
    if not isinstance(data, dict):
        raise TrustError(f"{path}: a policy must be a JSON object")
    unknown = set(data) - {"default", "transports"}
    if unknown:
        raise TrustError(f"{path}: unknown key {sorted(unknown)[0]!r} (expected default, transports)")
    if "default" not in data:
        raise TrustError(f'{path}: default: required (for example [{{"type": "reject"}}])')
    default = _requirements(data["default"], path, "default")
    transports: dict[str, dict[str, tuple[Requirement, ...]]] = {}
    raw_transports = data.get("transports", {})
    if not isinstance(raw_transports, dict):
        raise TrustError(f"{path}: transports: must be an object")
    for transport, scopes in raw_transports.items():
        if not isinstance(scopes, dict):
            raise TrustError(f"{path}: transports.{transport}: must be an object of scopes")
        transports[transport] = {
            scope: _requirements(reqs, path, f'transports.{transport}["{scope}"]')
            for scope, reqs in scopes.items()
        }
    return Policy(str(path), default, transports)


def _requirements(value: Any, path: Path, where: str) -> tuple[Requirement, ...]:
    if not isinstance(value, list) or not value:
        raise TrustError(f"{path}: {where}: must be a non-empty list of requirements")
    return tuple(_requirement(item, path, f"{where}[{i}]") for i, item in enumerate(value))


def _requirement(item: Any, path: Path, where: str) -> Requirement:
    if not isinstance(item, dict) or not isinstance(item.get("type"), str):
        raise TrustError(f"{path}: {where}: must be an object with a type")
    kind = item["type"]
    origin = f"{path}: {where}"
    if kind in ("insecureAcceptAnything", "reject"):
        _only(item, {"type"}, origin)
        return Requirement(kind, origin=origin)
    if kind == "signedBy":
        _only(item, {"type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"}, origin)
        if item.get("keyType") not in ("GPGKeys",):
            raise TrustError(f"{origin}: keyType {item.get('keyType')!r} is not supported (GPGKeys)")
        return Requirement("signedBy", _keys(item, path, origin), _identity(item, origin), origin)
    if kind == "sigstoreSigned":
        keyless = {"fulcio", "rekorPublicKeyPath", "rekorPublicKeyData", "rekorPublicKeyPaths"}
        if keyless & set(item):
            raise TrustError(
                f"{origin}: {sorted(keyless & set(item))[0]} (keyless sigstore, Fulcio/Rekor) needs "
                "the network and is not supported; give keyPath with a cosign public key"
            )
        _only(item, {"type", "keyPath", "keyPaths", "keyData", "signedIdentity"}, origin)
        return Requirement("sigstoreSigned", _keys(item, path, origin), _identity(item, origin), origin)
    raise TrustError(
        f"{origin}: unknown type {kind!r} (insecureAcceptAnything, reject, signedBy, sigstoreSigned)"
    )


def _only(item: dict[str, Any], allowed: set[str], origin: str) -> None:
    extra = sorted(set(item) - allowed)
    if extra:
        raise TrustError(f"{origin}: unknown key {extra[0]!r} for type {item['type']}")


def _keys(item: dict[str, Any], path: Path, origin: str) -> tuple[bytes, ...]:
    given = [k for k in ("keyPath", "keyPaths", "keyData") if k in item]
    if len(given) != 1:
        raise TrustError(f"{origin}: exactly one of keyPath, keyPaths, keyData is required")
    if "keyData" in item:
        try:
            return (base64.b64decode(item["keyData"], validate=True),)
        except (ValueError, TypeError) as exc:
            raise TrustError(f"{origin}: keyData is not base64: {exc}") from exc
    paths = item.get("keyPaths") if "keyPaths" in item else [item["keyPath"]]
    if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
        raise TrustError(f"{origin}: {given[0]} must name key files")
    return tuple(read_key(path.parent / p, origin) for p in paths)


def read_key(path: Path, origin: str = "") -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrustError(f"{origin + ': ' if origin else ''}cannot read key {path}: {exc.strerror}") from exc
    if not data.strip():
        raise TrustError(f"{origin + ': ' if origin else ''}key file {path} is empty")
    return data


def _identity(item: dict[str, Any], origin: str) -> Identity:
    raw = item.get("signedIdentity")
    if raw is None:
        return Identity()
    if not isinstance(raw, dict) or raw.get("type") not in _IDENTITY_KINDS:
        raise TrustError(f"{origin}: signedIdentity.type must be one of {', '.join(_IDENTITY_KINDS)}")
    kind = raw["type"]
    key = {"exactReference": "dockerReference", "exactRepository": "dockerRepository"}.get(kind)
    if key is not None and not isinstance(raw.get(key), str):
        raise TrustError(f"{origin}: signedIdentity {kind} needs {key}")
    return Identity(kind, str(raw.get(key, "")) if key else "")


def docker_scopes(registry: str, repository: str, tag: str | None, digest: str | None) -> list[str]:
    """Most specific first: ``host/a/b:tag``, ``host/a/b``, ``host/a``, ``host``, ``*.d.tld``..."""
    name = f"{registry}/{repository}"
    scopes = [f"{name}@{digest}"] if digest else []
    if tag and not digest:
        scopes.append(f"{name}:{tag}")
    scopes += list(_parents(name))
    host = registry.split(":", 1)[0]
    parts = host.split(".")
    scopes += ["*." + ".".join(parts[i:]) for i in range(1, len(parts))]
    return scopes


def path_scopes(path: str, tag: str | None) -> list[str]:
    """Layouts and archives: ``/abs/dir:tag``, ``/abs/dir``, ``/abs``, ..., ``/``."""
    absolute = str(Path(path).resolve())
    scopes = [f"{absolute}:{tag}"] if tag else []
    return scopes + list(_parents(absolute)) + (["/"] if absolute != "/" else [])


def _parents(name: str) -> Iterator[str]:
    while name and name != "/":
        yield name
        name = name.rpartition("/")[0]
