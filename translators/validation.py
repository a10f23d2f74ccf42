"""Binding plain data to spec models, with every pydantic error turned into a Diagnostic.

Translators build plain dictionaries and bind them here, so a problem deep in the spec is reported
at the input's own path (``services.web.ports[1]``) rather than the spec's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from translators.errors import Diagnostics
from translators.paths import ROOT, YamlPath

M = TypeVar("M", bound=BaseModel)
PathMap = Callable[[tuple[str | int, ...]], YamlPath]

_MESSAGES = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


def _message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind in _MESSAGES:
        return str(_MESSAGES[kind])
    msg = str(err["msg"])
    if kind == "value_error" and msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind in (
        "string_type",
        "int_type",
        "bool_type",
        "list_type",
        "dict_type",
        "model_type",
        "float_type",
        "int_parsing",
        "float_parsing",
        "bool_parsing",
        "literal_error",
        "string_pattern_mismatch",
        "model_attributes_type",
    ):
        got = err.get("input")
        shown = repr(got) if not isinstance(got, dict | list) else type(got).__name__
        msg = f"{msg[0].lower()}{msg[1:]}, got {shown}"
    return msg


def _loc(err: Mapping[str, Any]) -> tuple[str | int, ...]:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    ctx = err.get("ctx") or {}
    if "index" in ctx:
        loc = (*loc, int(ctx["index"]))
    return loc


def bind(
    model: type[M],
    data: Any,
    diag: Diagnostics,
    at: YamlPath = ROOT,
    path_map: PathMap | None = None,
) -> M | None:
    """Validate ``data`` as ``model``; on failure record each error under ``at`` and return None.

    ``path_map`` lets a translator map a spec location (``("config", "ports", 1)``) back to the
    input path it came from; by default spec locations are appended to ``at``.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = _loc(err)
            path = path_map(loc) if path_map else YamlPath((*at.parts, *loc))
            diag.error(path, _message(err))
        return None
