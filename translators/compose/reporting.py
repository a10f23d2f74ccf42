"""Where a finding sits: the compose file, its line and the YAML path, across merged files.

After several files are merged a path such as ``services.web.ports[1]`` no longer belongs to one
document, so every parsed file registers its line index here and a diagnostic is placed in the last
file that defines the path (the one whose value won the merge).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from translators.errors import Code, Diagnostic, Diagnostics
from translators.paths import YamlPath
from translators.yamlio import Lines


@dataclass
class Report:
    """Errors and warnings of one compose load, each placed in its file and line."""

    diag: Diagnostics = field(default_factory=Diagnostics)
    sources: list[tuple[str, Lines]] = field(default_factory=list)
    _seen: set[tuple[str, str, str]] = field(default_factory=set)
    dollars: bool = False
    """Some value may hold a literal ``$`` (the model then prints it as ``$$``)."""
    tagged: bool = False
    """Some file used ``!reset`` or ``!override`` (the merge phase then removes the markers)."""

    def register(self, file: str, lines: Lines) -> None:
        self.sources.append((file, lines))

    def locate(self, path: YamlPath | None, file: str | None = None) -> tuple[str | None, int | None]:
        """The file (the given one, else the last that has the path) and line of ``path``."""
        if path is None:
            return file, None
        candidates = [s for s in self.sources if s[0] == file] if file else list(reversed(self.sources))
        parts = path.parts
        while parts:
            for name, lines in candidates:
                line = lines.get(parts)
                if line is not None:
                    return name, line
            parts = parts[:-1]
        for name, lines in candidates:  # a document-level problem: where the document starts
            if () in lines:
                return name, lines[()]
        return (file or (self.sources[0][0] if self.sources else None)), None

    def error(
        self, path: YamlPath | None, message: str, *, file: str | None = None, code: Code = "invalid"
    ) -> None:
        where, line = self.locate(path, file)
        if code == "missing-reference":
            self.diag.missing_reference = True
        self.diag.errors.append(Diagnostic(message, str(path or ""), where, line, "error", code))

    def warn(
        self, path: YamlPath | None, message: str, *, file: str | None = None, code: Code = "unsupported"
    ) -> None:
        key = (str(path or ""), message, file or "")
        if key in self._seen:
            return
        self._seen.add(key)
        where, line = self.locate(path, file)
        self.diag.warnings.append(Diagnostic(message, str(path or ""), where, line, "warning", code))

    def unsupported(self, path: YamlPath, what: str = "") -> None:
        self.warn(path, "not supported by Berth, ignored" + (f" ({what})" if what else ""))

    def unset_warner(self, path: YamlPath | None, file: str | None = None) -> Callable[[str], None]:
        """The callback interpolation calls for an unset variable: docker compose's warning."""

        def warn(name: str) -> None:
            message = f'The "{name}" variable is not set. Defaulting to a blank string.'
            self.warn(path, message, file=file, code="notice")

        return warn

    @property
    def failed(self) -> bool:
        return bool(self.diag.errors)
