"""Cosign signatures checked with a public key through ``cryptography``.

Cosign signs the payload bytes: ECDSA P-256 over SHA-256 (ASN.1 DER signature), or Ed25519 over
the payload itself (pure Ed25519; cosign 2.x signs images with Ed25519 keys as Ed25519ph, which
``cryptography`` does not offer, so such signatures are refused with that hint); the signature travels base64-encoded in the layer annotation
``dev.cosignproject.cosign/signature``. Keyless signing (Fulcio certificates, Rekor inclusion)
needs the network and is not supported.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from agent.trust.errors import SignatureRejected, TrustError

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


def load_key(pem: bytes, where: str = "") -> PublicKey:
    """A cosign public key (PEM ``PUBLIC KEY``): ECDSA P-256 or Ed25519."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise TrustError(f"{where or 'key'}: not a PEM public key ({exc})") from exc
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise TrustError(f"{where or 'key'}: only ECDSA P-256 and Ed25519 cosign keys are supported")


def fingerprint(key: PublicKey) -> str:
    """SHA-256 of the key's SubjectPublicKeyInfo, to say which key signed."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def verify(payload: bytes, signature_b64: str, keys: Sequence[PublicKey], where: str) -> PublicKey:
    """The key among ``keys`` whose signature ``signature_b64`` over ``payload`` is; else raise."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureRejected(f"{where}: the signature annotation is not base64", "bad-signature") from exc
    for key in keys:
        try:
            if isinstance(key, ed25519.Ed25519PublicKey):
                key.verify(signature, payload)
            else:
                key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            continue
        return key
    hint = (
        " (cosign 2.x signs with Ed25519 keys as Ed25519ph, which is not supported: use an ECDSA P-256 key)"
        if any(isinstance(key, ed25519.Ed25519PublicKey) for key in keys)
        else ""
    )
    raise SignatureRejected(
        f"{where}: the signature does not verify with the trusted key(s): another key signed it, "
        f"or the payload was altered{hint}",
        "bad-signature",
    )
