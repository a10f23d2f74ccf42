"""Session fixtures for trust tests: the test images, one plain registry, two GnuPG keys (the
trusted ``alice`` and the untrusted ``mallory``) and a registries.d whose lookaside is a
``file://`` directory. Images are signed by ``skopeo copy --sign-by``, the reference tool.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import images, registry, signing


@dataclass(frozen=True)
class Signed:
    """A running registry, its lookaside, the keys, and the images the session signed."""

    registry: registry.Registry
    images: images.TestImages
    registries_d: Path
    lookaside: Path
    alice: signing.GpgKey
    mallory: signing.GpgKey
    work: Path

    def ref(self, repo: str) -> str:
        return f"{self.registry.host}/{repo}"

    def signature(self, repo: str, digest: str, n: int = 1) -> Path:
        return self.lookaside / f"{repo}@{digest.replace(':', '=')}" / f"signature-{n}"

    def policy(self, name: str, data: object) -> Path:
        path = self.work / f"{name}.json"
        path.write_text(json.dumps(data))
        return path


@pytest.fixture(scope="session")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signed]:
    missing = signing.tools_missing()
    if missing:
        pytest.fail(f"trust tests need {', '.join(missing)} (installed by .ci/setup)")
    work = Path(tempfile.mkdtemp(prefix="berth-trust-", dir="/dev/shm"))
    test_images = images.build_test_images(tmp_path_factory.mktemp("trust-layout") / "layout")
    alice = signing.make_gpg_key(work / "alice-home", "alice")
    mallory = signing.make_gpg_key(work / "mallory-home", "mallory")
    lookaside = work / "lookaside"
    registries_d = signing.write_registries_d(work / "registries.d", lookaside)
    try:
        with registry.running(work / "registry") as running:
            host = running.host
            layout = test_images.layout
            signing.skopeo_sign_copy(layout, "simple", f"{host}/signed/app:1", alice, registries_d)
            signing.skopeo_sign_copy(
                layout, "multi", f"{host}/signed/multi:1", alice, registries_d, all_platforms=True
            )
            signing.skopeo_sign_copy(layout, "simple", f"{host}/other/app:1", mallory, registries_d)
            registry.push(layout, "zstd", f"{host}/unsigned/app:1")
            yield Signed(running, test_images, registries_d, lookaside, alice, mallory, work)
    finally:
        signing.stop_agent(alice)
        signing.stop_agent(mallory)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def env(signed: Signed, monkeypatch: pytest.MonkeyPatch) -> Signed:
    """The registries.d of the session for every command of the test."""
    monkeypatch.setenv("BERTH_REGISTRIES_D", str(signed.registries_d))
    return signed


@pytest.fixture
def shm() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="berth-test-", dir="/dev/shm"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def store_root(shm: Path) -> Path:
    path = shm / "store"
    path.mkdir()
    return path
