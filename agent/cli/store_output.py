"""Shared CLI plumbing for store commands: ``--root``, ``-o table|json|yaml`` and error reporting.

One output convention for every command. Commands build records with machine values (full
digests, ``None`` for nothing, RFC 3339 times with their zone, lists as lists) under the field
names the README lists; ``-o json`` and ``-o yaml`` print exactly those. ``-o table`` (the
default) is for people: a list as columns (a rich table on a terminal, tab-separated columns in a
pipe) with digests shortened, nothing as ``-`` and times in UTC without the ``T``; a single record
as readable YAML. Errors Berth raises on purpose (every :class:`BerthError`) become one ``error:``
line and exit status 1 (2 for an invalid spec, as everywhere in Berth); anything else is reported
as an internal error in one line, never a traceback (unless ``BERTH_DEBUG=1``).
"""

from __future__ import annotations

import datetime
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from agent.store.layout import ENV_ROOT, resolve_root
from translators.errors import BerthError, InvalidSpec

DEBUG_ENV = "BERTH_DEBUG"
"""Set to 1 to see the traceback of an internal error."""

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
        "-o",
        "--output",
        type=click.Choice(OUTPUTS),
        default="table",
        show_default=True,
        help="table for people; json or yaml for scripts (full digests, null for none, RFC 3339 times).",
    )(func)
    return func


OUTPUTS = ["table", "json", "yaml"]
SHORT_DIGEST = len("sha256:") + 12


def timestamp(seconds: float | None) -> str | None:
    """A time as scripts get it: RFC 3339 with its zone (UTC), to the second."""
    if seconds is None:
        return None
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).isoformat(timespec="seconds")


def human(key: str, value: Any) -> str:
    """One value as a table cell: short digests, ``-`` for nothing, lists joined, times in UTC,
    sizes in decimal units."""
    if value is None or value == []:
        return "-"
    if isinstance(value, list):
        return ",".join(human(key, v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "size" and isinstance(value, int):  # decimal units, as docker prints sizes
        return next(
            f"{value / 10**e:.1f}{u}"
            for e, u in ((9, "GB"), (6, "MB"), (3, "kB"), (0, "B"))
            if value >= 10**e or e == 0
        )
    text = str(value)
    if (key == "digest" or key.endswith("_digest")) and text.startswith("sha256:"):
        return text[:SHORT_DIGEST]
    if key in ("created", "started", "finished") and "T" in text:
        return text.replace("T", " ").removesuffix("+00:00")
    return text


def root_of(root: Path | None) -> Path:
    return resolve_root(root)


def emit(output: str, data: Any, columns: list[str] | None = None, title: str = "") -> None:
    """Print ``data`` (a list of records, one record, or any JSON value) in the ``-o`` format."""
    if output == "json":
        click.echo(json.dumps(data, indent=2, default=str))
        return
    if output == "yaml" or (output == "table" and isinstance(data, dict)):
        from agent.cli.output import dump

        click.echo(dump(data, "yaml"), nl=False)
        return
    if columns is None or not isinstance(data, list):
        for item in data if isinstance(data, list) else [data]:
            click.echo(str(item))
        return
    cells = [[human(col, row.get(col)) for col in columns] for row in data]
    if sys.stdout.isatty():
        from rich.console import Console  # rich only when a person is looking
        from rich.table import Table

        table = Table(title=title or None, box=None, header_style="bold")
        for col in columns:
            table.add_column(col.upper())
        for row_cells in cells:
            table.add_row(*row_cells)
        Console().print(table)
        return
    click.echo("\t".join(col.upper() for col in columns))
    for row_cells in cells:
        click.echo("\t".join(row_cells))


def handle_errors(func: F) -> F:
    """The one error handler of store commands: no traceback reaches a user.

    Every error Berth raises on purpose derives from :class:`BerthError`: an invalid spec lists
    every diagnostic and exits 2; any other is one ``error:`` line, exit 1. An OSError (disk full,
    permission denied) is the system's answer, not a bug: one line too. Anything else is a bug:
    one line asking for a report, exit 1, and the traceback only with ``BERTH_DEBUG=1``.
    click's own exceptions (usage errors, exit, abort) pass through to click.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except InvalidSpec as exc:
            for diag in exc.diagnostics:
                click.echo(f"error: {diag}", err=True)
            sys.exit(2)
        except BerthError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except BrokenPipeError:  # `berth container list | head`: the reader has what it wanted
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(141)  # as a shell reports SIGPIPE
        except OSError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except Exception as exc:
            if os.environ.get(DEBUG_ENV) == "1":
                raise
            message = " ".join(str(exc).split()) or "(no message)"
            click.echo(
                f"error: internal error: {type(exc).__name__}: {message} (please report this)", err=True
            )
            sys.exit(1)

    return cast(F, wrapper)
