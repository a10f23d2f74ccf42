"""Phase 4 (per file): validate against the Compose Specification's own JSON Schema.

``compose_spec.json`` is the schema Docker Compose v2.40.3 embeds (compose-spec, Apache-2.0). Only
the keywords it uses are implemented: type, properties, patternProperties, additionalProperties,
items, oneOf, $ref, enum, required, minimum, maximum and pattern. ``uniqueItems`` is not checked:
compose-go removes duplicates (its unicity pass) before it validates, and so do we, after
canonicalisation. Messages follow
compose-go's wording (``must be a mapping``, ``additional properties 'x' not allowed``) and every
error carries its path, so a typo in a key is reported where it is, not silently dropped.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from translators.paths import YamlPath
from translators.yamlio import Override, Reset

Schema = dict[str, Any]
Emit = Callable[[YamlPath, str], None]
_Emit = Callable[[tuple[str | int, ...], str], None]

_TYPE_NAMES = {"object": "mapping", "array": "array", "string": "string", "number": "number",
               "integer": "integer", "boolean": "boolean", "null": "null"}  # fmt: skip


@functools.cache
def compose_schema() -> Schema:
    """The embedded schema, read beside this module (importlib.resources, with its tempfile, shutil
    and zipfile imports, some 10 ms of every translate, only when the package is not on a disk)."""
    try:
        text = (Path(__file__).parent / "compose_spec.json").read_text("utf-8")
    except OSError:
        from importlib import resources

        text = resources.files("translators.compose").joinpath("compose_spec.json").read_text("utf-8")
    schema: Schema = json.loads(text)
    return schema


@functools.cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_RESOLVED: dict[int, Schema] = {}


def _resolve(schema: Schema) -> Schema:
    """``schema`` with its ``$ref`` followed (memoised: the schema is constant)."""
    if "$ref" not in schema:
        return schema
    key = id(schema)
    found = _RESOLVED.get(key)
    if found is None:
        found = schema
        while "$ref" in found:
            name = found["$ref"].rsplit("/", 1)[-1]
            found = {
                **compose_schema()["definitions"][name],
                **{k: v for k, v in found.items() if k != "$ref"},
            }
        _RESOLVED[key] = found
    return found


def _types(schema: Schema) -> list[str]:
    kind = schema.get("type")
    if kind is None:
        return []
    return [kind] if isinstance(kind, str) else list(kind)


def _must_be(kinds: list[str]) -> str:
    names = list(dict.fromkeys(_TYPE_NAMES[k] for k in kinds))
    return "must be " + " or ".join(("an " if n[0] in "aeiou" else "a ") + n for n in names)


def _quoted(names: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)


Parts = tuple[str | int, ...]


def check(value: Any, schema: Schema, path: YamlPath, emit: Emit) -> None:
    """Report every violation of ``schema`` by ``value`` through ``emit(path, message)``."""
    _check(value, schema, path.parts, lambda parts, message: emit(YamlPath(parts), message))


@dataclass(frozen=True, slots=True)
class _Node:
    """One schema object with its ``$ref`` followed and its keywords pre-digested (built once)."""

    kinds: tuple[str, ...]
    one_of: tuple[Schema, ...]
    enum: tuple[Any, ...] | None
    props: dict[str, Schema]
    patterns: tuple[tuple[re.Pattern[str], Schema], ...]
    extra: Any
    items: Schema | None
    required: tuple[str, ...]
    minimum: float | None
    maximum: float | None
    pattern: re.Pattern[str] | None


_NODES: dict[int, _Node] = {}


def _node(schema: Schema) -> _Node:
    found = _NODES.get(id(schema))
    if found is None:
        full = _resolve(schema)
        items = full.get("items")
        found = _Node(
            kinds=tuple(_types(full)),
            one_of=tuple(full.get("oneOf", ())),
            enum=tuple(full["enum"]) if "enum" in full else None,
            props=full.get("properties", {}),
            patterns=tuple((_regex(p), sub) for p, sub in full.get("patternProperties", {}).items()),
            extra=full.get("additionalProperties", True),
            items=items if isinstance(items, dict) else None,
            required=tuple(full.get("required", ())),
            minimum=full.get("minimum"),
            maximum=full.get("maximum"),
            pattern=_regex(full["pattern"]) if "pattern" in full else None,
        )
        _NODES[id(schema)] = found
    return found


_CHECKS = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "boolean": lambda v: type(v) is bool,
    "integer": lambda v: type(v) is int,
    "number": lambda v: type(v) in (int, float),
    "null": lambda v: v is None,
}


def _check(value: Any, schema: Schema, path: Parts, emit: _Emit) -> None:
    kind = type(value)
    if kind is Reset:
        return
    if kind is Override:
        value = value.value
        kind = type(value)
    node = _node(schema)
    if node.one_of:
        _one_of(value, list(node.one_of), path, emit)
    if node.kinds and not any(_CHECKS[k](value) for k in node.kinds):
        emit(path, _must_be(list(node.kinds)))
        return
    if node.enum is not None and value not in node.enum:
        emit(path, "value must be one of " + _quoted([str(v) for v in node.enum]))
    if kind is dict:
        _object(value, node, path, emit)
    elif kind is list:
        if node.items is not None:
            for i, item in enumerate(value):
                _check(item, node.items, (*path, i), emit)
    elif kind in (int, float):
        if node.minimum is not None and value < node.minimum:
            emit(path, f"must be >= {node.minimum}")
        if node.maximum is not None and value > node.maximum:
            emit(path, f"must be <= {node.maximum}")
    elif kind is str and node.pattern is not None and not node.pattern.search(value):
        emit(path, f"does not match pattern {node.pattern.pattern!r}")


def _object(value: dict[str, Any], node: _Node, path: Parts, emit: _Emit) -> None:
    unknown: list[str] = []
    for key, item in value.items():
        sub = node.props.get(key)
        matched = False
        if sub is not None:
            _check(item, sub, (*path, key), emit)
            matched = True
        for regex, psub in node.patterns:
            if regex.search(key):
                _check(item, psub, (*path, key), emit)
                matched = True
        if not matched:
            if node.extra is False:
                unknown.append(key)
            elif isinstance(node.extra, dict):
                _check(item, node.extra, (*path, key), emit)
    if unknown:
        word = "property" if len(unknown) == 1 else "properties"
        emit(path, f"additional {word} {_quoted(sorted(unknown))} not allowed")
    missing = [k for k in node.required if k not in value]
    if missing:
        emit(path, f"missing properties {_quoted(missing)}")


def _collector(found: list[tuple[Parts, str]]) -> _Emit:
    def emit(path: Parts, message: str) -> None:
        found.append((path, message))

    return emit


def _one_of(value: Any, options: list[Schema], path: Parts, emit: _Emit) -> None:
    """Pass when one option accepts the value; only options of the value's type are tried."""
    candidates = [o for o in options if _accepts_type(value, o)]
    if not candidates:
        kinds = [k for o in options for k in _node(o).kinds]
        emit(path, _must_be(kinds))
        return
    if len(candidates) == 1:
        _check(value, candidates[0], path, emit)
        return
    results: list[list[tuple[Parts, str]]] = []
    for option in candidates:
        found: list[tuple[Parts, str]] = []
        _check(value, option, path, _collector(found))
        if not found:
            return
        results.append(found)
    for p, m in min(results, key=len):  # the closest option's complaints
        emit(p, m)


def _accepts_type(value: Any, schema: Schema) -> bool:
    kinds = _node(schema).kinds
    return not kinds or any(_CHECKS[k](value) for k in kinds)
