"""Signatures a registry itself holds: cosign's ``sha256-<hex>.sig`` tag and the signature
extension of registries that have one (``/extensions/v2/REPO/signatures/DIGEST``, OpenShift's).

Cosign stores one image manifest per signed digest under the tag ``sha256-<hex>.sig``; each layer
is a simple-signing payload (media type ``application/vnd.dev.cosign.simplesigning.v1+json``) with
its base64 signature in the annotation ``dev.cosignproject.cosign/signature``. Payloads are read
into memory (bounded, digest-checked), never into the store.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass

from agent.oci import references
from agent.registry import authorizing, client, errors, manifests, reading
from agent.trust.errors import SignatureRejected

SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
PAYLOAD_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
MAX_PAYLOAD = 1 << 20
MAX_ENTRIES = 64


@dataclass(frozen=True)
class CosignSignature:
    where: str
    payload: bytes
    signature: str


def cosign_tag(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"{algorithm}-{hexdigest}.sig"


def _get(registry: client.RegistryClient, repository: str, path: str, what: str, limit: int) -> bytes | None:
    try:
        resp = registry.request(
            "GET",
            path,
            scope=authorizing.pull_scope(repository),
            headers={"Accept": manifests.ACCEPT},
            what=what,
        )
    except errors.NotFound:
        return None
    with resp:
        try:
            raw = reading.read_bounded(resp, limit)
        except reading.READ_ERRORS as exc:
            raise errors.TransportError(registry.host, f"{what}: connection failed mid-body: {exc}") from exc
    if len(raw) > limit:
        raise SignatureRejected(f"{registry.host}: {what} is larger than {limit} bytes", "bad-signature")
    return raw


def cosign_signatures(
    registry: client.RegistryClient, ref: references.Reference, digest: str
) -> Iterator[CosignSignature]:
    """Every cosign signature stored for ``digest`` in ``ref``'s repository."""
    tag = cosign_tag(digest)
    where = f"{ref.registry}/{ref.repository}:{tag}"
    raw = _get(
        registry,
        ref.repository,
        f"/v2/{ref.repository}/manifests/{tag}",
        f"cosign signatures {where}",
        4 << 20,
    )
    if raw is None:
        return
    manifest = manifests.parse(raw, None, ref.registry)
    for layer in manifest.layers[:MAX_ENTRIES]:
        signature = layer.annotations.get(SIGNATURE_ANNOTATION)
        if signature is None or layer.media_type != PAYLOAD_TYPE:
            continue
        at = f"{where} layer {layer.digest}"
        payload = _get(
            registry, ref.repository, f"/v2/{ref.repository}/blobs/{layer.digest}", at, MAX_PAYLOAD
        )
        if payload is None:
            raise SignatureRejected(f"{at}: the signed payload is missing from the registry", "bad-signature")
        if manifests.sha256(payload) != layer.digest:
            raise SignatureRejected(f"{at}: the payload does not hash to its digest", "bad-signature")
        yield CosignSignature(at, payload, signature)


def extension_signatures(
    registry: client.RegistryClient, ref: references.Reference, digest: str
) -> Iterator[tuple[str, bytes]]:
    """Simple signatures from the registry's signature extension; none where it has none."""
    path = f"/extensions/v2/{ref.repository}/signatures/{digest}"
    try:
        raw = _get(registry, ref.repository, path, f"signatures of {digest}", 4 << 20)
    except errors.ServerError:
        return  # a registry without the extension may answer 400/405 rather than 404
    if raw is None:
        return
    try:
        entries = json.loads(raw).get("signatures") or []
    except (ValueError, AttributeError):
        return  # not the extension: some registries answer unknown paths with HTML
    for i, entry in enumerate(entries[:MAX_ENTRIES]):
        if not isinstance(entry, dict) or entry.get("type", "atomic") != "atomic":
            continue
        try:
            yield f"{registry.host}{path} [{i}]", base64.b64decode(entry.get("content", ""), validate=True)
        except (binascii.Error, ValueError, TypeError):
            continue
