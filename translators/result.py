"""What every translator returns: specs, the project around them, and the warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from translators.errors import Diagnostic
from translators.spec import ConfigFragment, DeploymentSpec
from translators.spec.project import Project

Source = Literal["compose", "kubernetes", "native", "crd"]


@dataclass
class Translation:
    """The outcome of translating one input: one spec per container (and replica where asked)."""

    source: Source
    specs: list[DeploymentSpec]
    project: Project
    warnings: list[Diagnostic] = field(default_factory=list)
    fragments: list[ConfigFragment] = field(default_factory=list)
    """Configuration fragments (``{"config": ...}`` without name and image), validated as such."""
