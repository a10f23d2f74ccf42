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
@click.option("--repair", is_flag=True, help="Finish interrupted operations first (as the next write would).")
@store_options
@handle_errors
def check(repair: bool, root: Path | None, output: str) -> None:
    """Verify blobs, images, layers, deployments and metadata.

    Exit 1 naming each problem (corruption); leftovers of an interrupted operation are listed as
    such and exit 0: recovery (--repair, or the next write) finishes them without losing anything.
    """
    from agent.store import checking

    found = checking.examine(root_of(root), repair=repair)
    problems = found.problems
    if output != "table":
        data = {"ok": not problems, "problems": problems, "interrupted": found.interrupted}
        if repair:
            data["repaired"] = found.repaired
        emit(output, data)
    else:
        for done in found.repaired:
            click.echo(f"repaired: {done}")
        for problem in problems:
            click.echo(f"problem: {problem}", err=True)
        for leftover in found.interrupted:
            click.echo(f"interrupted: {leftover} (finished by --repair or the next write)", err=True)
        if not problems:
            click.echo(
                "store is consistent" + (" (with interrupted work to finish)" if found.interrupted else "")
            )
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
