"""YAML paths: where in a document a value sits, rendered the way users read them.

Every diagnostic Berth prints names a path such as ``services.web.ports[1]``; one small immutable
type builds and renders them so the compose, Kubernetes and native loaders agree on the format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_\-/]+$")

Segment = str | int


@dataclass(frozen=True, slots=True)
class YamlPath:
    """An immutable path of mapping keys (str) and sequence indexes (int)."""

    parts: tuple[Segment, ...] = ()

    @classmethod
    def of(cls, *parts: Segment) -> YamlPath:
        return cls(tuple(parts))

    def child(self, key: str) -> YamlPath:
        return YamlPath((*self.parts, key))

    def index(self, i: int) -> YamlPath:
        return YamlPath((*self.parts, i))

    def __truediv__(self, part: Segment) -> YamlPath:
        return YamlPath((*self.parts, part))

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.parts)

    def __len__(self) -> int:
        return len(self.parts)

    @property
    def parent(self) -> YamlPath:
        return YamlPath(self.parts[:-1])

    @property
    def last(self) -> Segment | None:
        return self.parts[-1] if self.parts else None

    def matches(self, pattern: str) -> bool:
        """Match against a dotted pattern where ``*`` stands for any one key or index."""
        want = pattern.split(".") if pattern else []
        if len(want) != len(self.parts):
            return False
        return all(w == "*" or w == str(p) for w, p in zip(want, self.parts, strict=True))

    def __str__(self) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, int):
                out.append(f"[{part}]")
            elif _PLAIN_KEY.match(part):
                out.append(f".{part}" if out else part)
            else:
                out.append(f'["{part}"]')
        return "".join(out)


ROOT = YamlPath()


def render(parts: tuple[Segment, ...] | list[Segment]) -> str:
    """Render loose path parts (for example a pydantic error ``loc``)."""
    return str(YamlPath(tuple(parts)))
