"""Whether one requirement of a policy holds for one manifest digest.

Signatures are gathered lazily, once per image (:class:`Signatures`): simple signatures from the
lookaside configured in registries.d, else from the registry's signature extension; cosign
signatures from the ``.sig`` tag. A requirement holds when at least one signature verifies with
one of its keys, signs this digest and names an accepted reference. When none does, the reason of
the most telling failure is reported (a bad signature says more than "no signature").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from agent.oci import references
from agent.registry import client
from agent.trust import attachments, lookasides, openpgp, payloads, sigstore
from agent.trust.errors import Reason, SignatureRejected
from agent.trust.policies import Requirement

_RANK: dict[Reason, int] = {
    "no-signature": 0,
    "unknown-key": 1,
    "reference-mismatch": 2,
    "digest-mismatch": 3,
    "bad-signature": 4,
}


@dataclass(frozen=True)
class Accepted:
    """One valid signature: who signed which digest for which name."""

    kind: str
    signer: str
    digest: str
    reference: str
    where: str


@dataclass
class Signatures:
    """The signatures of one image, fetched at most once each."""

    image: references.Reference
    digest: str
    registry: client.RegistryClient | None
    registries_d: Path
    _simple: list[tuple[str, bytes]] | None = field(default=None, repr=False)
    _cosign: list[attachments.CosignSignature] | None = field(default=None, repr=False)

    def simple(self) -> list[tuple[str, bytes]]:
        if self._simple is None:
            if self.registry is None:
                self._simple = []
            elif lookasides.base_url(self.image, self.registries_d) is not None:
                self._simple = list(lookasides.signatures(self.image, self.digest, self.registries_d))
            else:
                self._simple = list(attachments.extension_signatures(self.registry, self.image, self.digest))
        return self._simple

    def cosign(self) -> list[attachments.CosignSignature]:
        if self._cosign is None:
            self._cosign = (
                []
                if self.registry is None
                else list(attachments.cosign_signatures(self.registry, self.image, self.digest))
            )
        return self._cosign


def satisfy(requirement: Requirement, found: Signatures) -> list[Accepted]:
    """The signatures that satisfy ``requirement`` (at least one), or SignatureRejected."""
    if requirement.kind == "insecureAcceptAnything":
        return []
    if requirement.kind == "reject":
        raise SignatureRejected("the policy rejects every image here", "rejected")
    failures: list[SignatureRejected] = []
    accepted = (
        _simple(requirement, found, failures)
        if requirement.kind == "signedBy"
        else _cosign(requirement, found, failures)
    )
    if accepted:
        return accepted
    if failures:
        raise max(failures, key=lambda f: _RANK.get(f.reason, 0))
    kind = "GnuPG (simple signing)" if requirement.kind == "signedBy" else "cosign"
    if found.registry is None:
        raise SignatureRejected(f"no {kind} signature: only registry images carry signatures", "no-signature")
    raise SignatureRejected(
        f"no {kind} signature for {found.digest} {_searched(requirement, found)}", "no-signature"
    )


def _searched(requirement: Requirement, found: Signatures) -> str:
    """Where signatures were looked for, so that a user can tell a missing signature from a
    missing lookaside configuration."""
    if requirement.kind == "sigstoreSigned":
        return "in the registry"
    base = lookasides.base_url(found.image, found.registries_d)
    if base is not None:
        return f"in the lookaside {base}"
    return f"(no lookaside for {found.image.registry}/{found.image.repository} in {found.registries_d})"


def _simple(requirement: Requirement, found: Signatures, failures: list[SignatureRejected]) -> list[Accepted]:
    accepted = []
    for where, blob in found.simple():
        try:
            signer, raw = openpgp.verify(blob, requirement.keys, where)
            payload = payloads.parse(raw, "simple", where)
            payloads.check(payload, found.image, found.digest, requirement.identity, where)
        except SignatureRejected as exc:
            failures.append(exc)
            continue
        accepted.append(Accepted("simple-signing", signer, payload.digest, payload.reference, where))
    return accepted


def _cosign(requirement: Requirement, found: Signatures, failures: list[SignatureRejected]) -> list[Accepted]:
    keys = [sigstore.load_key(key, requirement.origin) for key in requirement.keys]
    accepted = []
    for entry in found.cosign():
        try:
            key = sigstore.verify(entry.payload, entry.signature, keys, entry.where)
            payload = payloads.parse(entry.payload, "cosign", entry.where)
            payloads.check(payload, found.image, found.digest, requirement.identity, entry.where)
        except SignatureRejected as exc:
            failures.append(exc)
            continue
        accepted.append(
            Accepted("cosign", sigstore.fingerprint(key), payload.digest, payload.reference, entry.where)
        )
    return accepted
