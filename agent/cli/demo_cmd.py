"""``berth demo``: the main job on the embedded demo project, offline."""

from __future__ import annotations

from pathlib import Path

import click

from agent.cli import output
from translators.errors import BerthError, InvalidSpec


@click.command()
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(".work/demo-store"),
    show_default=True,
    help="Store directory to deploy into (created if missing).",
)
@click.option("--show", is_flag=True, help="Print the embedded demo compose project and exit.")
def demo(root: Path, show: bool) -> None:
    """Build the demo image offline, pull it, deploy and start the demo project, and fetch its page."""
    from agent.demo import COMPOSE_FILE

    if show:
        click.echo(COMPOSE_FILE.read_text(), nl=False)
        return
    from agent.demo import running

    root.mkdir(parents=True, exist_ok=True)
    try:
        running.run(root.resolve(), click.echo)
    except InvalidSpec as exc:
        output.fail_invalid(exc)
    except BerthError as exc:
        raise click.ClickException(str(exc)) from exc
    from agent.cli.main import cli
    from agent.demo import COMPOSE_FILE

    compose = ["compose", "--root", str(root), "-f", str(COMPOSE_FILE)]
    click.echo(f"$ berth {' '.join(compose)} ps -a")
    cli.main([*compose, "ps", "-a"], standalone_mode=False)
    click.echo("$ curl http://127.0.0.1:18080/")
    try:
        click.echo(running.serve_check(), nl=False)
    except OSError as exc:
        raise click.ClickException(
            f"the demo's web service does not answer on 127.0.0.1:18080: {exc}"
        ) from exc
    click.echo(
        f"The demo keeps running: berth {' '.join(compose)} logs web; "
        f"berth {' '.join(compose)} down -v removes it."
    )
