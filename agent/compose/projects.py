"""A compose project as the Engine runs it: services, replicas, names, labels and hashes.

The translator names one spec per service ``<project>-<service>``; docker compose names each
container ``<project>-<service>-<n>``, and so does Berth (one rule, here): every replica is one
deployment of that name, owned by ``Owner(kind="compose")`` carrying docker compose's labels.

The configuration hash leaves out what docker compose leaves out of its own (the replica count,
``depends_on``, the pull policy) and the deployment's name, so scaling or reordering a project
does not recreate containers whose configuration did not change.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.compose.labels import (
    COMPOSE_VERSION,
    CONFIG_FILES,
    DEPENDS_ON,
    HASH,
    LABEL,
    NUMBER,
    ONEOFF,
    PROJECT,
    SERVICE,
    VERSION,
    WORKING_DIR,
    ComposeError,
    container_name,
    number_of,
)
from agent.store.records import Owner
from translators.spec import DeploymentSpec
from translators.spec.deployment import Dependency
from translators.spec.project import Project

__all__ = [
    "COMPOSE_VERSION",
    "CONFIG_FILES",
    "DEPENDS_ON",
    "HASH",
    "LABEL",
    "NUMBER",
    "ONEOFF",
    "PROJECT",
    "SERVICE",
    "VERSION",
    "WORKING_DIR",
    "ComposeError",
    "ComposeProject",
    "Service",
    "config_hash",
    "container_name",
    "from_translation",
    "load",
    "number_of",
]


@dataclass(frozen=True)
class Service:
    """One service of the project with what the Engine needs to run its replicas."""

    name: str
    spec: DeploymentSpec
    """The translator's spec (named ``<project>-<service>``)."""
    scale: int
    depends_on: tuple[Dependency, ...]
    """Dependencies by service name (not spec name)."""
    config_hash: str

    def replica(self, project: str, number: int, *, as_job: bool = False) -> DeploymentSpec:
        """The spec of replica ``number``: named as docker compose names it, one replica."""
        config = self.spec.config.model_copy(update={"replicas": 1, **({"role": "job"} if as_job else {})})
        return self.spec.model_copy(
            update={"name": container_name(project, self.name, number), "config": config}
        )


@dataclass(frozen=True)
class ComposeProject:
    """The loaded project: its services in start order and what they share."""

    name: str
    services: dict[str, Service]
    """By service name, in an order that starts dependencies first."""
    project: Project
    config_files: tuple[str, ...]
    working_dir: str
    warnings: tuple[str, ...] = ()
    completions: frozenset[str] = field(default_factory=frozenset)
    """Services others wait for with service_completed_successfully (run to completion)."""

    def owner(self, service: str, number: int, *, oneoff: bool = False) -> Owner:
        """The ownership record of one replica, with docker compose's labels."""
        svc = self.services[service]
        labels = {
            PROJECT: self.name,
            SERVICE: service,
            NUMBER: str(number),
            HASH: svc.config_hash,
            CONFIG_FILES: ",".join(self.config_files),
            WORKING_DIR: self.working_dir,
            ONEOFF: "True" if oneoff else "False",
            DEPENDS_ON: ",".join(
                f"{d.name}:{_condition(d.condition)}:{str(d.restart).lower()}" for d in svc.depends_on
            ),
            VERSION: COMPOSE_VERSION,
        }
        return Owner(kind="compose", project=self.name, service=service, labels=labels)

    def closure(self, wanted: Sequence[str]) -> list[str]:
        """``wanted`` services and everything they depend on, in start order (all when empty)."""
        unknown = [s for s in wanted if s not in self.services]
        if unknown:
            raise ComposeError(f"no such service: {unknown[0]}")
        if not wanted:
            return list(self.services)
        keep: set[str] = set()
        todo = list(wanted)
        while todo:
            name = todo.pop()
            if name in keep:
                continue
            keep.add(name)
            todo.extend(d.name for d in self.services[name].depends_on if d.name in self.services)
        return [s for s in self.services if s in keep]


def _condition(condition: str) -> str:
    return f"service_{condition}"


def config_hash(spec: DeploymentSpec) -> str:
    """sha256 of the spec without what docker compose's hash leaves out."""
    data = spec.model_dump(mode="json")
    data.pop("name", None)
    config = data.get("config", {})
    for key in ("replicas", "depends_on", "pull_policy"):
        config.pop(key, None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def from_translation(
    translation: Any,
    *,
    config_files: Sequence[str],
    working_dir: str,
    scale: Mapping[str, int] | None = None,
    warnings: Sequence[str] = (),
) -> ComposeProject:
    """The project of a compose translation (``translators.dispatch.translate``'s result)."""
    project: Project = translation.project
    prefix = project.name + "-"
    by_spec = {s.name: s for s in translation.specs}
    service_of = {name: name[len(prefix) :] for name in by_spec}
    order = [n for n in project.order if n in by_spec] + [n for n in by_spec if n not in project.order]
    scale = dict(scale or {})
    unknown = [s for s in scale if s not in service_of.values()]
    if unknown:
        raise ComposeError(f"no such service: {unknown[0]}")
    services: dict[str, Service] = {}
    completions: set[str] = set()
    for spec_name in order:
        spec = by_spec[spec_name]
        name = service_of[spec_name]
        deps = tuple(
            d.model_copy(update={"name": service_of.get(d.name, d.name)}) for d in spec.config.depends_on
        )
        completions.update(d.name for d in deps if d.condition == "completed_successfully")
        services[name] = Service(
            name=name,
            spec=spec,
            scale=scale.get(name, spec.config.replicas),
            depends_on=deps,
            config_hash=config_hash(spec),
        )
    return ComposeProject(
        name=project.name,
        services=services,
        project=project,
        config_files=tuple(config_files),
        working_dir=working_dir,
        warnings=tuple(warnings),
        completions=frozenset(completions),
    )


def load(
    files: Sequence[Path],
    *,
    env: Mapping[str, str],
    env_files: Sequence[Path] = (),
    profiles: Sequence[str] = (),
    project_name: str | None = None,
    project_dir: Path | None = None,
    scale: Mapping[str, int] | None = None,
    texts: Mapping[Path, str] | None = None,
) -> ComposeProject:
    """Load and translate compose files (InvalidSpec on errors, every one at once)."""
    from translators.compose import ComposeFile
    from translators.compose import load as load_compose

    texts = texts or {}
    loaded = load_compose(
        [ComposeFile(p, texts.get(p)) for p in files],
        env=env,
        env_files=env_files,
        profiles=profiles,
        project_name=project_name,
        project_dir=project_dir,
    )
    working_dir = (
        os.path.abspath(str(project_dir)) if project_dir else os.path.dirname(os.path.abspath(files[0]))
    )
    return from_translation(
        loaded.translation,
        config_files=[os.path.abspath(p) for p in files],
        working_dir=working_dir,
        scale=scale,
        warnings=[str(w) for w in loaded.warnings],
    )
