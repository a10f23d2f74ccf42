"""Fixtures that start real servers once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import controlplane


@pytest.fixture(scope="session")
def control_plane() -> Iterator[controlplane.ControlPlane]:
    with controlplane.running() as plane:
        yield plane
