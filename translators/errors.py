"""Errors as values a user can act on.

Berth never stops at the first problem: loaders collect every :class:`Diagnostic` (which file,
which line where the YAML parser knows it, which path, what was expected) and raise once. Warnings
travel the same way, so an unsupported key is reported with its path instead of being dropped.
Categories are types, checked with ``isinstance`` or :attr:`Diagnostic.code`, never by string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from translators.paths import YamlPath

Severity = Literal["error", "warning"]
Code = Literal[
    "invalid",
    "unsupported",
    "missing-reference",
    "not-applied",
    "not-found",
    "notice",
    "deprecated",
    "substituted",
]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding about the input, printed as ``file:line: path: message``."""

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None
    severity: Severity = "error"
    code: Code = "invalid"

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        elif self.line:
            where = f"line {self.line}: "
        path = f"{self.path}: " if self.path else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{prefix}{where}{path}{self.message}"


class BerthError(Exception):
    """Base of every error Berth raises on purpose."""


class InvalidSpec(BerthError):
    """The input cannot be translated; :attr:`diagnostics` lists every reason."""

    def __init__(self, diagnostics: Iterable[Diagnostic], warnings: Iterable[Diagnostic] = ()) -> None:
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        self.warnings: list[Diagnostic] = list(warnings)
        super().__init__("\n".join(str(d) for d in self.diagnostics) or "invalid input")


class MissingReference(InvalidSpec):
    """An object refers to another one (ConfigMap, Secret, service) that the input lacks."""


LineIndex = Mapping[tuple[str | int, ...], int]


@dataclass
class Diagnostics:
    """A collector for one translation: errors and warnings, each placed in its file and line.

    ``lines`` maps path tuples to 1-based line numbers (from :mod:`translators.yamlio`), so callers
    only give the path and the collector finds the line.
    """

    file: str | None = None
    lines: LineIndex = field(default_factory=dict)
    errors: list[Diagnostic] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)
    missing_reference: bool = False

    def _line(self, path: YamlPath | None) -> int | None:
        if path is None:
            return None
        parts = path.parts
        while parts:
            line = self.lines.get(parts)
            if line is not None:
                return line
            parts = parts[:-1]
        return self.lines.get(())  # a document-level problem: the line where the document starts

    def error(self, path: YamlPath | None, message: str, *, code: Code = "invalid") -> None:
        if code == "missing-reference":
            self.missing_reference = True
        self.errors.append(Diagnostic(message, str(path or ""), self.file, self._line(path), "error", code))

    def warn(self, path: YamlPath | None, message: str, *, code: Code = "unsupported") -> None:
        self.warnings.append(
            Diagnostic(message, str(path or ""), self.file, self._line(path), "warning", code)
        )

    def unsupported(self, path: YamlPath, what: str = "") -> None:
        """Report a key Berth does not apply, naming its path: never dropped silently."""
        detail = f" ({what})" if what else ""
        self.warn(path, f"not supported by Berth, ignored{detail}")

    def extend(self, other: Diagnostics) -> None:
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)
        self.missing_reference = self.missing_reference or other.missing_reference

    def absorb(self, exc: InvalidSpec) -> None:
        self.errors.extend(exc.diagnostics)
        self.warnings.extend(exc.warnings)
        self.missing_reference = self.missing_reference or isinstance(exc, MissingReference)

    def raise_if_errors(self) -> None:
        if self.errors:
            cls = MissingReference if self.missing_reference else InvalidSpec
            raise cls(self.errors, self.warnings)


def with_file(diags: Iterable[Diagnostic], file: str) -> list[Diagnostic]:
    """Give file-less diagnostics a file name (for errors raised below the loader)."""
    return [d if d.file else replace(d, file=file) for d in diags]
