"""The one entry point every writer calls before it writes: :func:`check`.

``pull``, ``container deploy``/``update``, ``compose up``, ``kube play`` and the agent call
``check`` with the image reference; it learns the manifest digest (or takes the digest of an
image already in the store), finds the policy scope, evaluates every requirement of the scope and
of the spec (``security.verify``), and returns the verified digest. The caller then pulls exactly
that digest, so a tag re-pushed between the check and the pull is refused by the pull itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.oci import references
from agent.trust import policies
from agent.trust.errors import SignatureRejected, TrustError
from agent.trust.policies import Identity, Requirement

if TYPE_CHECKING:  # the registry client and the verifiers are imported when a check needs them
    from agent.registry import credentials, pulling, retrying
    from agent.trust import verifying

_TRANSPORT_PREFIXES = ("docker://", "oci-archive:", "docker-archive:", "oci:")

KEY_TYPES = ("gpg", "cosign")


@dataclass(frozen=True)
class Verdict:
    """The image accepted: its manifest digest ("" when no requirement needed it), the policy
    scope, and the valid signatures."""

    reference: str
    digest: str
    scope: str
    accepted: tuple[verifying.Accepted, ...]


def key_requirement(key: Path, key_type: str | None = None, origin: str = "") -> Requirement:
    """A requirement from one key file; the type is read from the file when not given
    (a PEM ``PUBLIC KEY`` is a cosign key, anything else OpenPGP)."""
    data = policies.read_key(key, origin)
    if key_type is None:
        key_type = "cosign" if b"-----BEGIN PUBLIC KEY-----" in data else "gpg"
    if key_type not in KEY_TYPES:
        raise TrustError(f"{origin or key}: key type {key_type!r} is not one of {', '.join(KEY_TYPES)}")
    where = origin or f"key {key}"
    if key_type == "cosign":  # cosign signs the repository without a tag
        return Requirement("sigstoreSigned", (data,), Identity("matchRepository"), where)
    return Requirement("signedBy", (data,), Identity(), where)


def spec_requirements(verify: Any, origin: str = "security.verify") -> tuple[Requirement, ...]:
    """The requirement of a spec's ``security.verify`` ({key, type}); none when it is unset."""
    if verify is None:
        return ()
    return (key_requirement(Path(verify.key), verify.type, f"{origin} (key {verify.key})"),)


def check(
    reference: str,
    transport: str = "docker",
    *,
    digest: str | None = None,
    policy: Path | str | None = None,
    use_policy: bool = True,
    require: Sequence[Requirement] = (),
    registries_d: Path | str | None = None,
    creds: str | credentials.Credentials | None = None,
    insecure: Sequence[str] = (),
    ca_file: Path | None = None,
    retry: retrying.RetryPolicy | None = None,
) -> Verdict:
    """Accept ``reference`` or raise SignatureRejected (TrustError for unusable files).

    ``digest``: the digest of an image already in the store (no manifest is fetched).
    ``use_policy=False`` checks only ``require`` (``container verify --key``).
    """
    loaded = policies.load(policies.policy_path(policy)) if use_policy else None
    accepted_anyway = _accepted_without_looking(reference, transport, loaded, require)
    if accepted_anyway is not None:
        return Verdict(accepted_anyway[0], digest or "", accepted_anyway[1], ())
    from agent.registry import layouts, pulling
    from agent.trust import lookasides, verifying

    transport, text = pulling.split_transport(reference, transport)
    source, target = pulling.open_source(
        transport, text, creds=creds, insecure=insecure, ca_file=ca_file, retry=retry
    )
    try:
        if transport == "docker":
            image = references.parse(text)
            scopes = policies.docker_scopes(image.registry, image.repository, image.tag, image.digest)
        else:
            image = target
            path, name = layouts.split_path_ref(text)
            scopes = policies.path_scopes(str(path), name)
        scope, scoped = loaded.for_scope(transport, scopes) if loaded else ("", ())
        where = f"{loaded.path} {scope}" if loaded else "--key"
        requirements = [(where, r) for r in scoped] + [(r.origin or "--key", r) for r in require]
        if not requirements:
            raise TrustError("nothing to verify against: give --key FILE or a policy")
        needs_signature = any(r.kind in ("signedBy", "sigstoreSigned") for _, r in requirements)
        if digest is None and needs_signature:  # accept-anything costs no request
            digest = _manifest_digest(source, image)
        registry = source.client if isinstance(source, pulling.RegistrySource) else None
        found = verifying.Signatures(image, digest or "", registry, lookasides.registries_d(registries_d))
        accepted: list[verifying.Accepted] = []
        for origin, requirement in requirements:
            try:
                accepted += verifying.satisfy(requirement, found)
            except SignatureRejected as exc:
                raise SignatureRejected(f"{reference}: refused by {origin}: {exc}", exc.reason) from exc
        return Verdict(str(image), digest or "", where, tuple(accepted))
    finally:
        source.close()


def _accepted_without_looking(
    reference: str, transport: str, loaded: policies.Policy | None, require: Sequence[Requirement]
) -> tuple[str, str] | None:
    """(image, scope) when a registry image is accepted whatever its manifest and signatures
    are: its policy scope requires nothing but ``insecureAcceptAnything`` and the caller adds no
    requirement. Such a check needs no registry client, no credentials and no verifier, whose
    imports (requests, cryptography) and setup were a fifth of a second before the first
    container of ``compose up`` could start; None otherwise (the full check decides)."""
    if loaded is None or require or transport != "docker" or reference.startswith(_TRANSPORT_PREFIXES):
        return None
    image = references.parse(reference)
    scopes = policies.docker_scopes(image.registry, image.repository, image.tag, image.digest)
    scope, scoped = loaded.for_scope("docker", scopes)
    if not scoped or any(r.kind != "insecureAcceptAnything" for r in scoped):
        return None
    return str(image), f"{loaded.path} {scope}"


def _manifest_digest(source: pulling.Source, image: references.Reference) -> str:
    """The digest of the reference's own manifest (an index's, for multi-platform images: that is
    what skopeo and cosign sign)."""
    from agent.registry import errors, manifests

    raw, media_type, announced = source.get_manifest(None)
    parsed = manifests.parse(raw, media_type, source.name)
    if announced is not None and announced != parsed.digest:
        raise errors.ManifestError(source.name, f"manifest hashes to {parsed.digest}, expected {announced}")
    if image.digest is not None and parsed.digest != image.digest:
        raise errors.ManifestError(
            source.name, f"manifest hashes to {parsed.digest}, but {image} pins {image.digest}"
        )
    return parsed.digest


def gate(
    policy: Path | str | None = None, creds: credentials.Credentials | None = None
) -> Callable[..., str]:
    """The store's trust gate (``agent.store.deploying.Gate``) for ``policy``: :func:`check` with
    the spec's own ``security.verify`` as an extra requirement; returns the verified digest. The
    store cannot call :func:`check` itself: it sits below the registry client that check uses.
    ``creds``: for a registry that wants them to show a manifest (the pull's own, bound here)."""

    def check_image(reference: str, transport: str, /, *, verify: Any, digest: str | None) -> str:
        return check(
            reference,
            transport,
            digest=digest,
            policy=policy,
            require=spec_requirements(verify),
            creds=creds,
        ).digest

    return check_image
