"""``berth kube play FILE...`` and ``berth kube down FILE``: manifests run on this host, as
``podman kube play`` runs them (:mod:`agent.kube.playing`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from agent.cli.store_output import handle_errors, root_of


def _engine(root: Path | None, run_root: Path | None) -> Any:
    from agent.runtime.engine import Engine
    from agent.store.layout import Layout

    path = root_of(root)
    Layout(path)
    return Engine(path, run_root)


def _translate(files: tuple[str, ...], configmaps: tuple[str, ...]) -> Any:
    from translators.dispatch import InputFile, translate

    inputs = [
        InputFile("stdin", sys.stdin.read()) if f == "-" else InputFile(f) for f in (*configmaps, *files)
    ]
    translation = translate(inputs)
    if translation.source not in ("kubernetes", "crd"):
        raise click.UsageError(f"{files[0]}: not Kubernetes manifests (use berth compose for compose files)")
    for warning in translation.warnings:
        click.echo(str(warning), err=True)
    return translation


_root = click.option(
    "--root", type=click.Path(file_okay=False, path_type=Path), envvar="BERTH_ROOT", help="Store root."
)
_run_root = click.option(
    "--run-root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="BERTH_RUN_ROOT",
    help="Runtime state.",
)


@click.group()
def kube() -> None:
    """Kubernetes on this host: play manifests (pods, Deployments, Jobs, ConfigMaps, Secrets, PVCs), or show what node agents report."""


@kube.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--replace", is_flag=True, help="Remove what an earlier play of these files made first.")
@click.option("--down", "take_down", is_flag=True, help="Remove what the play made (as kube down).")
@click.option("--configmap", "configmaps", multiple=True, help="A file of ConfigMaps the manifests use.")
@click.option("--network", default=None, help="Accepted for podman's scripts; pods join Berth's network.")
@click.option("--build/--no-build", default=False, help="Accepted; images are never built.")
@_root
@_run_root
@handle_errors
def play(
    files: tuple[str, ...],
    replace: bool,
    take_down: bool,
    configmaps: tuple[str, ...],
    network: str | None,
    build: bool,
    root: Path | None,
    run_root: Path | None,
) -> None:
    """Create pods, containers and volumes from Kubernetes YAML; re-playing changes only what changed."""
    from agent.kube import playing

    engine = _engine(root, run_root)
    name = playing.play_name(files)
    if take_down:
        _down(engine, name)
        return
    result = playing.play(engine, _translate(files, configmaps), name, replace=replace)
    if result.volumes:
        click.echo("Volumes:")
        for volume in result.volumes:
            click.echo(volume)
    for pod, containers in result.pods.items():
        click.echo("Pod:")
        click.echo(pod)
        click.echo("Containers:" if len(containers) > 1 else "Container:")
        for container in containers:
            click.echo(container)
        click.echo()
    for container, why in result.failed.items():
        click.echo(f"error: {container}: {why}", err=True)
    if result.failed:
        sys.exit(1)


def _down(engine: Any, name: str) -> None:
    from agent.kube import playing

    removed = playing.down(engine, name)
    if not removed:
        click.echo(f"no pods of {name} on this host", err=True)
        return
    click.echo("Containers stopped and removed:")
    for container in removed:
        click.echo(container)


@kube.command()
@click.argument("file")
@_root
@_run_root
@handle_errors
def down(file: str, root: Path | None, run_root: Path | None) -> None:
    """Stop and remove what ``kube play FILE`` made (named volumes stay)."""
    from agent.kube import playing

    _down(_engine(root, run_root), playing.play_name([os.path.abspath(file)]))


def _add_status() -> None:
    """``kube status`` lives with the node agent that writes what it shows."""
    from agent.cli.agent_cmd import status

    kube.add_command(status, "status")


_add_status()
