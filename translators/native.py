"""Native deployment specs given as JSON or YAML: validated and normalised.

A document may hold one spec or a list of specs, or a configuration fragment (``{"config": ...}``
without name and image, as the product document shows them). This is the loader behind
``berth translate`` for spec files and ``berth container deploy --config``.
"""

from __future__ import annotations

from collections.abc import Sequence

from translators.errors import Diagnostics
from translators.paths import YamlPath
from translators.result import Translation
from translators.spec.deployment import ConfigFragment, DeploymentSpec
from translators.spec.project import Project
from translators.validation import bind
from translators.yamlio import Document


def is_spec(data: object) -> bool:
    """A mapping that looks like a spec rather than a compose file or a Kubernetes object."""
    return isinstance(data, dict) and "image" in data and "apiVersion" not in data and "services" not in data


FRAGMENT_KEYS = frozenset(("config", "transport"))


def is_fragment(data: object) -> bool:
    """A mapping holding only ``config`` (and perhaps ``transport``): a spec without name and image."""
    return isinstance(data, dict) and "config" in data and set(data) <= FRAGMENT_KEYS


def load(documents: Sequence[Document], *, project_name: str = "default") -> Translation:
    """Bind every spec of every document; all problems are reported together."""
    specs: list[DeploymentSpec] = []
    fragments: list[ConfigFragment] = []
    warnings = []
    errors = Diagnostics()
    for doc in documents:
        diag = Diagnostics(file=doc.file, lines=doc.lines)
        if is_fragment(doc.data):
            fragment = bind(ConfigFragment, doc.data, diag, YamlPath())
            if fragment is not None:
                fragments.append(fragment)
            errors.extend(diag)
            warnings.extend(diag.warnings)
            continue
        items = doc.data if isinstance(doc.data, list) else [doc.data]
        for i, item in enumerate(items):
            at = YamlPath.of(i) if isinstance(doc.data, list) else YamlPath()
            if not isinstance(item, dict):
                diag.error(at, f"expected a spec mapping with name and image, got {type(item).__name__}")
                continue
            spec = bind(DeploymentSpec, item, diag, at)
            if spec is not None:
                specs.append(spec)
        errors.extend(diag)
        warnings.extend(diag.warnings)
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            errors.error(None, f"two specs are named {spec.name!r}")
        seen.add(spec.name)
    errors.raise_if_errors()
    project = Project(name=project_name, order=order_by_dependencies(specs))
    return Translation("native", specs, project, warnings, fragments)


def order_by_dependencies(specs: Sequence[DeploymentSpec]) -> list[str]:
    """Names in start order: dependencies first, otherwise in input order (a stable topological sort)."""
    by_name = {s.name: s for s in specs}
    done: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str) -> None:
        if state.get(name) == 2 or name not in by_name:
            return
        if state.get(name) == 1:
            return  # a cycle: reported by the translator that knows the input's paths
        state[name] = 1
        for dep in by_name[name].config.depends_on:
            visit(dep.name)
        state[name] = 2
        done.append(name)

    for spec in specs:
        visit(spec.name)
    return done
