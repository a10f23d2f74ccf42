"""Cosign signatures made by ``cosign sign --key`` (cosign built from Go modules by
.ci/cosign/build), verified by ``berth container verify`` and enforced by the policy.

We test these aspects:
- an ECDSA P-256 key pair from ``cosign generate-key-pair``: the signature in the registry's
  ``sha256-<hex>.sig`` tag verifies with ``--key cosign.pub``, naming the key and the digest;
- an Ed25519 key (made by openssl, imported with ``cosign import-key-pair``): cosign 2.6 signs
  with Ed25519ph, which ``cryptography`` lacks: refused with a hint saying so (pure Ed25519 is
  covered by test_sigstore.py);
- another key's signature, a corrupted signature annotation (the ``.sig`` manifest re-pushed with
  one byte changed) and a re-pushed tag are refused with their reasons;
- a policy with ``sigstoreSigned`` and ``signedIdentity: matchRepository`` deploys the signed image
  and refuses the unsigned one with nothing written; without matchRepository the tag reference is
  refused as a reference mismatch (cosign signs the repository only), with a hint.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from agent.cli.main import cli
from agent.trust import attachments
from tests.agent.trust.conftest import Signed
from tests.agent.trust.test_enforcing import written
from tests.support import registry, signing


def run(*args: str, code: int) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@dataclass(frozen=True)
class Cosigned:
    signed: Signed
    ecdsa: signing.CosignKey
    ed25519: signing.CosignKey
    other: signing.CosignKey

    def ref(self, repo: str) -> str:
        return self.signed.ref(repo)


@pytest.fixture(scope="module")
def cosigned(signed: Signed) -> Iterator[Cosigned]:
    if not signing.cosign_available():
        pytest.fail(f"{signing.COSIGN} is missing: run bash .ci/cosign/build (.ci/setup does)")
    work = signed.work / "cosign"
    ecdsa = signing.cosign_key(work / "ecdsa")
    other = signing.cosign_key(work / "other")
    ed = work / "ed25519"
    ed.mkdir(parents=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(ed / "ed.pem")], check=True)
    ed25519 = signing.cosign_import(ed / "ed.pem", ed)
    layout = signed.images.layout
    for repo, tag in (("cosigned/app", "simple"), ("cosigned/ed", "simple"), ("cosigned/other", "simple"),
                      ("cosigned/moving", "simple"), ("cosigned/broken", "simple")):  # fmt: skip
        registry.push(layout, tag, signed.ref(f"{repo}:1"))
    digest = signed.images.simple.digest
    signing.cosign_sign(ecdsa, signed.ref(f"cosigned/app@{digest}"))
    signing.cosign_sign(ed25519, signed.ref(f"cosigned/ed@{digest}"))
    signing.cosign_sign(other, signed.ref(f"cosigned/other@{digest}"))
    signing.cosign_sign(ecdsa, signed.ref(f"cosigned/moving@{digest}"))
    signing.cosign_sign(ecdsa, signed.ref(f"cosigned/broken@{digest}"))
    yield Cosigned(signed, ecdsa, ed25519, other)


def test_ecdsa_signature_verifies(cosigned: Cosigned) -> None:
    out = json.loads(run("container", "verify", "--key", str(cosigned.ecdsa.public), cosigned.ref("cosigned/app:1"),
                         "-o", "json", code=0).stdout)  # fmt: skip
    assert out["digest"] == cosigned.signed.images.simple.digest
    [sig] = out["signatures"]
    assert sig["kind"] == "cosign" and sig["reference"] == cosigned.ref("cosigned/app")
    assert sig["signer"].startswith("sha256:")


def test_ed25519_ph_is_refused_with_a_hint(cosigned: Cosigned) -> None:
    """cosign 2.6 signs with Ed25519 keys as Ed25519ph (its own ``verify --key`` refuses them too)."""
    result = run(
        "container", "verify", "--key", str(cosigned.ed25519.public), cosigned.ref("cosigned/ed:1"), code=1
    )
    assert "Ed25519ph, which is not supported" in result.stderr


def test_another_key_is_refused(cosigned: Cosigned) -> None:
    result = run("container", "verify", "--key", str(cosigned.ecdsa.public), cosigned.ref("cosigned/other:1"),
                 "-o", "json", code=1)  # fmt: skip
    assert json.loads(result.stdout)["reason"] == "bad-signature"
    assert "does not verify with the trusted key" in result.stderr


def test_re_pushed_tag_is_refused(cosigned: Cosigned) -> None:
    ref = cosigned.ref("cosigned/moving:1")
    run("container", "verify", "--key", str(cosigned.ecdsa.public), ref, code=0)
    registry.push(cosigned.signed.images.layout, "zstd", ref)
    result = run("container", "verify", "--key", str(cosigned.ecdsa.public), ref, "-o", "json", code=1)
    assert json.loads(result.stdout)["reason"] == "no-signature"


def test_corrupted_signature_is_refused(cosigned: Cosigned) -> None:
    host, digest = cosigned.signed.registry.host, cosigned.signed.images.simple.digest
    url = f"http://{host}/v2/cosigned/broken/manifests/{attachments.cosign_tag(digest)}"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    manifest = requests.get(url, headers=accept, timeout=30).json()
    layer = manifest["layers"][0]
    signature = bytearray(base64.b64decode(layer["annotations"][attachments.SIGNATURE_ANNOTATION]))
    signature[-3] ^= 0x01
    layer["annotations"][attachments.SIGNATURE_ANNOTATION] = base64.b64encode(bytes(signature)).decode()
    put = requests.put(url, data=json.dumps(manifest), timeout=30,
                       headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})  # fmt: skip
    assert put.status_code == 201, put.text
    result = run("container", "verify", "--key", str(cosigned.ecdsa.public), cosigned.ref("cosigned/broken:1"),
                 "-o", "json", code=1)  # fmt: skip
    assert json.loads(result.stdout)["reason"] == "bad-signature"


def test_policy_with_a_cosign_key(cosigned: Cosigned, store_root: Path) -> None:
    signed = cosigned.signed
    requirement = {"type": "sigstoreSigned", "keyPath": str(cosigned.ecdsa.public)}
    scope = signed.ref("cosigned")
    policy = signed.policy("cosign", {"default": [{"type": "reject"}], "transports": {"docker": {
        scope: [{**requirement, "signedIdentity": {"type": "matchRepository"}}]}}})  # fmt: skip
    root = ["--root", str(store_root), "--policy", str(policy)]
    run("container", "deploy", "--no-start", signed.ref("cosigned/other:1"), *root, code=1)  # another key
    run("container", "deploy", "--no-start", signed.ref("unsigned/app:1"), *root, code=1)  # outside the scope
    assert written(store_root) == []
    run("container", "deploy", "--no-start", signed.ref("cosigned/app:1"), *root, code=0)
    assert (store_root / "deployments" / "app" / "state.json").is_file()
    strict = signed.policy("cosign-strict", {"default": [{"type": "reject"}], "transports": {"docker": {
        scope: [requirement]}}})  # fmt: skip
    result = run(
        "pull", signed.ref("cosigned/app:1"), "--root", str(store_root), "--policy", str(strict), code=1
    )
    assert "use signedIdentity matchRepository" in result.stderr
