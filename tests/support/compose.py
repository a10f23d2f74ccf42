"""Loading inline compose YAML from a temporary project directory, for the per-feature tests."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from translators.compose import ComposeFile, ComposeProject, load
from translators.errors import InvalidSpec

ENV = {"HOME": "/home/user", "PATH": "/usr/bin:/bin"}


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def load_yaml(
    directory: Path,
    *texts: str,
    env: Mapping[str, str] | None = None,
    **options: Any,
) -> ComposeProject:
    """Write each text as compose.yaml, override1.yaml, ... in ``directory`` and load them in order."""
    names = ["compose.yaml", *(f"override{i}.yaml" for i in range(1, len(texts)))]
    files = [ComposeFile(write(directory, n, t)) for n, t in zip(names, texts, strict=True)]
    return load(files, env={**ENV, **(env or {})}, **options)


def errors_of(directory: Path, *texts: str, **options: Any) -> list[str]:
    """The diagnostics (as printed) of a load that must fail."""
    try:
        load_yaml(directory, *texts, **options)
    except InvalidSpec as exc:
        return [str(d) for d in exc.diagnostics]
    raise AssertionError("the load succeeded")


def warnings_of(project: ComposeProject) -> Sequence[str]:
    return [f"{d.path}: {d.message}" for d in project.warnings]
