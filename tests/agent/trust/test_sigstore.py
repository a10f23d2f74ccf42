"""Cosign key handling: which public keys load, and pure Ed25519 / ECDSA P-256 verification.

We test these aspects:
- ECDSA P-256 and Ed25519 PEM public keys load; RSA and P-384 keys are refused naming the key;
- a pure Ed25519 signature over the payload (as older cosign and sigstore's pure mode make it)
  and an ECDSA P-256 one verify; another key's signature and non-base64 text are bad signatures.
Signatures here are made with ``cryptography``'s own signers (cosign itself is exercised by
test_cosign.py).
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from agent.trust import sigstore
from agent.trust.errors import SignatureRejected, TrustError

PAYLOAD = b'{"critical": {}}'


def pem(key: object) -> bytes:
    public = key.public_key()  # type: ignore[attr-defined]
    data: bytes = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def test_key_types() -> None:
    sigstore.load_key(pem(ec.generate_private_key(ec.SECP256R1())))
    sigstore.load_key(pem(ed25519.Ed25519PrivateKey.generate()))
    with pytest.raises(TrustError, match="only ECDSA P-256 and Ed25519"):
        sigstore.load_key(pem(rsa.generate_private_key(65537, 2048)), "team.pub")
    with pytest.raises(TrustError, match="only ECDSA P-256 and Ed25519"):
        sigstore.load_key(pem(ec.generate_private_key(ec.SECP384R1())))
    with pytest.raises(TrustError, match=r"team\.pub: not a PEM public key"):
        sigstore.load_key(b"garbage", "team.pub")


def test_pure_ed25519_and_ecdsa_verify() -> None:
    ed = ed25519.Ed25519PrivateKey.generate()
    p256 = ec.generate_private_key(ec.SECP256R1())
    keys = [sigstore.load_key(pem(ed)), sigstore.load_key(pem(p256))]
    ed_sig = base64.b64encode(ed.sign(PAYLOAD)).decode()
    ec_sig = base64.b64encode(p256.sign(PAYLOAD, ec.ECDSA(hashes.SHA256()))).decode()
    assert sigstore.fingerprint(sigstore.verify(PAYLOAD, ed_sig, keys, "sig")) == sigstore.fingerprint(
        keys[0]
    )
    assert sigstore.fingerprint(sigstore.verify(PAYLOAD, ec_sig, keys, "sig")) == sigstore.fingerprint(
        keys[1]
    )
    with pytest.raises(SignatureRejected) as caught:
        sigstore.verify(PAYLOAD + b" ", ec_sig, keys, "sig")
    assert caught.value.reason == "bad-signature"
    with pytest.raises(SignatureRejected, match="not base64"):
        sigstore.verify(PAYLOAD, "%%%", keys, "sig")
