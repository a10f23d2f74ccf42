"""Reading YAML (and JSON) documents with the line of every value remembered.

PyYAML composes a node tree that knows where each value starts; we construct plain Python data
from it and keep a ``path -> line`` index beside it, so a diagnostic about
``services.web.ports[1]`` can say ``compose.yaml:14``. The compose-only tags ``!reset`` and
``!override`` construct marker objects that the compose merge phase understands.

Hostile input is bounded before anything is built from it (:func:`_check_shape`): aliases may
not expand a document by more than :data:`MAX_ALIAS_NODES` nodes nor make up more of it than
Kubernetes' own YAML decoder (go-yaml v3) allows, a document nests at most :data:`MAX_DEPTH`
levels (aliases included), an anchor may not contain itself, and an integer has at most
:data:`MAX_INT_DIGITS` digits and must fit 64 bits. A 551-byte "billion laughs" document (10^8
leaves) is refused in milliseconds, where building it took 15 s and 1.5 GB before failing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from translators.errors import Diagnostic, InvalidSpec

try:  # libyaml is about ten times faster; the pure-Python loader gives the same results
    _BaseLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment,unused-ignore]
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _BaseLoader = yaml.SafeLoader


@dataclass(frozen=True, slots=True)
class Reset:
    """``!reset`` in a compose override: remove the value inherited from earlier files."""

    value: Any = None


@dataclass(frozen=True, slots=True)
class Override:
    """``!override`` in a compose override: replace instead of merging."""

    value: Any = None


MAX_DEPTH = 100
"""Nesting levels of a document, aliases expanded (compose and Kubernetes files use about 20)."""
TOO_DEEP = f"the document nests more than {MAX_DEPTH} levels deep"
MAX_ALIAS_NODES = 100_000
"""Nodes that aliases may add to a document, beyond those written: anchors for shared service
settings add a few thousand; every added node is walked by each later phase (about 15 µs each)."""
MAX_INT_DIGITS = 40
"""Digits of an integer literal (64-bit values have at most 20; binary forms up to 64 ...)."""
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1


def _alias_ratio(decoded: int) -> float:
    """go-yaml v3's ``allowedAliasRatio``: 0.99 up to 400,000 nodes, down to 0.10 at 4,000,000."""
    if decoded <= 400_000:
        return 0.99
    if decoded >= 4_000_000:
        return 0.10
    return 0.99 - 0.89 * (decoded - 400_000) / 3_600_000


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type,unused-ignore]
    pass


def _bounded_int(loader: yaml.SafeLoader, node: yaml.Node, build: Any) -> int:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if len(text.replace("_", "")) > MAX_INT_DIGITS + 3:
        raise yaml.constructor.ConstructorError(
            None, None, f"integer of {len(text)} digits is out of range (64 bits)", node.start_mark
        )
    value = int(build(loader, node))
    if not _INT_MIN <= value <= _INT_MAX:
        raise yaml.constructor.ConstructorError(
            None, None, f"integer {text[:30]}... is out of range (64 bits)", node.start_mark
        )
    return value


def _construct_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    return _bounded_int(loader, node, yaml.SafeLoader.construct_yaml_int)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _construct_reset(loader: yaml.SafeLoader, node: yaml.Node) -> Reset:
    return Reset(_construct_any(loader, node))


def _construct_override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    return Override(_construct_any(loader, node))


def _construct_any(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    return value or None


_Loader.add_constructor("!reset", _construct_reset)
_Loader.add_constructor("!override", _construct_override)


class _CoreLoader(_Loader):
    """YAML 1.2 core schema, as Go's yaml.v3 (compose-go) reads it.

    PyYAML resolves YAML 1.1, where ``80:80`` is a base-60 integer and ``yes``/``on`` are booleans;
    compose files are written for yaml.v3, where both are strings.
    """


_CoreLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
):
    _CoreLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))


def _construct_core_int(loader: yaml.SafeLoader, node: yaml.Node) -> int:
    """Integers as Go's ``strconv.ParseInt(s, 0, 64)`` reads them (yaml.v3): ``0400`` is octal."""
    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits[0] == "0" and digits[1:].isdigit():
        try:
            return sign * int(digits, 8)
        except ValueError:
            return sign * int(digits)
    return sign * int(digits, 0)


_CoreLoader.add_constructor(
    "tag:yaml.org,2002:int", lambda loader, node: _bounded_int(loader, node, _construct_core_int)
)


Lines = dict[tuple[str | int, ...], int]


@dataclass
class Document:
    """One YAML document: its data, the file it came from and a path -> line index."""

    data: Any
    file: str
    index: int = 0
    lines: Lines = field(default_factory=dict)
    duplicates: list[Duplicate] = field(default_factory=list)
    """Mapping keys written twice (PyYAML keeps the last silently; Go's yaml.v3 rejects them)."""


# (path of the repeated key, its line, the line where it was first defined)
Duplicate = tuple[tuple[str | int, ...], int, int]


def _index_lines(
    root: yaml.Node, path: tuple[str | int, ...], out: Lines, dups: list[Duplicate] | None = None
) -> None:
    """Lines of every path (a key's own line for a mapping value), without recursion.

    A node reached again through an alias is not indexed again: paths below the alias find the
    line of the alias itself (:meth:`Diagnostics._line` walks up), and indexing every expansion
    was the slowest step of loading an alias-heavy document.
    """
    indexed: set[int] = set()
    stack = [(root, path)]
    while stack:
        node, at = stack.pop()
        out.setdefault(at, node.start_mark.line + 1)
        if id(node) in indexed:
            continue
        indexed.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    if key_node.value == "<<":
                        continue
                    child = (*at, key_node.value)
                    line = key_node.start_mark.line + 1
                    if dups is not None and key_node.value in seen:
                        dups.append((child, line, seen[key_node.value]))
                    seen[key_node.value] = line
                    out[child] = line
                    stack.append((value_node, child))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, (*at, i)) for i, item in enumerate(node.value))


class ShapeError(yaml.MarkedYAMLError):
    """A document too deep, too recursive or too aliased to be built (reported like a syntax error)."""


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_shape(root: yaml.Node) -> None:
    """Depth, recursion and alias expansion of a composed document, without expanding it.

    Most documents have no alias: then the graph is a tree, its depth is all there is to check,
    and one walk does it (:func:`_tree_depth`). Any alias hands the document to
    :func:`_check_graph`, which counts what building it would cost.
    """
    if not _tree_depth(root):
        _check_graph(root)


def _tree_depth(root: yaml.Node) -> bool:
    """Whether ``root`` is a tree (no node reached twice); its depth is checked on the way, in
    the order :func:`_check_graph` walks it, so the error is the one that walk would raise.

    This walk is most of loading a Kubernetes manifest's cost otherwise: the graph's bookkeeping
    (children, post-order, heights) took about a third of the corpus's translation time."""
    seen = {id(root)}
    stack = [iter(_children(root))]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
            continue
        if id(child) in seen:
            return False  # an alias (or a recursive anchor): counted by _check_graph
        seen.add(id(child))
        if len(stack) >= MAX_DEPTH:
            raise ShapeError(None, None, TOO_DEEP, child.start_mark)
        if not isinstance(child, yaml.ScalarNode):
            stack.append(iter(_children(child)))
    return True


def _check_graph(root: yaml.Node) -> None:
    """Depth, recursion and alias expansion of a document with aliases.

    PyYAML composes an alias as the very node of its anchor, so the document is a graph whose
    size is what was written; what building it would cost is counted on that graph: how many
    times each node would be built (its parents' counts summed), and how many of those builds
    go through an alias (an edge to a node already met in document order), as go-yaml counts
    ``decodeCount`` and ``aliasCount``.
    """
    order: list[yaml.Node] = []  # post-order: children before parents
    kids: dict[int, list[yaml.Node]] = {}
    aliases: list[tuple[int, int]] = []  # (parent id, child id) edges that are aliases
    seen = {id(root)}
    on_path = {id(root)}
    stack = [(root, iter(_children(root)))]
    kids[id(root)] = []
    while stack:
        node, it = stack[-1]
        child = next(it, None)
        if child is None:
            stack.pop()
            on_path.discard(id(node))
            order.append(node)
            continue
        if id(child) in on_path:
            raise ShapeError(
                None,
                None,
                "an alias refers to a node that contains it (a recursive anchor)",
                child.start_mark,
            )
        kids[id(node)].append(child)
        if id(child) in seen:
            aliases.append((id(node), id(child)))
            continue
        seen.add(id(child))
        if len(stack) >= MAX_DEPTH:
            raise ShapeError(None, None, TOO_DEEP, child.start_mark)
        kids[id(child)] = []
        on_path.add(id(child))
        stack.append((child, iter(_children(child))))
    height: dict[int, int] = {}
    for node in order:
        height[id(node)] = 1 + max((height[id(c)] for c in kids[id(node)]), default=0)
        if height[id(node)] > MAX_DEPTH:
            raise ShapeError(
                None,
                None,
                f"aliases make the document nest more than {MAX_DEPTH} levels deep",
                node.start_mark,
            )
    if not aliases:
        return
    times: dict[int, int] = {id(root): 1}
    for node in reversed(order):  # parents before children
        count = times.get(id(node), 0)
        for child in kids[id(node)]:
            times[id(child)] = times.get(id(child), 0) + count
    decoded = sum(times.values())
    via_alias = sum(times.get(parent, 0) for parent, _ in aliases)
    if decoded - len(order) > MAX_ALIAS_NODES:
        raise ShapeError(
            None,
            None,
            f"aliases expand the document from {len(order)} to {decoded} nodes "
            f"(at most {MAX_ALIAS_NODES} more are allowed)",
            root.start_mark,
        )
    if via_alias > 100 and decoded > 1000 and via_alias / decoded > _alias_ratio(decoded):
        raise ShapeError(
            None,
            None,
            f"the document contains excessive aliasing ({via_alias} of {decoded} nodes come from aliases)",
            root.start_mark,
        )


def check_depth(data: Any, file: str) -> None:
    """Refuse data (from JSON) nesting deeper than :data:`MAX_DEPTH`, as YAML documents are."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidSpec([Diagnostic(TOO_DEEP, "", file)])
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)


def load_documents(text: str, file: str, *, core_schema: bool = False) -> list[Document]:
    """Parse every document of a YAML stream; a syntax error becomes :class:`InvalidSpec`.

    ``core_schema`` reads scalars as YAML 1.2 (yaml.v3) does instead of PyYAML's YAML 1.1.
    """
    loader = (_CoreLoader if core_schema else _Loader)(text)
    docs: list[Document] = []
    try:
        i = 0
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            _check_shape(node)  # before anything is built from it
            lines: Lines = {}
            dups: list[Duplicate] = []
            _index_lines(node, (), lines, dups)
            data = loader.construct_document(node)
            docs.append(Document(data, file, i, lines, dups))
            i += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(p for p in (exc.context, exc.problem) if p)
        raise InvalidSpec([Diagnostic(f"malformed YAML: {what}", "", file, line)]) from exc
    except yaml.YAMLError as exc:
        raise InvalidSpec([Diagnostic(f"malformed YAML: {exc}", "", file)]) from exc
    except RecursionError as exc:  # pragma: no cover - _check_shape bounds the depth first
        raise InvalidSpec([Diagnostic("malformed YAML: nested too deeply", "", file)]) from exc
    finally:
        loader.dispose()
    return docs


def load_file(path: str) -> list[Document]:
    """Read and parse a file (``-`` is not handled here: the CLI reads stdin itself)."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError as exc:
        raise InvalidSpec([Diagnostic("file not found", "", path, code="not-found")]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidSpec([Diagnostic(f"cannot read file: {exc}", "", path)]) from exc
    return load_documents(text, path)
