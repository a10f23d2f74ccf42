"""``berth store check|recover|gc``: integrity, crash recovery and garbage collection."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from agent.cli.store_output import emit, handle_errors, root_of, store_options


@click.group()
def store() -> None:
    """Maintain the host store."""


@store.command()
@store_options
@handle_errors
def check(root: Path | None, output: str) -> None:
    """Verify blobs, images, layers, deployments and metadata; exit 1 naming each problem."""
    from agent.store import checking

    problems = checking.check(root_of(root))
    if output != "table":
        emit(output, {"ok": not problems, "problems": problems})
    elif problems:
        for problem in problems:
            click.echo(f"problem: {problem}", err=True)
    else:
        click.echo("store is consistent")
    if problems:
        sys.exit(1)


@store.command()
@store_options
@handle_errors
def recover(root: Path | None, output: str) -> None:
    """Clear an interrupted transaction's leftovers and finish a half-done switch."""
    from agent.store import deploying

    emit(output, {"done": deploying.recover(root_of(root))})


@store.command()
@store_options
@handle_errors
def gc(root: Path | None, output: str) -> None:
    """Remove blobs, layers and merged trees that nothing refers to."""
    from agent.store import collecting

    emit(output, {"removed": collecting.collect(root_of(root))})
