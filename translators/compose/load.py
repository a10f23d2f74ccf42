"""The compose loader: one function call per phase, in the order PHASES.md describes.

Per file: parse (1), keys to strings (2), interpolate (3), validate against the schema (4),
canonicalise short forms (5), ``extends`` (6), ``include`` (7). Then for the project: merge the
``-f`` files (8), profiles (9), ``depends_on`` cycles among enabled services (10), defaults and
normalisation (11),
consistency (12) and binding to spec models (13). Errors are collected by a :class:`Report` and
raised once, as :class:`InvalidSpec`.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from translators.compose import (
    binding,
    canonical,
    consistency,
    dotenv,
    extending,
    graph,
    including,
    inputs,
    interpolating,
    merging,
    normalising,
    parsing,
    schema,
)
from translators.compose import (
    profiles as profiling,
)
from translators.compose.inputs import ComposeFile
from translators.compose.reporting import Report
from translators.errors import Diagnostic, InvalidSpec
from translators.paths import YamlPath
from translators.result import Translation

__all__ = ["ComposeFile", "ComposeProject", "load"]


@dataclass
class ComposeProject:
    """The normalised model (``docker compose config --format json``) and its translation."""

    model: dict[str, Any]
    translation: Translation
    warnings: list[Diagnostic] = field(default_factory=list)
    """Everything reported that did not stop the load (also in ``translation.warnings``)."""


@dataclass
class _Loader:
    report: Report
    home: str | None
    loading: list[str] = field(default_factory=list)
    cache: dict[tuple[str, int], dict[str, Any] | None] = field(default_factory=dict)

    def layer(
        self, file: str, text: str | None, env: Mapping[str, str], chain: list[str]
    ) -> dict[str, Any] | None:
        """Phases 1-7 for one file: its canonical model with extends and include applied."""
        if file in self.loading:
            self.report.error(
                None, "Circular reference: " + " extends ".join([*self.loading, file]), file=file
            )
            return None
        if text is None:
            text = parsing.read_text(file, self.report)
            if text is None:
                return None
        else:
            inputs.given_file(file)
        model = parsing.parse(text, file, self.report)  # phases 1 and 2
        if model is None:
            return None
        model = interpolating.interpolate(model, env, self.report, file)  # phase 3
        errors = len(self.report.diag.errors)
        self._validate(model, file)  # phase 4
        if len(self.report.diag.errors) > errors:
            # later phases read the model as the schema describes it: a wrongly typed value was
            # reported at its path, and nothing is built from it (it would fail as a crash)
            return None
        model = merging.enforce_unicity(canonical.canonicalise(model, self.report))  # phase 5
        self.loading.append(file)
        try:
            model = extending.apply_extends(  # phase 6
                model, file, self.report, lambda other: self.other_file(other, env), self.home
            )
        finally:
            self.loading.pop()
        return including.apply_include(
            model, file, env=env, chain=chain, report=self.report, load_project=self.project, home=self.home
        )  # phase 7

    def other_file(self, file: str, env: Mapping[str, str]) -> dict[str, Any] | None:
        key = (file, id(env))  # an included project extends with its own environment
        if key not in self.cache:
            self.cache[key] = self.layer(file, None, env, [])
        return self.cache[key]

    def project(self, files: list[str], env: Mapping[str, str], chain: list[str]) -> dict[str, Any] | None:
        """Phase 8: every file's layer, merged in order."""
        layers = [self.layer(file, None, env, chain) for file in files]
        return _merge_layers([layer for layer in layers if layer is not None], self.report)

    def _validate(self, model: dict[str, Any], file: str) -> None:
        schema.check(
            model, schema.compose_schema(), YamlPath(), lambda p, m: self.report.error(p, m, file=file)
        )
        if "version" in model:
            self.report.warn(
                YamlPath(("version",)),
                "the attribute `version` is obsolete, it will be ignored, please remove it",
                file=file,
                code="notice",
            )


def _dotenv(
    project_dir: str, env_files: Sequence[Path], env: Mapping[str, str], report: Report
) -> dict[str, str]:
    paths = [str(p) if p.is_absolute() else os.path.join(project_dir, str(p)) for p in env_files]
    default = posixpath.join(project_dir, ".env")
    if not paths and inputs.is_file(default):
        paths = [default]
    values: dict[str, str] = {}
    for path in paths:
        text = parsing.read_text(path, report, what="env file")
        if text is None:
            continue
        try:
            values.update(
                dotenv.parse(
                    text,
                    dotenv.chained(env, values),
                    report.unset_warner(None, file=path),
                )
            )
        except dotenv.DotenvError as exc:
            report.error(None, f"failed to read {path}: {exc}", file=path)
    return values


def _project_name(given: str | None, env: Mapping[str, str], model: dict[str, Any], project_dir: str) -> str:
    for candidate in (given, env.get("COMPOSE_PROJECT_NAME"), model.get("name")):
        if isinstance(candidate, str) and candidate:
            return normalising.normalise_project_name(candidate)
    return normalising.normalise_project_name(posixpath.basename(project_dir.rstrip("/")) or "default")


def load(
    files: Sequence[ComposeFile],
    *,
    env: Mapping[str, str],
    env_files: Sequence[Path] = (),
    profiles: Sequence[str] = (),
    project_name: str | None = None,
    project_dir: Path | None = None,
    per_replica: bool = False,
) -> ComposeProject:
    """Load compose files into the normalised model and its translation, or raise InvalidSpec."""
    report = Report()
    if not files:
        raise InvalidSpec([Diagnostic("no compose file given", code="not-found")])
    first = os.path.abspath(str(files[0].path))
    workdir = os.path.abspath(str(project_dir)) if project_dir else posixpath.dirname(first)
    project_env = inputs.project_env(env, _dotenv(workdir, env_files, inputs.watched(env), report))
    loader = _Loader(report, project_env.get("HOME"))
    layers = [loader.layer(os.path.abspath(str(f.path)), f.text, project_env, []) for f in files]
    model = _merge_layers([layer for layer in layers if layer is not None], report)  # phase 8
    merging.check_unique_items(model, report)
    if not model and not report.failed:
        report.error(None, "empty compose file", file=first)
    wanted = list(profiles) or [p for p in project_env.get("COMPOSE_PROFILES", "").split(",") if p]
    model = profiling.apply_profiles(model, wanted)  # phase 9
    if not report.failed:
        _check_cycles(model, report)  # phase 10
    name = _project_name(project_name, project_env, model, workdir)
    if not name:
        report.error(YamlPath(("name",)), "project name must not be empty")
    if not report.failed:
        model = normalising.normalise(model, name, workdir, project_env, report)  # phase 11
        consistency.check(model, report)  # phase 12
    translation = (
        binding.translate(model, project_env, report, per_replica=per_replica) if not report.failed else None
    )
    report.diag.raise_if_errors()  # phase 13 done: every error at once
    if translation is None:  # pragma: no cover - translate returns None only after an error
        raise InvalidSpec(report.diag.errors, report.diag.warnings)
    printed = normalising.escape_dollars(model) if report.dollars else model
    return ComposeProject(printed, translation, list(report.diag.warnings))


def _merge_layers(layers: list[dict[str, Any]], report: Report) -> dict[str, Any]:
    """Phase 8: the layers merged in order; ``!reset``/``!override`` markers are gone afterwards."""
    if not layers:
        return {}
    first: dict[str, Any] = merging.strip_tags(layers[0]) if report.tagged else layers[0]
    model = first
    for layer in layers[1:]:
        model = merging.merge(model, layer)
    return model


def _check_cycles(model: dict[str, Any], report: Report) -> None:
    services = model.get("services") or {}
    deps = {
        name: list((svc.get("depends_on") or {}) if isinstance(svc, dict) else {})
        for name, svc in services.items()
    }
    cycle = graph.find_cycle(deps)
    if cycle:
        report.error(
            YamlPath(("services", cycle[0], "depends_on")), "dependency cycle detected: " + " -> ".join(cycle)
        )
