"""Signatures made by the real tools: GnuPG keys in a temp GNUPGHOME and ``skopeo copy
--sign-by``, registries.d files with a ``file://`` lookaside, and cosign (built from Go modules
into .work/bin by .ci/cosign/build) with a key pair it generates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.paths import ROOT

COSIGN = ROOT / ".work" / "bin" / "cosign"
PASSWORD = "berth-test"  # a throw-away test key


@dataclass(frozen=True)
class GpgKey:
    home: Path
    fingerprint: str
    public: Path
    """The armored public key."""


def make_gpg_key(home: Path, name: str) -> GpgKey:
    """An Ed25519 signing key without passphrase in its own GNUPGHOME ``home``."""
    home.mkdir(mode=0o700, parents=True)
    env = {**os.environ, "GNUPGHOME": str(home)}
    uid = f"{name} <{name}@berth.test>"
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never"],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    listing = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-secret-keys"],
        env=env, check=True, capture_output=True, text=True, timeout=30,
    ).stdout  # fmt: skip
    fingerprint = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))
    public = home.parent / f"{name}.asc"
    public.write_bytes(
        subprocess.run(
            ["gpg", "--batch", "--armor", "--export", fingerprint], env=env, check=True, capture_output=True
        ).stdout
    )
    return GpgKey(home, fingerprint, public)


def stop_agent(key: GpgKey) -> None:
    """gpg starts a gpg-agent per home; end it (by its home) so tests leave nothing running."""
    subprocess.run(
        ["gpgconf", "--kill", "all"], env={**os.environ, "GNUPGHOME": str(key.home)}, check=False, timeout=30
    )


def write_registries_d(directory: Path, lookaside: Path, namespace: str | None = None) -> Path:
    """A registries.d with a ``file://`` lookaside for ``namespace`` (default-docker if None)."""
    directory.mkdir(parents=True, exist_ok=True)
    entry = f"  lookaside: file://{lookaside}\n"
    text = f"default-docker:\n{entry}" if namespace is None else f"docker:\n  {namespace}:\n  {entry}"
    (directory / "berth-test.yaml").write_text(text)
    return directory


def skopeo_sign_copy(
    layout: Path,
    ref: str,
    destination: str,
    key: GpgKey,
    registries_d: Path,
    *,
    identity: str | None = None,
    all_platforms: bool = False,
) -> None:
    """``skopeo copy --sign-by`` from the OCI layout to the registry (plain HTTP)."""
    args = ["skopeo", "--registries.d", str(registries_d), "copy", "--quiet", "--preserve-digests",
            "--dest-tls-verify=false", "--sign-by", key.fingerprint]  # fmt: skip
    if identity:
        args += ["--sign-identity", identity]
    if all_platforms:
        args.append("--all")
    args += [f"oci:{layout}:{ref}", f"docker://{destination}"]
    subprocess.run(
        args, env={**os.environ, "GNUPGHOME": str(key.home)}, check=True, capture_output=True, timeout=120
    )


def cosign_available() -> bool:
    return COSIGN.is_file() and os.access(COSIGN, os.X_OK)


@dataclass(frozen=True)
class CosignKey:
    private: Path
    public: Path


def cosign_key(directory: Path, *, password: str = PASSWORD) -> CosignKey:
    """``cosign generate-key-pair`` (ECDSA P-256) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "COSIGN_PASSWORD": password}
    subprocess.run(
        [str(COSIGN), "generate-key-pair"],
        cwd=directory,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    return CosignKey(directory / "cosign.key", directory / "cosign.pub")


def cosign_sign(key: CosignKey, image: str, *, password: str = PASSWORD) -> None:
    """``cosign sign --key`` an image by digest on a plain-HTTP registry, offline (no Rekor)."""
    env = {**os.environ, "COSIGN_PASSWORD": password, "HOME": str(key.private.parent)}
    subprocess.run(
        [str(COSIGN), "sign", "--key", str(key.private), "--tlog-upload=false", "--allow-insecure-registry",
         "--allow-http-registry", "--yes", image],
        env=env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def tools_missing() -> list[str]:
    return [tool for tool in ("gpg", "gpgv", "skopeo", "gpgconf") if shutil.which(tool) is None]


def cosign_import(private_pem: Path, directory: Path, *, password: str = PASSWORD) -> CosignKey:
    """``cosign import-key-pair`` of a PKCS#8 PEM private key (Ed25519 here)."""
    env = {**os.environ, "COSIGN_PASSWORD": password}
    subprocess.run(
        [str(COSIGN), "import-key-pair", "--key", str(private_pem), "--output-key-prefix", "imported"],
        cwd=directory, env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return CosignKey(directory / "imported.key", directory / "imported.pub")
