"""``berth compose config``: the normalised compose model, as ``docker compose config`` prints it.

A thin layer over :func:`translators.compose.load`: options are parsed here, the environment is
passed explicitly (the translator reads no globals), and every diagnostic goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from translators.compose import ComposeFile, load
from translators.errors import InvalidSpec

# docker compose's lookup order when no -f is given; each has an override file next to it
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")


def find_default_files(directory: Path) -> list[Path]:
    """The first default compose file in ``directory`` and its matching ``*.override.*`` file."""
    for name in DEFAULT_FILES:
        path = directory / name
        if path.is_file():
            stem, ext = name.rsplit(".", 1)
            override = directory / f"{stem}.override.{ext}"
            return [path, override] if override.is_file() else [path]
    return []


def _files(given: tuple[str, ...], project_dir: Path | None) -> list[ComposeFile]:
    if not given and os.environ.get("COMPOSE_FILE"):
        given = tuple(os.environ["COMPOSE_FILE"].split(os.environ.get("COMPOSE_PATH_SEPARATOR", os.pathsep)))
    if not given:
        found = find_default_files(project_dir or Path.cwd())
        if not found:
            raise click.UsageError("no configuration file provided: not found (use -f)")
        return [ComposeFile(p) for p in found]
    files = []
    for name in given:
        if name == "-":
            files.append(ComposeFile(Path.cwd() / "stdin", sys.stdin.read()))
        else:
            files.append(ComposeFile(Path.cwd() / name))
    return files


def _dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=True)
    import yaml

    return str(yaml.safe_dump(data, sort_keys=True, default_flow_style=False, allow_unicode=True))


@click.group()
def compose() -> None:
    """Compose projects: load, check and show them as Berth reads them."""


@compose.command()
@click.option(
    "-f", "--file", "files", multiple=True, help="Compose file (several merge in order; - is stdin)."
)
@click.option("-p", "--project-name", default=None, help="Project name.")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(path_type=Path), help="Env file(s).")
@click.option("--profile", "profiles", multiple=True, help="Enable a profile (* for all).")
@click.option("--project-directory", type=click.Path(path_type=Path), default=None, help="Project directory.")
@click.option(
    "--format",
    "-o",
    "--output",
    "fmt",
    type=click.Choice(["table", "json", "yaml"]),
    default="yaml",
    show_default=True,
    help="--format as docker compose names it; -o as every berth command does (table: the YAML).",
)
@click.option("--services", is_flag=True, help="Print the service names, one a line.")
@click.option("--volumes", is_flag=True, help="Print the volume names, one a line.")
@click.option("--networks", is_flag=True, help="Print the network names, one a line.")
@click.option("-q", "--quiet", is_flag=True, help="Only validate: print nothing on success.")
def config(
    *,
    files: tuple[str, ...],
    project_name: str | None,
    env_files: tuple[Path, ...],
    profiles: tuple[str, ...],
    project_directory: Path | None,
    fmt: str,
    services: bool,
    volumes: bool,
    networks: bool,
    quiet: bool,
) -> None:
    """Print the normalised compose model (what ``docker compose config`` prints)."""
    try:
        project = load(
            _files(files, project_directory),
            env=dict(os.environ),
            env_files=[Path.cwd() / p for p in env_files],
            profiles=profiles,
            project_name=project_name,
            project_dir=project_directory,
        )
    except InvalidSpec as exc:
        for diagnostic in [*exc.warnings, *exc.diagnostics]:
            click.echo(str(diagnostic), err=True)
        sys.exit(2)
    for warning in project.warnings:
        click.echo(str(warning), err=True)
    if quiet:
        return
    model = project.model
    for flag, section in ((services, "services"), (volumes, "volumes"), (networks, "networks")):
        if flag:
            for name in model.get(section) or {}:
                click.echo(name)
            return
    click.echo(_dump(model, "yaml" if fmt == "table" else fmt).rstrip("\n"))
