"""Project-wide test hooks: tests marked ``corpus`` need the shared corpus (tests/support/paths.py)."""

from __future__ import annotations

import pytest

from tests.support.paths import need_corpus


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("corpus") is not None:
        need_corpus()
