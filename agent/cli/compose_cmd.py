"""``berth compose``: compose projects on the Engine, with docker compose v2's commands and output.

``config`` prints the normalised model (a thin layer over :func:`translators.compose.load`); the
other commands run the project (:mod:`agent.compose`): every service replica one deployment named
``<project>-<service>-<n>``. Options are parsed here, the environment is passed explicitly (the
translator reads no globals), and every diagnostic goes to stderr.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from translators.compose.inputs import ComposeFile
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


@dataclass(frozen=True)
class Globals:
    """The options every compose command shares (given before the command, as docker compose has them)."""

    files: tuple[str, ...] = ()
    project_name: str | None = None
    env_files: tuple[Path, ...] = ()
    profiles: tuple[str, ...] = ()
    project_directory: Path | None = None
    progress: str = "auto"
    root: Path | None = None
    run_root: Path | None = None


class DockerUsageError(click.UsageError):
    """A usage error, exiting 1 as docker compose's do."""

    exit_code = 1


class ComposeGroup(click.Group):
    """Subcommands that run projects live in :mod:`agent.cli.compose_run` (imported when used)."""

    RUNNING = (
        "up", "down", "ps", "logs", "exec", "run", "start", "stop", "restart", "kill", "rm",
        "pull", "images", "top", "port", "ls", "version", "events",
    )  # fmt: skip

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.RUNNING})

    def invoke(self, ctx: click.Context) -> Any:
        """docker compose exits 1 for every error of the commands that run projects (usage errors
        and invalid files included); ``config`` keeps Berth's 2 for an invalid file."""
        words = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        running = bool(words) and words[0] in self.RUNNING
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            if running or not words or words[0] not in self.commands:
                raise DockerUsageError(exc.message, exc.ctx) from exc
            raise
        except SystemExit as exc:
            if running and exc.code == 2:
                raise SystemExit(1) from exc
            raise

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.RUNNING:
            from agent.cli import compose_run

            command = compose_run.COMMANDS[cmd_name]
            return command
        return super().get_command(ctx, cmd_name)


def _dump(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=True)
    import yaml

    return str(yaml.safe_dump(data, sort_keys=True, default_flow_style=False, allow_unicode=True))


@click.group(cls=ComposeGroup)
@click.option(
    "-f", "--file", "files", multiple=True, help="Compose file (several merge in order; - is stdin)."
)
@click.option("-p", "--project-name", default=None, help="Project name.")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(path_type=Path), help="Env file(s).")
@click.option("--profile", "profiles", multiple=True, help="Enable a profile (* for all).")
@click.option("--project-directory", type=click.Path(path_type=Path), default=None, help="Project directory.")
@click.option(
    "--progress",
    type=click.Choice(["auto", "tty", "plain", "quiet"]),
    default="auto",
    help="Progress output (quiet: none).",
)
@click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), envvar="BERTH_ROOT", help="Store root."
)
@click.option(
    "--run-root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="BERTH_RUN_ROOT",
    help="Runtime state directory (default /run/berth[/<store>]).",
)
@click.pass_context
def compose(
    ctx: click.Context,
    *,
    files: tuple[str, ...],
    project_name: str | None,
    env_files: tuple[Path, ...],
    profiles: tuple[str, ...],
    project_directory: Path | None,
    progress: str,
    root: Path | None,
    run_root: Path | None,
) -> None:
    """Compose projects: run them on this host (docker compose's commands), or check and show them."""
    ctx.obj = Globals(files, project_name, env_files, profiles, project_directory, progress, root, run_root)


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
@click.pass_obj
def config(
    g: Globals | None,
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
    from translators.compose import load

    if g is not None:
        files = files or g.files
        project_name = project_name or g.project_name
        env_files = env_files or g.env_files
        profiles = profiles or g.profiles
        project_directory = project_directory or g.project_directory
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
