"""Simple-signing signatures checked by GnuPG's ``gpgv``, the verify-only tool of GnuPG.

A simple signature is an OpenPGP *signed message* (not detached) whose literal data is the JSON
payload. ``gpgv`` checks it against a keyring made only of the trusted keys, so a good signature
(``VALIDSIG`` with exit 0) is by a trusted key; ``NO_PUBKEY`` means another key signed it.
The payload gpgv writes is used only after that verdict (gpgv writes it before checking).
Armored keys are converted with ``gpg --dearmor`` in a throw-away home: nothing touches the
user's GnuPG state.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from agent.trust.errors import SignatureRejected, TrustError

GPGV = "gpgv"
GPG = "gpg"
TIMEOUT = 30
_ARMOR = b"-----BEGIN PGP PUBLIC KEY BLOCK-----"


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise TrustError(f"{name} (GnuPG) is not installed; it is needed to verify simple signatures")
    return found


def keyring(keys: Sequence[bytes], work: Path) -> Path:
    """One binary keyring file holding ``keys`` (armored or binary OpenPGP public keys)."""
    ring = work / "trusted.gpg"
    with ring.open("wb") as out:
        for i, key in enumerate(keys):
            if _ARMOR in key:
                home = work / f"home{i}"
                home.mkdir(mode=0o700)
                done = subprocess.run(
                    [_tool(GPG), "--batch", "--homedir", str(home), "--dearmor"],
                    input=key,
                    capture_output=True,
                    timeout=TIMEOUT,
                    check=False,
                )
                if done.returncode != 0 or not done.stdout:
                    raise TrustError(f"key {i + 1} is not a valid armored OpenPGP public key")
                out.write(done.stdout)
            else:
                out.write(key)
    return ring


def verify(signature: bytes, keys: Sequence[bytes], where: str) -> tuple[str, bytes]:
    """The signing key's (primary) fingerprint and the signed payload, or SignatureRejected."""
    with tempfile.TemporaryDirectory(prefix="berth-gpgv-") as tmp:
        work = Path(tmp)
        ring = keyring(keys, work)
        (work / "signature").write_bytes(signature)
        done = subprocess.run(
            [_tool(GPGV), "--keyring", str(ring), "--status-fd", "1", "--output", str(work / "payload"),
             str(work / "signature")],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
            env={"PATH": "/usr/bin:/bin", "GNUPGHOME": str(work), "LC_ALL": "C"},
        )  # fmt: skip
        status = [line.split() for line in done.stdout.decode("utf-8", "replace").splitlines()]
        words = {parts[1]: parts[2:] for parts in status if len(parts) >= 2 and parts[0] == "[GNUPG:]"}
        valid = [p for p in status if len(p) >= 3 and p[:2] == ["[GNUPG:]", "VALIDSIG"]]
        if done.returncode == 0 and len(valid) == 1 and (work / "payload").is_file():
            primary = valid[0][-1] if len(valid[0]) > 11 else valid[0][2]  # a subkey may have signed
            return primary, (work / "payload").read_bytes()
    if "NO_PUBKEY" in words:
        key_id = words["NO_PUBKEY"][0] if words["NO_PUBKEY"] else "?"
        raise SignatureRejected(f"{where}: signed by key {key_id}, which is not a trusted key", "unknown-key")
    if "BADSIG" in words:
        raise SignatureRejected(f"{where}: bad signature (the signed data was altered)", "bad-signature")
    detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
    raise SignatureRejected(
        f"{where}: not a valid OpenPGP signature ({detail[-1] if detail else 'gpgv exit ' + str(done.returncode)})",
        "bad-signature",
    )
