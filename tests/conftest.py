"""Project-wide test hooks: tests marked ``corpus`` or ``seed`` need that shared data set
(tests/support/paths.py says where it is looked for and what happens without it)."""

from __future__ import annotations

import pytest

from tests.support.paths import DATA_SETS


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark, data in DATA_SETS.items():
        if item.get_closest_marker(mark) is not None:
            data.need()
