"""The signed payload both signature kinds carry ("simple signing" JSON) and the checks on it.

``critical.image.docker-manifest-digest`` binds the signature to one manifest;
``critical.identity.docker-reference`` to a name, matched as the policy's ``signedIdentity``
says. Cosign writes the repository only (no tag), which only ``matchRepository`` and
``exactRepository`` accept, as in containers/image.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from agent.oci import references
from agent.registry import errors
from agent.trust.errors import SignatureRejected
from agent.trust.policies import Identity

TYPES = {"simple": "atomic container signature", "cosign": "cosign container image signature"}


@dataclass(frozen=True)
class Payload:
    reference: str
    digest: str


def parse(raw: bytes, kind: str, where: str) -> Payload:
    """The claims of a signed payload; anything malformed is a bad signature naming ``where``."""
    try:
        data = json.loads(raw)
        critical = data["critical"]
        claimed_type = critical["type"]
        reference = critical["identity"]["docker-reference"]
        digest = critical["image"]["docker-manifest-digest"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureRejected(
            f"{where}: the signed payload is not a simple-signing document", "bad-signature"
        ) from exc
    if claimed_type != TYPES[kind] or not isinstance(reference, str) or not isinstance(digest, str):
        raise SignatureRejected(
            f"{where}: signed payload of type {claimed_type!r}, expected {TYPES[kind]!r}", "bad-signature"
        )
    return Payload(reference, digest)


def check(payload: Payload, image: references.Reference, digest: str, identity: Identity, where: str) -> None:
    """Raise unless ``payload`` signs ``digest`` for a name ``identity`` accepts for ``image``."""
    if payload.digest != digest:
        raise SignatureRejected(
            f"{where}: signs manifest {payload.digest}, but {image} has manifest {digest}", "digest-mismatch"
        )
    try:
        signed = references.parse(payload.reference)
    except errors.InvalidReference as exc:
        raise SignatureRejected(
            f"{where}: signed reference {payload.reference!r} is invalid", "bad-signature"
        ) from exc
    name_only = "@" not in payload.reference and ":" not in payload.reference.rpartition("/")[2]
    if not identity_matches(signed, image, identity, name_only=name_only):
        hint = " (cosign signs the repository only: use signedIdentity matchRepository)" if name_only else ""
        raise SignatureRejected(
            f"{where}: signed for {payload.reference}, not for {image} (signedIdentity {identity.kind}){hint}",
            "reference-mismatch",
        )


def _repo(ref: references.Reference) -> str:
    return f"{ref.registry}/{ref.repository}"


def identity_matches(
    signed: references.Reference, image: references.Reference, identity: Identity, *, name_only: bool = False
) -> bool:
    """containers/image's rules; a ``name_only`` signature (cosign's) never matches exactly."""
    if identity.kind == "matchRepository":
        return _repo(signed) == _repo(image)
    if identity.kind == "exactRepository":
        return _repo(signed) == _repo(references.parse(identity.value))
    if identity.kind == "exactReference":
        return str(signed) == str(references.parse(identity.value))
    exact = (signed.tag, signed.digest) == (image.tag, image.digest) and _repo(signed) == _repo(image)
    if identity.kind == "matchRepoDigestOrExact" and image.digest is not None:
        return _repo(signed) == _repo(image)
    return exact and not name_only
