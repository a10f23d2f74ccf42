"""Fixtures for store tests: throw-away stores on tmpfs (the disk here punishes create-after-delete)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def shm() -> Iterator[Path]:
    """A private directory on /dev/shm, removed afterwards."""
    path = Path(tempfile.mkdtemp(prefix="berth-test-", dir="/dev/shm"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def canary(shm: Path) -> Path:
    """A directory outside the store that hostile layers aim at; it must never change."""
    path = shm / "canary"
    path.mkdir()
    (path / "keep").write_bytes(b"canary\n")
    return path


@pytest.fixture
def store_root(shm: Path) -> Path:
    path = shm / "store"
    path.mkdir()
    return path
