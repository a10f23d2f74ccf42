"""Every berth command takes the same ``-o/--output`` option with the same values.

We test these aspects:
- each leaf command (except those in ``NO_RECORDS``, whose output is not a record, and hidden
  internal commands) has one option spelled
  ``-o`` and ``--output`` whose values are exactly ``table``, ``json`` and ``yaml``;
- ``compose config`` also takes docker compose's ``--format`` for the same option;
- ``translate -o table`` prints one line per spec.
"""

from __future__ import annotations

from collections.abc import Iterator

import click
from click.testing import CliRunner

from agent.cli.main import cli
from tests.support.paths import ROOT

# commands whose stdout is not a record, so -o has nothing to format: why
NO_RECORDS = {
    "demo": "narrates the commands it runs",
    "container exec": "the command's own output",
    "container logs": "the container's output",
    "container run": "the container's output, in the foreground",
    "container install-service": "writes a unit file",
    "container _exited": "conmon's exit command, hidden: prints nothing",
    "agent": "a long-running daemon: its records are served on /metrics and written as CR status",
    "kube play": "narrates what it creates, as podman kube play does",
    "kube down": "narrates what it removes, as podman kube down does",
}
# docker compose's commands keep docker compose's own flags (issue 12: "plus --format where docker
# compose has it"): ps, ls, images and version take --format; the others narrate progress or pass
# a container's own output through, as docker compose's do
COMPOSE_FORMAT = {"compose ps", "compose ls", "compose images", "compose version"}


def _leaves(group: click.Group, ctx: click.Context, prefix: str = "") -> Iterator[tuple[str, click.Command]]:
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            yield from _leaves(command, ctx, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", command


def test_every_command_has_the_same_output_option() -> None:
    ctx = click.Context(cli)
    leaves = dict(_leaves(cli, ctx))
    assert {"container list", "container info", "pull", "translate", "compose config"} <= set(leaves)
    for name, command in leaves.items():
        if name in NO_RECORDS or command.hidden:  # hidden: internal (conmon's exit command)
            continue
        if name.startswith("compose ") and name != "compose config":
            formats = [p for p in command.params if isinstance(p, click.Option) and "--format" in p.opts]
            assert bool(formats) == (name in COMPOSE_FORMAT), f"{name}: docker compose's --format"
            continue
        options = [p for p in command.params if isinstance(p, click.Option) and "-o" in p.opts]
        assert len(options) == 1, f"{name}: no -o option"
        [option] = options
        assert "--output" in option.opts, name
        assert isinstance(option.type, click.Choice), name
        assert list(option.type.choices) == ["table", "json", "yaml"], name
    assert "--format" in next(p for p in leaves["compose config"].params if "-o" in p.opts).opts


def test_translate_table_is_one_line_per_spec() -> None:
    result = CliRunner().invoke(
        cli, ["translate", "-f", str(ROOT / "examples/compose/compose.yaml"), "-o", "table"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split("\t") == ["NAME", "IMAGE", "ROLE", "REPLICAS", "PORTS"]
    assert [line.split("\t")[0] for line in lines[1:]] == ["hello-web", "hello-page"]
    assert lines[1].split("\t")[-1] == "127.0.0.1:18083:8080/tcp"
