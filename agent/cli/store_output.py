"""Shared CLI plumbing for store commands: ``--root``, ``-o json|table`` and error reporting.

Scripts get JSON with ``-o json``; people get a rich table on a terminal and plain tab-separated
columns in a pipe. Errors Berth raises on purpose become one ``error:`` line and exit status 1
(2 for an invalid spec, as everywhere in Berth), never a traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from agent.store.layout import ENV_ROOT, resolve_root

F = TypeVar("F", bound=Callable[..., Any])


def store_options(func: F) -> F:
    """``--root`` (or $BERTH_ROOT) and ``-o/--output``."""
    func = click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        envvar=ENV_ROOT,
        help="Store root (default /var/lib/rpm-ostree/containers; env BERTH_ROOT).",
    )(func)
    func = click.option(
        "-o", "--output", type=click.Choice(["table", "json"]), default="table", show_default=True
    )(func)
    return func


def root_of(root: Path | None) -> Path:
    return resolve_root(root)


def emit(output: str, data: Any, columns: list[str] | None = None, title: str = "") -> None:
    """Print ``data`` (a list of rows as dicts, or any JSON value) as JSON or as a table."""
    if output == "json":
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    if columns is None or not isinstance(data, list):
        if isinstance(data, dict):
            for key, value in data.items():
                click.echo(f"{key}: {value if not isinstance(value, dict | list) else json.dumps(value)}")
        elif isinstance(data, list):
            for item in data:
                click.echo(str(item))
        else:
            click.echo(str(data))
        return
    if sys.stdout.isatty():
        from rich.console import Console  # rich only when a person is looking
        from rich.table import Table

        table = Table(title=title or None)
        for col in columns:
            table.add_column(col.upper())
        for row in data:
            table.add_row(*(str(row.get(col, "")) for col in columns))
        Console().print(table)
        return
    click.echo("\t".join(col.upper() for col in columns))
    for row in data:
        click.echo("\t".join(str(row.get(col, "")) for col in columns))


def handle_errors(func: F) -> F:
    """Turn Berth's own errors into an ``error:`` line and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from agent.registry.errors import RegistryError
        from agent.store.deployments import DeploymentError
        from agent.store.images import ImageNotFound
        from agent.store.streams import LayerTooLarge
        from agent.store.unpacking import LayerError
        from translators.errors import BerthError, InvalidSpec

        try:
            return func(*args, **kwargs)
        except InvalidSpec as exc:
            for diag in exc.diagnostics:
                click.echo(f"error: {diag}", err=True)
            sys.exit(2)
        except (
            BerthError,
            DeploymentError,
            ImageNotFound,
            LayerError,
            LayerTooLarge,
            RegistryError,
            ValueError,
        ) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return cast(F, wrapper)
