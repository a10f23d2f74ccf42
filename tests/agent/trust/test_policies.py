"""Reading containers-policy.json and choosing its scope; signedIdentity rules.

We test these aspects:
- the most specific scope wins: ``host/repo:tag``, ``host/repo``, parent namespaces, ``host``,
  ``*.domain`` wildcards, the transport's ``""``, then ``default``; layouts by absolute path;
- keys are read relative to the policy file, from keyData (base64) and keyPaths; a missing key
  file, an unknown type or key, an empty requirement list, a missing default and keyless sigstore
  (fulcio) are errors naming the file and the JSON path;
- signedIdentity: the default matchRepoDigestOrExact (exact for tags, repository for digests),
  matchRepository, exactReference, and a name-only (cosign) signature never matching exactly.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from agent.oci import references
from agent.trust import payloads, policies
from agent.trust.errors import SignatureRejected, TrustError
from agent.trust.policies import Identity

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data))
    return path


def scoped(policy: policies.Policy, ref: str) -> str:
    r = references.parse(ref)
    scope, _ = policy.for_scope("docker", policies.docker_scopes(r.registry, r.repository, r.tag, r.digest))
    return scope


def test_most_specific_scope_wins(tmp_path: Path) -> None:
    accept = [{"type": "insecureAcceptAnything"}]
    policy = policies.load(
        write(
            tmp_path,
            {
                "default": [{"type": "reject"}],
                "transports": {
                    "docker": {
                        "reg.example.com/team/app:1": accept,
                        "reg.example.com/team/app": accept,
                        "reg.example.com/team": accept,
                        "reg.example.com": accept,
                        "*.example.com": accept,
                        "": accept,
                    },
                    "oci": {"/srv/layouts": accept},
                },
            },
        )
    )
    assert scoped(policy, "reg.example.com/team/app:1") == 'transports.docker["reg.example.com/team/app:1"]'
    assert scoped(policy, "reg.example.com/team/app:2") == 'transports.docker["reg.example.com/team/app"]'
    assert scoped(policy, "reg.example.com/team/other/x") == 'transports.docker["reg.example.com/team"]'
    assert scoped(policy, "reg.example.com/solo") == 'transports.docker["reg.example.com"]'
    assert scoped(policy, "mirror.example.com/x") == 'transports.docker["*.example.com"]'
    assert scoped(policy, "quay.io/x") == 'transports.docker[""]'
    scope, reqs = policy.for_scope("oci", policies.path_scopes("/srv/layouts/web", "1"))
    assert scope == 'transports.oci["/srv/layouts"]' and reqs[0].kind == "insecureAcceptAnything"
    assert policy.for_scope("oci", policies.path_scopes("/elsewhere", None))[0] == "default"


def test_keys_relative_base64_and_lists(tmp_path: Path) -> None:
    (tmp_path / "a.gpg").write_bytes(b"key-a")
    (tmp_path / "b.gpg").write_bytes(b"key-b")
    policy = policies.load(
        write(
            tmp_path,
            {
                "default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "a.gpg"}],
                "transports": {
                    "docker": {
                        "x.io": [{"type": "signedBy", "keyType": "GPGKeys", "keyPaths": ["a.gpg", "b.gpg"]}],
                        "y.io": [{"type": "sigstoreSigned", "keyData": base64.b64encode(b"pem").decode()}],
                    }
                },
            },
        )
    )
    assert policy.default[0].keys == (b"key-a",)
    assert policy.transports["docker"]["x.io"][0].keys == (b"key-a", b"key-b")
    assert policy.transports["docker"]["y.io"][0].keys == (b"pem",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"transports": {}}, "default: required"),
        ({"default": []}, "default: must be a non-empty list"),
        ({"default": [{"type": "trustMe"}]}, "default[0]: unknown type 'trustMe'"),
        ({"default": [{"type": "reject", "keyPath": "x"}]}, "unknown key 'keyPath' for type reject"),
        (
            {"default": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "missing.gpg"}]},
            "cannot read key",
        ),
        ({"default": [{"type": "signedBy", "keyType": "X509Certificates", "keyPath": "k"}]}, "keyType"),
        ({"default": [{"type": "signedBy", "keyType": "GPGKeys"}]}, "exactly one of keyPath"),
        ({"default": [{"type": "sigstoreSigned", "fulcio": {}}]}, "keyless sigstore"),
        ({"default": [{"type": "reject"}], "transports": {"docker": {"x": []}}}, 'transports.docker["x"]'),
    ],
)
def test_invalid_policies_name_file_and_path(tmp_path: Path, data: object, message: str) -> None:
    path = write(tmp_path, data)
    with pytest.raises(TrustError) as caught:
        policies.load(path)
    assert str(path) in str(caught.value) and message in str(caught.value)


DEFAULT = Identity()


def check(signed: str, image: str, identity: Identity = DEFAULT, digest: str = DIGEST) -> None:
    payload = payloads.Payload(signed, digest)
    payloads.check(payload, references.parse(image), DIGEST, identity, "sig")


def test_signed_identity_rules() -> None:
    check("reg.io/app:1", "reg.io/app:1")
    with pytest.raises(
        SignatureRejected, match=re.escape("signed for reg.io/app:1, not for reg.io/app:2")
    ) as caught:
        check("reg.io/app:1", "reg.io/app:2")
    assert caught.value.reason == "reference-mismatch"
    check("reg.io/app:1", f"reg.io/app@{DIGEST}")  # by digest: the repository is enough
    check("reg.io/app:1", "reg.io/app:2", Identity("matchRepository"))
    with pytest.raises(SignatureRejected):
        check("reg.io/app", "reg.io/app:latest")  # a name-only (cosign) signature is never exact
    check("reg.io/app", "reg.io/app:latest", Identity("matchRepository"))
    check("reg.io/app:1", "mirror.io/app:1", Identity("exactReference", "reg.io/app:1"))
    with pytest.raises(SignatureRejected) as caught:
        check("reg.io/app:1", "reg.io/app:1", digest=OTHER)
    assert caught.value.reason == "digest-mismatch"


def test_malformed_payload_is_a_bad_signature() -> None:
    with pytest.raises(SignatureRejected) as caught:
        payloads.parse(b'{"critical": {}}', "simple", "sig")
    assert caught.value.reason == "bad-signature"
    good = {
        "critical": {
            "type": "cosign container image signature",
            "identity": {"docker-reference": "reg.io/app"},
            "image": {"docker-manifest-digest": DIGEST},
        }
    }
    with pytest.raises(SignatureRejected, match="expected 'atomic container signature'"):
        payloads.parse(json.dumps(good).encode(), "simple", "sig")
    assert payloads.parse(json.dumps(good).encode(), "cosign", "sig") == payloads.Payload(
        "reg.io/app", DIGEST
    )


def test_registries_d_files(tmp_path: Path) -> None:
    from agent.trust import lookasides

    (tmp_path / "a.yaml").write_text(
        "default-docker:\n  lookaside: file:///srv/sigs\n"
        "docker:\n  reg.io/team:\n    sigstore: https://sigs.example.com/team/\n"
    )
    assert (
        lookasides.base_url(references.parse("reg.io/team/app:1"), tmp_path)
        == "https://sigs.example.com/team"
    )
    assert lookasides.base_url(references.parse("reg.io/other:1"), tmp_path) == "file:///srv/sigs"
    (tmp_path / "b.yaml").write_text("docker: [not, a, mapping]\n")
    with pytest.raises(TrustError, match=r"b\.yaml: docker: expected a mapping"):
        lookasides.base_url(references.parse("reg.io/other:1"), tmp_path)
