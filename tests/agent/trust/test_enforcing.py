"""The trust policy enforced by ``pull``, ``container deploy`` and ``container update`` before
anything is written to the store, with signatures made by ``skopeo copy --sign-by``.

We test these aspects:
- a policy that rejects by default and trusts one scope (``HOST/signed``, alice's key):
  the unsigned image's deploy is refused naming the policy file and scope, and the store holds no
  blob, image or deployment afterwards; the signed image deploys; ``pull`` obeys the same policy
  (refused with nothing written, accepted when signed); ``$BERTH_POLICY`` is read like --policy;
- a re-pushed tag inside the trusted scope is refused at deploy with nothing written;
- an image already in the store obeys the policy too (deploy and ``update --no-pull``);
- ``security.verify`` in a spec requires its key on top of an accepting policy: another key's
  signature is refused, the signer's key deploys;
- a missing policy file is an error naming it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from agent.cli.main import cli
from tests.agent.trust.conftest import Signed
from tests.support import registry, signing


def run(root: Path, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, [*args, "--root", str(root)], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def written(root: Path) -> list[str]:
    """Every blob, image record and deployment in the store (empty: nothing was written)."""
    found = [p for p in (root / "blobs").rglob("*") if p.is_file()] if (root / "blobs").exists() else []
    found += list((root / "images").rglob("image.json")) if (root / "images").exists() else []
    found += list((root / "deployments").glob("*/state.json")) if (root / "deployments").exists() else []
    return [str(p.relative_to(root)) for p in found]


@pytest.fixture
def policy(env: Signed) -> Path:
    return env.policy(
        "reject-but-signed",
        {
            "default": [{"type": "reject"}],
            "transports": {
                "docker": {
                    env.ref("signed"): [
                        {"type": "signedBy", "keyType": "GPGKeys", "keyPath": str(env.alice.public)}
                    ]
                }
            },
        },
    )


def test_unsigned_deploy_refused_nothing_written(env: Signed, policy: Path, store_root: Path) -> None:
    ref = env.ref("unsigned/app:1")
    result = run(
        store_root, "container", "deploy", "--no-start", ref, "--name", "web", "--policy", str(policy), code=1
    )
    assert f"refused by {policy} default: the policy rejects every image here" in result.stderr
    assert written(store_root) == []


def test_signed_deploy_succeeds(env: Signed, policy: Path, store_root: Path) -> None:
    out = json.loads(
        run(
            store_root,
            "container",
            "deploy",
            "--no-start",
            env.ref("signed/app:1"),
            "--policy",
            str(policy),
            "-o",
            "json",
        ).stdout
    )
    assert out["digest"] == env.images.simple.digest
    assert (
        store_root / "deployments" / "app" / "rootfs" / "etc" / "motd"
    ).read_bytes() == b"hello from berth\n"


def test_pull_obeys_the_same_policy(env: Signed, policy: Path, store_root: Path) -> None:
    result = run(store_root, "pull", env.ref("unsigned/app:1"), "--policy", str(policy), code=1)
    assert "refused by" in result.stderr and "rejects every image" in result.stderr
    result = run(store_root, "pull", env.ref("other/app:1"), "--policy", str(policy), code=1)
    assert "rejects every image" in result.stderr  # mallory's signature, outside the trusted scope
    assert written(store_root) == []
    out = json.loads(
        run(store_root, "pull", env.ref("signed/app:1"), "--policy", str(policy), "-o", "json").stdout
    )
    assert out["digest"] == env.images.simple.digest


def test_policy_from_the_environment(
    env: Signed, policy: Path, store_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BERTH_POLICY", str(policy))
    result = run(store_root, "pull", env.ref("unsigned/app:1"), code=1)
    assert f"refused by {policy} default" in result.stderr
    assert written(store_root) == []


def test_re_pushed_tag_in_the_trusted_scope(env: Signed, policy: Path, store_root: Path) -> None:
    ref = env.ref("signed/moving:1")
    signing.skopeo_sign_copy(env.images.layout, "simple", ref, env.alice, env.registries_d)
    registry.push(env.images.layout, "zstd", ref)
    result = run(store_root, "container", "deploy", "--no-start", ref, "--policy", str(policy), code=1)
    assert f'transports.docker["{env.ref("signed")}"]' in result.stderr
    assert f"no GnuPG (simple signing) signature for {env.images.zstd.digest}" in result.stderr
    assert written(store_root) == []


def test_stored_image_obeys_the_policy(env: Signed, policy: Path, store_root: Path, shm: Path) -> None:
    accept = env.policy("accept", {"default": [{"type": "insecureAcceptAnything"}]})
    run(store_root, "container", "deploy", "--no-start", env.ref("unsigned/app:1"), "--policy", str(accept))
    result = run(store_root, "container", "deploy", "--no-start", env.ref("unsigned/app:1"), "--name", "again",
                 "--policy", str(policy), code=1)  # fmt: skip
    assert "rejects every image" in result.stderr
    result = run(store_root, "container", "update", "app", "--no-pull", "--policy", str(policy), code=1)
    assert "rejects every image" in result.stderr


def test_spec_verify_requires_its_key(env: Signed, store_root: Path, shm: Path) -> None:
    accept = env.policy("accept-all", {"default": [{"type": "insecureAcceptAnything"}]})
    spec = shm / "spec.yaml"
    spec.write_text(
        f"name: web\nimage: x\nconfig:\n  security:\n    verify: {{key: {env.mallory.public}, type: gpg}}\n"
    )
    ref = env.ref("signed/app:1")
    result = run(
        store_root,
        "container",
        "deploy",
        "--no-start",
        ref,
        "--config",
        str(spec),
        "--policy",
        str(accept),
        code=1,
    )
    assert "refused by security.verify" in result.stderr and "not a trusted key" in result.stderr
    assert written(store_root) == []
    spec.write_text(
        f"name: web\nimage: x\nconfig:\n  security:\n    verify: {{key: {env.alice.public}, type: gpg}}\n"
    )
    run(store_root, "container", "deploy", "--no-start", ref, "--config", str(spec), "--policy", str(accept))
    assert (store_root / "deployments" / "web" / "state.json").is_file()


def test_missing_policy_file(env: Signed, store_root: Path, shm: Path) -> None:
    result = run(store_root, "pull", env.ref("signed/app:1"), "--policy", str(shm / "nope.json"), code=1)
    assert f"{shm / 'nope.json'}: no trust policy" in result.stderr


def test_pull_pinned_to_the_verified_digest(env: Signed, store_root: Path) -> None:
    """The digest the check verified is passed to the pull: a tag moved in between is refused
    before any blob is written."""
    from agent.registry import errors, pulling

    with pytest.raises(errors.ManifestError, match=env.images.zstd.digest):
        pulling.pull_image(env.ref("signed/app:1"), store_root, digest=env.images.zstd.digest)
    assert written(store_root) == []


def test_layout_transport_scopes(env: Signed, store_root: Path) -> None:
    layout = str(env.images.layout)
    key = {"type": "signedBy", "keyType": "GPGKeys", "keyPath": str(env.alice.public)}
    policy = env.policy(
        "layouts",
        {
            "default": [{"type": "insecureAcceptAnything"}],
            "transports": {"oci": {f"{layout}:zstd": [{"type": "reject"}], layout: [key]}},
        },
    )
    result = run(store_root, "pull", f"oci:{layout}:zstd", "--policy", str(policy), code=1)
    assert f'transports.oci["{layout}:zstd"]: the policy rejects' in result.stderr
    result = run(store_root, "pull", f"oci:{layout}:simple", "--policy", str(policy), code=1)
    assert "only registry images carry signatures" in result.stderr
    assert written(store_root) == []
    accept = env.policy("layouts-accept", {"default": [{"type": "reject"}], "transports": {"oci": {
        str(env.images.layout.parent): [{"type": "insecureAcceptAnything"}]}}})  # fmt: skip
    run(store_root, "pull", f"oci:{layout}:simple", "--policy", str(accept))


def test_accept_anything_scope_needs_no_registry_and_reject_still_refuses(tmp_path: Path) -> None:
    """A scope that accepts anything is decided from the policy alone: a registry that does not
    answer (nothing listens on port 1) is never asked and its client never loaded; a scope that
    rejects, or a spec's own key on top, still goes through the full check."""
    import os
    import subprocess
    import sys

    from agent.trust import enforcing
    from agent.trust.errors import SignatureRejected
    from tests.support.paths import ROOT

    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "default": [{"type": "insecureAcceptAnything"}],
                "transports": {"docker": {"127.0.0.1:1/refused": [{"type": "reject"}]}},
            }
        )
    )
    verdict = enforcing.check("127.0.0.1:1/team/app:1", policy=policy)
    assert (verdict.reference, verdict.digest, verdict.accepted) == ("127.0.0.1:1/team/app:1", "", ())
    assert verdict.scope == f"{policy} default"
    pinned = enforcing.check("127.0.0.1:1/team/app:1", digest="sha256:" + "ab" * 32, policy=policy)
    assert pinned.digest == "sha256:" + "ab" * 32
    with pytest.raises(SignatureRejected, match="rejects every image"):
        enforcing.check("127.0.0.1:1/refused:1", policy=policy)
    probe = (
        "import sys; from agent.trust import enforcing; "
        f"enforcing.check('127.0.0.1:1/team/app:1', policy={str(policy)!r}); "
        "print(sorted(m for m in ('requests', 'cryptography', 'agent.registry.client') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert loaded.stdout.strip() == "[]", loaded.stderr
