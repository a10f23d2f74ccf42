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
from importlib import resources
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
    text = resources.files("translators.compose").joinpath("compose_spec.json").read_text("utf-8")
    schema: Schema = json.loads(text)
    return schema


@functools.cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _is(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return value is None if kind == "null" else True


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


def _check(value: Any, schema: Schema, path: Parts, emit: _Emit) -> None:
    if isinstance(value, Reset):
        return
    if isinstance(value, Override):
        value = value.value
    schema = _resolve(schema)
    if "oneOf" in schema:
        _one_of(value, schema["oneOf"], path, emit)
    kinds = _types(schema)
    if kinds and not any(_is(value, k) for k in kinds):
        emit(path, _must_be(kinds))
        return
    if "enum" in schema and value not in schema["enum"]:
        emit(path, "value must be one of " + _quoted([str(v) for v in schema["enum"]]))
    if isinstance(value, dict):
        _object(value, schema, path, emit)
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _check(item, items, (*path, i), emit)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            emit(path, f"must be >= {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            emit(path, f"must be <= {schema['maximum']}")
    elif isinstance(value, str) and "pattern" in schema and not _regex(schema["pattern"]).search(value):
        emit(path, f"does not match pattern {schema['pattern']!r}")


def _object(value: dict[str, Any], schema: Schema, path: Parts, emit: _Emit) -> None:
    props: dict[str, Schema] = schema.get("properties", {})
    patterns: dict[str, Schema] = schema.get("patternProperties", {})
    extra = schema.get("additionalProperties", True)
    unknown: list[str] = []
    for key, item in value.items():
        sub = props.get(key)
        matched = False
        if sub is not None:
            _check(item, sub, (*path, key), emit)
            matched = True
        for pattern, psub in patterns.items():
            if _regex(pattern).search(key):
                _check(item, psub, (*path, key), emit)
                matched = True
        if not matched:
            if extra is False:
                unknown.append(key)
            elif isinstance(extra, dict):
                _check(item, extra, (*path, key), emit)
    if unknown:
        word = "property" if len(unknown) == 1 else "properties"
        emit(path, f"additional {word} {_quoted(sorted(unknown))} not allowed")
    missing = [k for k in schema.get("required", []) if k not in value]
    if missing:
        emit(path, f"missing properties {_quoted(missing)}")


def _collector(found: list[tuple[Parts, str]]) -> _Emit:
    def emit(path: Parts, message: str) -> None:
        found.append((path, message))

    return emit


def _one_of(value: Any, options: list[Schema], path: Parts, emit: _Emit) -> None:
    """Pass when one option accepts the value; only options of the value's type are tried."""
    candidates = [o for o in options if _accepts_type(value, _resolve(o))]
    if not candidates:
        kinds = [k for o in options for k in _types(_resolve(o))]
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
    kinds = _types(schema)
    return not kinds or any(_is(value, k) for k in kinds)
