"""The shape check of a YAML document gives the same verdict on its fast path as on the full count.

A document without aliases is a tree: only its depth is checked, in one walk. We test that this
walk refuses exactly what the full count (:func:`translators.yamlio._check_graph`) refuses, with
the same message at the same place, for generated trees around the depth limit, and that any
alias or recursive anchor still reaches the full count.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from translators import yamlio


def _node(text: str) -> yaml.Node:
    loader = yamlio._Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    assert isinstance(node, yaml.Node)
    return node


def _verdict(check: Any, node: yaml.Node) -> tuple[str, int, int] | None:
    try:
        check(node)
    except yamlio.ShapeError as exc:
        mark = exc.problem_mark
        assert mark is not None
        return str(exc.problem), mark.line, mark.column
    return None


def _nested(depth: int, leaf: str = "x") -> str:
    """A flow document ``depth`` levels deep, alternating sequences and mappings."""
    text = leaf
    for level in range(depth):
        text = f"[{text}, 1]" if level % 2 else f"{{k: {text}, j: 2}}"
    return text


@pytest.mark.parametrize("depth", [1, 50, 98, 99, 100, 101, 150])
def test_a_tree_at_and_around_the_limit(depth: int) -> None:
    node = _node(_nested(depth))
    assert _verdict(yamlio._check_shape, node) == _verdict(yamlio._check_graph, node)
    assert (_verdict(yamlio._check_shape, node) is None) == (depth < yamlio.MAX_DEPTH)


trees = st.recursive(
    st.one_of(st.integers(), st.text(alphabet="abc", max_size=3), st.none()),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(alphabet="xyz", min_size=1, max_size=2), children, max_size=3),
    ),
    max_leaves=40,
)


@settings(max_examples=200, deadline=None)
@given(tree=trees, wrap=st.integers(min_value=0, max_value=110))
def test_generated_trees_get_the_full_counts_verdict(tree: Any, wrap: int) -> None:
    text = yaml.safe_dump(tree, default_flow_style=True, width=1 << 20).removesuffix("...\n").strip()
    for _ in range(wrap):  # push it toward the depth limit
        text = f"[{text}]"
    node = _node(text)
    assert _verdict(yamlio._check_shape, node) == _verdict(yamlio._check_graph, node)


@pytest.mark.parametrize(
    "text",
    [
        "a: &a [1, 2]\nb: *a\n",
        "a: &a [*a]\n",
        "a: &s x\nb: *s\n",
        "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
    ],
)
def test_any_alias_goes_to_the_full_count(text: str) -> None:
    node = _node(text)
    assert not yamlio._tree_depth(node)
    assert _verdict(yamlio._check_shape, node) == _verdict(yamlio._check_graph, node)
