"""Image references split into registry, repository and tag, with Docker's defaults."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REGISTRY = "docker.io"


@dataclass(frozen=True)
class Reference:
    """``registry/repository:tag`` or ``registry/repository@sha256:...``."""

    registry: str
    repository: str
    tag: str
    """A tag, or a digest ``sha256:<hex>``."""

    def __str__(self) -> str:
        sep = "@" if self.tag.startswith("sha256:") else ":"
        return f"{self.registry}/{self.repository}{sep}{self.tag}"


def parse(reference: str) -> Reference:
    """``busybox`` -> ``docker.io/library/busybox:latest``; ``host:5000/a/b:t`` stays."""
    rest = reference
    tag = "latest"
    if "@" in rest:
        rest, tag = rest.split("@", 1)
    else:
        last = rest.rsplit("/", 1)[-1]
        if ":" in last:
            rest, tag = rest.rsplit(":", 1)
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, remainder
    else:
        registry, repository = DEFAULT_REGISTRY, rest
        if "/" not in repository:
            repository = f"library/{repository}"
    if not repository or not tag:
        raise ValueError(f"invalid image reference {reference!r}")
    return Reference(registry, repository, tag)
