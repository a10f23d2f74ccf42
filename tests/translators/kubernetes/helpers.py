"""Small helpers shared by the Kubernetes translator tests: translate inline YAML, find a spec."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from translators import kubernetes
from translators.errors import Diagnostic, InvalidSpec
from translators.result import Translation
from translators.spec import DeploymentSpec


def translate(text: str, **kwargs: Any) -> Translation:
    return kubernetes.translate(kubernetes.load_text(textwrap.dedent(text), "input.yaml"), **kwargs)


def errors(text: str) -> list[Diagnostic]:
    with pytest.raises(InvalidSpec) as info:
        translate(text)
    return info.value.diagnostics


def messages(text: str) -> list[str]:
    return [str(d) for d in errors(text)]


def spec(t: Translation, name: str) -> DeploymentSpec:
    found = [s for s in t.specs if s.name == name]
    assert found, f"no spec {name!r} in {[s.name for s in t.specs]}"
    return found[0]


def warnings(t: Translation) -> list[str]:
    return [str(w) for w in t.warnings]


def pod(containers: str, *, extra: str = "", spec_extra: str = "", kind: str = "Pod") -> str:
    """A Pod manifest named ``p`` with the given (already indented at 2) container list YAML."""
    body = textwrap.indent(textwrap.dedent(containers).strip("\n"), "  ")
    more = textwrap.indent(textwrap.dedent(spec_extra).strip("\n"), "  ")
    head = f"apiVersion: v1\nkind: {kind}\nmetadata:\n  name: p\nspec:\n  containers:\n"
    return f"{head}{body}\n{more}\n---\n{textwrap.dedent(extra)}"
