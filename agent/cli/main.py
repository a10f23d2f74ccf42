"""The ``berth`` command line: a thin, lazily loaded layer over translators and the agent.

Subcommands are imported only when they run, so ``berth translate`` never pays for the Kubernetes
client or the registry code (cold start is measured by ``benchmarks/translate.py``).
"""

from __future__ import annotations

import importlib
from typing import Any

import click

# name -> "module:attribute"; a group listed here may itself be lazy.
COMMANDS: dict[str, str] = {
    "translate": "agent.cli.translate_cmd:translate",
    "schema": "agent.cli.translate_cmd:schema",
    "compose": "agent.cli.compose_cmd:compose",
    "container": "agent.cli.container_cmd:container",
    "pull": "agent.cli.pull_cmd:pull",
    "image": "agent.cli.container_cmd:image",
    "store": "agent.cli.store_cmd:store",
    "demo": "agent.cli.demo_cmd:demo",
    "agent": "agent.cli.agent_cmd:agent",
    "kube": "agent.cli.agent_cmd:kube",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are resolved from ``module:attr`` strings on first use."""

    def __init__(self, *args: Any, lazy: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            module_name, attr = self.lazy[cmd_name].split(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                return None  # the command is not built yet
            command = getattr(module, attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="berth")
def cli() -> None:
    """Berth: Kubernetes and Compose workloads on immutable hosts."""


def main() -> None:
    cli(auto_envvar_prefix="BERTH")
