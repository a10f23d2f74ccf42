"""Diagnostics that name the Kubernetes object they are about, and typed reads of raw manifests.

A manifest is untrusted data: any value may have any type. Every read goes through one of the
readers here, which report a wrong type as an error at the value's path instead of raising, so a
translation always lists every problem at once. Messages are prefixed with the object they concern
(``Deployment/web (document 2): spec.template.spec.containers[0].image: ...``) because one file
often holds many objects; the document number is 1-based, counted in the input stream.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from translators.errors import Code, Diagnostic, Diagnostics
from translators.paths import YamlPath


@dataclass
class ObjectDiagnostics(Diagnostics):
    """A collector for one object of the input: paths are printed after the object's label.

    ``prefix`` is where the object sits in its document (``items[3]`` for the item of a ``List``),
    so line numbers are still found in the document's index.
    """

    label: str = ""
    prefix: tuple[str | int, ...] = ()

    def _where(self, path: YamlPath | None) -> str:
        text = str(path or "")
        if not self.label:
            return text
        return f"{self.label}: {text}" if text else self.label

    def _line_of(self, path: YamlPath | None) -> int | None:
        """The line of the path, or of its nearest parent, or of the object itself."""
        line = self._line(YamlPath((*self.prefix, *(path.parts if path else ()))))
        return self.lines.get(self.prefix) if line is None else line

    def error(self, path: YamlPath | None, message: str, *, code: Code = "invalid") -> None:
        if code == "missing-reference":
            self.missing_reference = True
        self.errors.append(
            Diagnostic(message, self._where(path), self.file, self._line_of(path), "error", code)
        )

    def warn(self, path: YamlPath | None, message: str, *, code: Code = "unsupported") -> None:
        self.warnings.append(
            Diagnostic(message, self._where(path), self.file, self._line_of(path), "warning", code)
        )


def type_name(value: object) -> str:
    """How a YAML user calls the type of a value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return type(value).__name__


def mapping(value: object, at: YamlPath, diag: Diagnostics) -> dict[str, Any]:
    """A mapping with string keys; anything else is reported and read as empty."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        diag.error(at, f"expected a mapping, got {type_name(value)}")
        return {}
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            diag.error(at, f"expected string keys, got {type_name(key)}")
            continue
        out[key] = item
    return out


def sequence(value: object, at: YamlPath, diag: Diagnostics) -> list[Any]:
    """A list; anything else is reported and read as empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        diag.error(at, f"expected a list, got {type_name(value)}")
        return []
    return value


def mappings(value: object, at: YamlPath, diag: Diagnostics) -> list[tuple[YamlPath, dict[str, Any]]]:
    """A list of mappings, each with its path; items of another type are reported and skipped."""
    out: list[tuple[YamlPath, dict[str, Any]]] = []
    for i, item in enumerate(sequence(value, at, diag)):
        if not isinstance(item, dict):
            diag.error(at.index(i), f"expected a mapping, got {type_name(item)}")
            continue
        out.append((at.index(i), mapping(item, at.index(i), diag)))
    return out


def string(value: object, at: YamlPath, diag: Diagnostics, *, required: bool = False) -> str | None:
    """A string; numbers are not accepted (Kubernetes would reject them too)."""
    if value is None:
        if required:
            diag.error(at, "required key is missing")
        return None
    if not isinstance(value, str):
        diag.error(at, f"expected a string, got {type_name(value)}")
        return None
    if required and not value:
        diag.error(at, "must not be empty")
        return None
    return value


def integer(value: object, at: YamlPath, diag: Diagnostics, *, minimum: int | None = None) -> int | None:
    """An integer (a whole float such as ``3.0`` from JSON is accepted)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        diag.error(at, f"expected an integer, got {type_name(value)}")
        return None
    if minimum is not None and value < minimum:
        diag.error(at, f"expected an integer of at least {minimum}, got {value}")
        return None
    return value


def boolean(value: object, at: YamlPath, diag: Diagnostics) -> bool | None:
    """A boolean."""
    if value is None:
        return None
    if not isinstance(value, bool):
        diag.error(at, f"expected true or false, got {type_name(value)}")
        return None
    return value


def strings(value: object, at: YamlPath, diag: Diagnostics) -> list[str]:
    """A list of strings; numbers are turned into strings, as ``kubectl`` would refuse but users mean."""
    out: list[str] = []
    for i, item in enumerate(sequence(value, at, diag)):
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, int | float) and not isinstance(item, bool):
            diag.error(at.index(i), f"expected a string, got {type_name(item)} (quote it)")
        else:
            diag.error(at.index(i), f"expected a string, got {type_name(item)}")
    return out


def check_keys(
    data: Mapping[str, Any],
    at: YamlPath,
    diag: Diagnostics,
    handled: Collection[str],
    ignored: Mapping[str, str] | None = None,
) -> None:
    """Warn about every key that is neither handled nor deliberately ignored: nothing is dropped silently.

    ``ignored`` maps keys Berth reads but does not apply to the reason, given in the warning (an
    empty reason: ignored without a warning, for output-only or meaningless-here keys). Keys whose
    value is empty (null, ``{}``, ``[]``) ask for nothing, so they are not reported.
    """
    for key, value in data.items():
        if key in handled or value is None or value in ({}, []):
            continue
        if ignored and key in ignored:
            if ignored[key]:
                diag.unsupported(at.child(key), ignored[key])
            continue
        diag.unsupported(at.child(key))
