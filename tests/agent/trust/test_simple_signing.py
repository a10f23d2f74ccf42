"""``berth container verify`` against signatures made by ``skopeo copy --sign-by`` (GnuPG).

We test these aspects:
- a skopeo signature in a registries.d lookaside verifies with the signer's key (armored and
  binary), and the output names the signer's fingerprint and the digest; ``-o json`` too;
- a multi-platform image is verified by its index digest (what skopeo signs);
- tampering is refused with its reason, exit 1: the tag re-pushed with other content (no
  signature; and the old signature copied to the new digest: digest mismatch), a signature made
  for another repository, a signature by another key, a corrupted signature;
- without any signature: no-signature; a lookaside only for another namespace: no-signature.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from click.testing import CliRunner, Result

from agent.cli.main import cli
from tests.agent.trust.conftest import Signed
from tests.support import registry


def verify(*args: str, code: int) -> Result:
    result = CliRunner().invoke(cli, ["container", "verify", *args], catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_skopeo_signature_verifies_with_the_key(env: Signed) -> None:
    out = verify("--key", str(env.alice.public), env.ref("signed/app:1"), code=0).stdout
    assert f"{env.images.simple.digest} signed by {env.alice.fingerprint} (simple-signing)" in out
    assert f"as {env.ref('signed/app:1')}" in out


def test_binary_key_and_json_output(env: Signed, shm: Path) -> None:
    binary = shm / "alice.gpg"
    binary.write_bytes(
        subprocess.run(
            ["gpg", "--batch", "--export", env.alice.fingerprint],
            env={"GNUPGHOME": str(env.alice.home)}, check=True, capture_output=True,
        ).stdout
    )  # fmt: skip
    out = json.loads(verify("--key", str(binary), env.ref("signed/app:1"), "-o", "json", code=0).stdout)
    assert out["verified"] is True and out["digest"] == env.images.simple.digest
    assert [s["signer"] for s in out["signatures"]] == [env.alice.fingerprint]


def test_index_digest_is_what_is_verified(env: Signed) -> None:
    out = verify("--key", str(env.alice.public), env.ref("signed/multi:1"), code=0).stdout
    assert f"{env.images.multi_digest} signed by {env.alice.fingerprint}" in out


def test_signature_by_another_key_is_refused(env: Signed) -> None:
    result = verify("--key", str(env.alice.public), env.ref("other/app:1"), code=1)
    assert "which is not a trusted key" in result.stderr
    assert env.mallory.fingerprint[-16:] in result.stderr


def test_unsigned_image_is_refused(env: Signed) -> None:
    result = verify("--key", str(env.alice.public), env.ref("unsigned/app:1"), code=1)
    assert "no GnuPG (simple signing) signature" in result.stderr
    assert env.images.zstd.digest in result.stderr


def test_re_pushed_tag_is_refused(env: Signed) -> None:
    ref = env.ref("repush/app:1")
    subprocess_sign(env, "simple", "repush/app:1")
    verify("--key", str(env.alice.public), ref, code=0)
    registry.push(env.images.layout, "zstd", ref)  # the attacker's content under the signed tag
    result = verify("--key", str(env.alice.public), ref, code=1)
    assert "no GnuPG (simple signing) signature" in result.stderr
    # ... and the old signature copied to where the new digest's would be: it signs another digest
    new = env.signature("repush/app", env.images.zstd.digest)
    new.parent.mkdir(parents=True)
    shutil.copy(env.signature("repush/app", env.images.simple.digest), new)
    result = verify("--key", str(env.alice.public), ref, "-o", "json", code=1)
    assert json.loads(result.stdout)["reason"] == "digest-mismatch"
    assert f"signs manifest {env.images.simple.digest}" in result.stderr


def test_signature_for_another_repository_is_refused(env: Signed) -> None:
    registry.push(env.images.layout, "simple", env.ref("copied/app:1"))
    target = env.signature("copied/app", env.images.simple.digest)
    target.parent.mkdir(parents=True)
    shutil.copy(env.signature("signed/app", env.images.simple.digest), target)
    result = verify("--key", str(env.alice.public), env.ref("copied/app:1"), "-o", "json", code=1)
    assert json.loads(result.stdout)["reason"] == "reference-mismatch"
    assert f"signed for {env.ref('signed/app:1')}, not for {env.ref('copied/app:1')}" in result.stderr


def test_corrupted_signature_is_refused(env: Signed) -> None:
    subprocess_sign(env, "simple", "corrupt/app:1")
    path = env.signature("corrupt/app", env.images.simple.digest)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    result = verify("--key", str(env.alice.public), env.ref("corrupt/app:1"), "-o", "json", code=1)
    assert json.loads(result.stdout)["reason"] == "bad-signature"


def test_no_lookaside_for_the_namespace(signed: Signed, shm: Path) -> None:
    other = shm / "registries.d"
    other.mkdir()
    (other / "x.yaml").write_text("docker:\n  quay.io/elsewhere:\n    lookaside: file:///nonexistent\n")
    result = verify(
        "--key", str(signed.alice.public), "--registries.d", str(other), signed.ref("signed/app:1"), code=1
    )  # fmt: skip
    assert "no lookaside for" in result.stderr


def subprocess_sign(env: Signed, tag: str, repo: str) -> None:
    from tests.support import signing

    signing.skopeo_sign_copy(env.images.layout, tag, env.ref(repo), env.alice, env.registries_d)


def test_any_of_several_keys(env: Signed) -> None:
    out = verify(
        "--key", str(env.mallory.public), "--key", str(env.alice.public), env.ref("signed/app:1"), code=0
    )
    assert f"signed by {env.alice.fingerprint}" in out.stdout


def test_http_lookaside(signed: Signed, shm: Path) -> None:
    """A lookaside served over HTTP (a static web server, as sigstore staging servers are)."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(signed.lookaside))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = shm / "registries.d"
        config.mkdir()
        (config / "web.yaml").write_text(
            f"default-docker:\n  lookaside: http://127.0.0.1:{server.server_port}/\n"
        )
        args = ["--key", str(signed.alice.public), "--registries.d", str(config)]
        out = verify(*args, signed.ref("signed/app:1"), code=0).stdout
        assert f"signed by {signed.alice.fingerprint}" in out
        result = verify(*args, signed.ref("unsigned/app:1"), code=1)
        assert f"in the lookaside http://127.0.0.1:{server.server_port}" in result.stderr
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
