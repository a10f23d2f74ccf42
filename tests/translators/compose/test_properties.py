"""Property: no mapping crashes the loader; it translates or raises InvalidSpec.

Aspects: arbitrary nesting of compose-looking keys (real service keys, top-level sections, junk
keys) with arbitrary scalar, list and mapping values, including ``${...}`` templates; the result
always binds (``.translation`` has one spec per service) or fails with diagnostics.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.compose_strategies import ENV, compose_files
from translators.compose import ComposeFile, load
from translators.compose.keys import SERVICE_KEYS
from translators.errors import InvalidSpec

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-70000, 70000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["80:80", "./data:/data", "${X:-1}", "$$", "${", "a=b", "/tmp", "1.5", "service:web"]),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(["a", "target", "x-y", "1"]), inner, max_size=3),
    ),
    max_leaves=8,
)
SERVICE = st.dictionaries(st.sampled_from([*sorted(SERVICE_KEYS)[:60], "bogus"]), VALUES, max_size=5)
MODEL = st.fixed_dictionaries(
    {
        "services": st.dictionaries(
            st.sampled_from(["web", "db", "x"]), st.one_of(SERVICE, VALUES), max_size=3
        )
    },
    optional={
        "volumes": st.dictionaries(st.sampled_from(["data", "cache"]), VALUES, max_size=2),
        "networks": st.dictionaries(st.sampled_from(["front", "default"]), VALUES, max_size=2),
        "name": st.sampled_from(["p", "Bad Name", "${N}"]),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MODEL)
def test_any_mapping_translates_or_is_invalid(model: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "compose.yaml"
        path.write_text(yaml.safe_dump(model))
        try:
            project = load([ComposeFile(path)], env={"HOME": "/home/u"})
        except InvalidSpec as exc:
            assert exc.diagnostics
            return
        assert len(project.translation.specs) == len(project.model["services"])


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(compose_files())
def test_wellformed_files_bind(model: dict[str, Any]) -> None:
    """Mostly valid files (the oracle test's strategy) reach binding: one spec per enabled service."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "compose.yaml"
        path.write_text(yaml.safe_dump(model))
        try:
            project = load([ComposeFile(path)], env={**ENV, "HOME": "/home/u"})
        except InvalidSpec as exc:
            assert exc.diagnostics
            return
        enabled = set(project.model["services"])  # profiles may come through extends
        assert enabled <= set(model["services"])
        assert enabled >= {
            n for n, s in model["services"].items() if "profiles" not in s and "extends" not in s
        }
        names = {s.name for s in project.translation.specs}
        assert names == {f"{project.model['name']}-{n}" for n in enabled}
        assert set(project.translation.project.order) == names
