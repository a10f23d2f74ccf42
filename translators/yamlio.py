"""Reading YAML (and JSON) documents with the line of every value remembered.

PyYAML composes a node tree that knows where each value starts; we construct plain Python data
from it and keep a ``path -> line`` index beside it, so a diagnostic about
``services.web.ports[1]`` can say ``compose.yaml:14``. The compose-only tags ``!reset`` and
``!override`` construct marker objects that the compose merge phase understands.
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


class _Loader(_BaseLoader):  # type: ignore[misc,valid-type,unused-ignore]
    pass


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


_CoreLoader.add_constructor("tag:yaml.org,2002:int", _construct_core_int)


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
    node: yaml.Node, path: tuple[str | int, ...], out: Lines, dups: list[Duplicate] | None = None
) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                if key_node.value == "<<":
                    continue
                child = (*path, key_node.value)
                line = key_node.start_mark.line + 1
                if dups is not None and key_node.value in seen:
                    dups.append((child, line, seen[key_node.value]))
                seen[key_node.value] = line
                _index_lines(value_node, child, out, dups)
                out[child] = line
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*path, i), out, dups)


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
