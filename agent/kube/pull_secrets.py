"""A ContainerDeployment's ``imagePullSecrets``: the registry credentials for its image's pull.

As the kubelet does, the agent reads the named Secrets of the resource's own namespace when it
pulls (RBAC: ``get`` on secrets, no list or watch, so it never holds secrets it was not pointed
at), accepts the two types Kubernetes defines for this (``kubernetes.io/dockerconfigjson``: an
auth file, ``{"auths": {HOST: ENTRY}}``; ``kubernetes.io/dockercfg``: the older bare
``{HOST: ENTRY}``) and looks the image's registry up the way auth files are read
(``agent.registry.credentials.from_auths``: ``auth`` base64 or ``username``/``password``,
``host/namespace`` keys, the longest match first); the first secret with an entry wins.

The credentials go to the pull and nowhere else: not logged, not cached, not written to the store,
the agent's memory or the status. What went wrong with the secrets is kept as notes, without
their content, so a failed pull can say why it had no (or the wrong) credentials.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from agent.kube.client import Kube, KubeError
from agent.oci import references
from agent.registry import credentials
from agent.registry.credentials import Credentials
from translators.errors import BerthError

DOCKERCONFIGJSON = "kubernetes.io/dockerconfigjson"
DOCKERCFG = "kubernetes.io/dockercfg"
_KEYS = {DOCKERCONFIGJSON: ".dockerconfigjson", DOCKERCFG: ".dockercfg"}


@dataclass(frozen=True)
class PullCredentials:
    """What the resource's pull secrets give for one image."""

    credentials: Credentials | None = None
    """For the image's registry; None: anonymous (or the node's own auth files)."""
    notes: tuple[str, ...] = ()
    """Secrets that could not be used, and why (never their content)."""

    def explain(self, names: Sequence[str]) -> str:
        """A sentence to append to a failed pull's message."""
        if not names:
            return "the resource names no imagePullSecrets"
        used = f"credentials from {self.credentials.origin}" if self.credentials else "no credentials"
        return "; ".join([f"imagePullSecrets {', '.join(names)}: {used}", *self.notes])


def resolve(
    kube: Kube, namespace: str, names: Sequence[str], image: str, transport: str = "docker"
) -> PullCredentials:
    """The credentials ``names`` (Secrets in ``namespace``) hold for ``image``'s registry."""
    if not names or transport != "docker":
        return PullCredentials()
    try:
        ref = references.parse(image.removeprefix("docker://"))
    except BerthError:
        return PullCredentials(notes=(f"image {image!r} is not a registry reference",))
    notes: list[str] = []
    for name in names:
        where = f"secret {namespace}/{name}"
        try:
            secret = kube.call("GET", f"/api/v1/namespaces/{quote(namespace)}/secrets/{quote(name)}")
        except KubeError as exc:
            if exc.status == 404:
                notes.append(f"{where} not found")
            elif exc.status == 403:
                notes.append(f"{where}: the agent may not read it (RBAC: get on secrets)")
            else:
                notes.append(f"{where}: {exc}")
            continue
        try:
            auths = _auths(secret, where)
            found = credentials.from_auths(auths, ref.registry, ref.repository, where)
        except BerthError as exc:  # the messages name the secret and the key, never a value
            notes.append(str(exc))
            continue
        if found is not None:
            return PullCredentials(found, tuple(notes))
        notes.append(f"{where} has no entry for {ref.registry}")
    return PullCredentials(None, tuple(notes))


class SecretUnusable(BerthError):
    """A pull secret of the wrong type or with a malformed payload."""


def _auths(secret: dict[str, Any], where: str) -> dict[str, Any]:
    """The ``auths`` map of a pull secret, whichever of the two types it is."""
    kind = secret.get("type") or ""
    key = _KEYS.get(kind)
    if key is None:
        raise SecretUnusable(f"{where} has type {kind or 'Opaque'!r}, not {DOCKERCONFIGJSON} or {DOCKERCFG}")
    raw = (secret.get("data") or {}).get(key)
    if not raw:
        raise SecretUnusable(f"{where} has no data key {key}")
    try:
        doc = json.loads(base64.b64decode(raw, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise SecretUnusable(f"{where}: {key} is not base64-encoded JSON") from exc
    auths = doc.get("auths") if kind == DOCKERCONFIGJSON and isinstance(doc, dict) else doc
    if not isinstance(auths, dict):
        raise SecretUnusable(f"{where}: {key} holds no auths map")
    return auths
