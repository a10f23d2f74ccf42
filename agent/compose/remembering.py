"""Remembering what a compose project loaded to, so that an unchanged project is known at once.

Loading a project (parsing, interpolation, the schema, binding to the spec models) costs most of
a no-op ``up`` and of ``ps``: pydantic's import and validator builds alone are some 150 ms. Its
result depends only on what the loader read (:mod:`translators.compose.inputs`: files, the
existence of optional files, the environment variables it looked up), the command line, the
working directory and Berth's code. After a load, :func:`remember` writes the project's summary
(its name, each service's replica count, configuration hash and dependencies, its networks and
volumes) under a key made of the command line, the directory and the code, with the inputs it
read; :func:`recall` gives the summary back only when reading those inputs again gives exactly
the same (any doubt, any error: None, and the caller loads the project as before).

The summaries live in the store's run directory (tmpfs: nothing survives a reboot), one small
file per key, mode 0600: they name the environment variables the project read, with a sha256 of
each value (compared, never the value itself).

:func:`settled` is the no-op check of ``up -d``: every replica's deployment carries the
remembered hash and runs, the project has no other container, its networks and volumes exist,
and no service waits on a dependency's health or completion (the full path checks those now).
Then there is nothing to do, and ``up`` reports each container as running, as the full path
would.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import agent.compose
import translators
from agent.compose.labels import HASH, container_name, number_of
from agent.runtime.observing import Observer
from agent.store import atomic
from agent.store.deploying import Store
from translators.compose.inputs import Inputs

if TYPE_CHECKING:
    from agent.compose.projects import ComposeProject

FORMAT = 1
"""Bumped when the summary's form changes."""
_CODE = (Path(translators.__file__).parent, Path(agent.compose.__file__).parent)
"""The code a summary depends on: the translators (load, spec models) and the compose hashes."""


def code_stamp() -> str:
    """The size and modification time of every source file the summary depends on: an edited
    or upgraded Berth never reads a summary of an older one."""
    digest = hashlib.sha256()
    for top in _CODE:
        for directory, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".py", ".json")):
                    st = os.stat(os.path.join(directory, name))
                    digest.update(f"{directory}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def key(
    *,
    files: Sequence[Path],
    project_name: str | None,
    env_files: Sequence[Path],
    profiles: Sequence[str],
    project_dir: Path | None,
    scale: Mapping[str, int] | None,
) -> str:
    """The key of one command line in one directory with this code."""
    data = {
        "format": FORMAT,
        "code": code_stamp(),
        "cwd": os.getcwd(),
        "files": [os.path.abspath(p) for p in files],
        "project_name": project_name,
        "env_files": [os.path.abspath(p) for p in env_files],
        "profiles": list(profiles),
        "project_dir": os.path.abspath(project_dir) if project_dir else None,
        "scale": dict(sorted((scale or {}).items())),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class RememberedService:
    name: str
    scale: int
    config_hash: str
    depends_on: tuple[tuple[str, str, bool], ...]
    """(service, condition, required) as the project declares them."""


@dataclass(frozen=True)
class Remembered:
    """What ``ps`` and a no-op ``up`` need of a loaded project."""

    name: str
    services: tuple[RememberedService, ...]
    """In start order."""
    networks: tuple[tuple[str, bool], ...]
    """(name, external)."""
    volumes: tuple[tuple[str, bool], ...]
    warnings: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "services": [
                {"name": s.name, "scale": s.scale, "hash": s.config_hash, "depends_on": s.depends_on}
                for s in self.services
            ],
            "networks": self.networks,
            "volumes": self.volumes,
            "warnings": self.warnings,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Remembered:
        return cls(
            name=str(data["name"]),
            services=tuple(
                RememberedService(
                    name=str(s["name"]),
                    scale=int(s["scale"]),
                    config_hash=str(s["hash"]),
                    depends_on=tuple((str(n), str(c), bool(r)) for n, c, r in s["depends_on"]),
                )
                for s in data["services"]
            ),
            networks=tuple((str(n), bool(e)) for n, e in data["networks"]),
            volumes=tuple((str(n), bool(e)) for n, e in data["volumes"]),
            warnings=tuple(str(w) for w in data["warnings"]),
        )

    @classmethod
    def of(cls, project: ComposeProject) -> Remembered:
        return cls(
            name=project.name,
            services=tuple(
                RememberedService(
                    name=s.name,
                    scale=s.scale,
                    config_hash=s.config_hash,
                    depends_on=tuple((d.name, d.condition, d.required) for d in s.depends_on),
                )
                for s in project.services.values()
            ),
            networks=tuple((n.name, bool(n.external)) for n in project.project.networks.values()),
            volumes=tuple((v.name, bool(v.external)) for v in project.project.volumes.values()),
            warnings=project.warnings,
        )


def _path(run: Path, key: str) -> Path:
    return run / "compose" / f"{key}.json"


def remember(run: Path, key: str, inputs: Inputs, project: ComposeProject) -> None:
    """Keep the summary of ``project`` loaded from ``inputs`` (nothing when they cannot be read
    again, or the run directory cannot be written: remembering is only a shortcut)."""
    if not inputs.repeatable or inputs.whole_env:
        return
    path = _path(run, key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic.write_json(
            path, {"inputs": inputs.to_json(), "project": Remembered.of(project).to_json()}, 0o600
        )
    except OSError:
        return


def recall(run: Path, key: str, environ: Mapping[str, str]) -> Remembered | None:
    """The summary kept under ``key`` when its inputs read the same now; otherwise None."""
    try:
        data = atomic.read_json(_path(run, key))
        if not isinstance(data, dict) or not Inputs.unchanged(data["inputs"], environ):
            return None
        return Remembered.from_json(data["project"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def settled(store: Store, observer: Observer, project: Remembered) -> list[str] | None:
    """The replicas of a project that ``up -d`` would leave as they are, in start order, when
    that is all of them; None when anything would change (or might: the full path decides)."""
    from agent.compose.listing import project_deployments

    layout = store.layout
    for name, _external in project.networks:
        if not (layout.root / "networks" / f"{name}.json").is_file():  # agent.network.networks
            return None
    if project.volumes:
        have = set(store.volumes.list())
        if any(name not in have for name, _external in project.volumes):
            return None
    deployments = {d.name: d for d in project_deployments(store, project.name)}
    wanted: list[str] = []
    by_service = {s.name: s for s in project.services}
    for service in project.services:
        for number in range(1, service.scale + 1):
            name = container_name(project.name, service.name, number)
            deployment = deployments.get(name)
            if deployment is None or deployment.state.owner.labels.get(HASH) != service.config_hash:
                return None
            if number_of(deployment) != number or deployment.state.owner.service != service.name:
                return None
            ctr = observer.container(name)
            if ctr is None or not ctr.alive:
                return None
            wanted.append(name)
        for dep, condition, _required in service.depends_on:
            if dep not in by_service or condition != "started":
                # a dependency outside the project is reported by the full path; a health or
                # completion condition is checked by it now (a health record may be stale)
                return None
    if set(deployments) != set(wanted):
        return None  # orphans or replicas to scale down
    return wanted
