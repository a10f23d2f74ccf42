"""Platforms (``os/arch[/variant]``) and how an index entry is matched against one.

The default is ``linux/amd64``: Berth's hosts. Common aliases (``x86_64``, ``aarch64``) are
normalised, and ``arm64`` without a variant equals ``arm64/v8``, as containerd's matcher does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent.registry import errors

_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "i686": "386"}


@dataclass(frozen=True)
class Platform:
    """An operating system, CPU architecture and optional variant."""

    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def normalised(self) -> Platform:
        arch = _ARCH_ALIASES.get(self.architecture, self.architecture)
        variant = self.variant
        if arch == "arm64" and variant == "v8":
            variant = ""
        return Platform(self.os.lower(), arch, variant)

    def matches(self, candidate: Platform) -> bool:
        """True when ``candidate`` (an index entry) can run as this wanted platform."""
        want, have = self.normalised(), candidate.normalised()
        if (want.os, want.architecture) != (have.os, have.architecture):
            return False
        return not want.variant or want.variant == have.variant


DEFAULT = Platform("linux", "amd64")


def parse(text: str | None) -> Platform:
    """``os/arch[/variant]``; None gives the default ``linux/amd64``."""
    if not text:
        return DEFAULT
    parts = text.split("/")
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise errors.InvalidReference(
            "", f"--platform {text!r}: expected OS/ARCH[/VARIANT], e.g. linux/arm64"
        )
    return Platform(parts[0], parts[1], parts[2] if len(parts) == 3 else "")


def from_descriptor(value: Any) -> Platform | None:
    """The ``platform`` object of an index entry (None when absent or malformed)."""
    if not isinstance(value, dict) or not value.get("os") or not value.get("architecture"):
        return None
    return Platform(str(value["os"]), str(value["architecture"]), str(value.get("variant", "")))
