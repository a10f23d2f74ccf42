"""Phase 5: ``include``: other compose projects imported into this one.

Each included project keeps its own project directory (for relative paths) and its own ``.env``
(``env_file`` of the include entry, else ``<its dir>/.env``); variables of the including project
win over it, as compose-go does. Its services, networks, volumes, secrets and configs are imported;
a name already defined differently is a conflict (an error), and a file that includes itself,
directly or not, is a cycle (an error naming the chain).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from typing import Any

from translators.compose import dotenv, inputs, paths
from translators.compose.parsing import read_text
from translators.compose.reporting import Report
from translators.paths import YamlPath

# (files, environment, include chain) -> merged canonical model or None
LoadProject = Callable[[list[str], Mapping[str, str], list[str]], "dict[str, Any] | None"]
RESOURCES = ("services", "volumes", "networks", "secrets", "configs")


def _entries(value: Any, report: Report, file: str) -> list[tuple[int, dict[str, Any]]]:
    if value is None:
        return []
    if not isinstance(value, list):
        report.error(YamlPath(("include",)), "`include` must be a list", file=file)
        return []
    out = []
    for i, item in enumerate(value):
        entry = {"path": item} if isinstance(item, str) else item
        if isinstance(entry, dict):
            out.append((i, entry))
    return out


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def apply_include(
    model: dict[str, Any],
    file: str,
    *,
    env: Mapping[str, str],
    chain: list[str],
    report: Report,
    load_project: LoadProject,
    home: str | None,
) -> dict[str, Any]:
    """``model`` with every included project's resources imported and ``include`` removed."""
    entries = _entries(model.get("include"), report, file)
    model = {k: v for k, v in model.items() if k != "include"}
    workdir = posixpath.dirname(file)
    for i, entry in entries:
        at = YamlPath(("include", i))
        files = [paths.absolute(p, workdir, home) for p in _strings(entry.get("path"))]
        if not files:
            report.error(at / "path", "include needs a path", file=file)
            continue
        if files[0] in chain or files[0] == file:
            cycle = [*chain, file, files[0]] if file not in chain else [*chain, files[0]]
            report.error(at, "include cycle detected: " + " include ".join(cycle), file=file)
            continue
        project_dir = entry.get("project_directory")
        project_dir = (
            paths.absolute(project_dir, workdir, home)
            if isinstance(project_dir, str)
            else posixpath.dirname(files[0])
        )
        env_files = [paths.absolute(p, workdir, home) for p in _strings(entry.get("env_file"))]
        if not env_files and inputs.is_file(posixpath.join(project_dir, ".env")):
            env_files = [posixpath.join(project_dir, ".env")]
        own: dict[str, str] = {}
        for env_file in env_files:
            text = read_text(env_file, report, what="env file")
            if text is None:
                continue
            try:
                own.update(dotenv.parse(text, dotenv.chained(env, own)))
            except dotenv.DotenvError as exc:
                report.error(None, f"failed to read {env_file}: {exc}", file=env_file)
        sub_env = {**own, **env}
        imported = load_project(files, sub_env, [*chain, file])
        if imported is None:
            continue
        paths.resolve_model(imported, project_dir, home)
        for section in RESOURCES:
            incoming = imported.get(section)
            if not isinstance(incoming, dict):
                continue
            target = model.get(section)
            target = dict(target) if isinstance(target, dict) else {}
            for name, value in incoming.items():
                if name in target and target[name] != value:
                    report.error(
                        YamlPath((section, name)),
                        f"{section}.{name} conflicts with imported resource",
                        file=file,
                    )
                    continue
                target[name] = value
            model[section] = target
    return model
