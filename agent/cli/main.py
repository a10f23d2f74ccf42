"""The ``berth`` command line: a thin, lazily loaded layer over translators and the agent.

Subcommands are imported only when they run, so ``berth translate`` never pays for the Kubernetes
client or the registry code, and ``berth --help`` imports none of them: the one-line help of each
is kept here (a test checks it against the command's own docstring). Cold start is measured by
``benchmarks/startup.py``.
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
    "kube": "agent.cli.kube_cmd:kube",
    "container": "agent.cli.container_cmd:container",
    "pull": "agent.cli.pull_cmd:pull",
    "image": "agent.cli.container_cmd:image",
    "store": "agent.cli.store_cmd:store",
    "network": "agent.cli.network_cmd:network",
    "demo": "agent.cli.demo_cmd:demo",
    "agent": "agent.cli.agent_cmd:agent",
}

# name -> the command's short help as click derives it (first sentence of its docstring), so that
# ``berth --help`` lists the commands without importing them.
SHORT_HELP: dict[str, str] = {
    "translate": "Translate compose files, Kubernetes manifests or specs into native deployment specs.",
    "schema": "Print the JSON Schema of the native deployment spec (or the CRD), generated from the models.",
    "compose": "Compose projects: run them on this host (docker compose's commands), or check and show them.",
    "kube": "Kubernetes on this host: play manifests (pods, Deployments, Jobs, ConfigMaps, Secrets, PVCs), or show what node agents report.",
    "container": "Deploy, update, roll back and remove containers in the host store.",
    "pull": "Pull IMAGE (a registry reference, or oci:DIR[:REF], oci-archive:FILE[:REF], docker-archive:FILE[:NAME:TAG]) into the host store.",
    "image": "Images of the host store.",
    "store": "Maintain the host store.",
    "network": "Create, list, inspect and remove bridge networks.",
    "demo": "Build the demo image offline, pull it, deploy and start the demo project, and fetch its page.",
    "agent": "Run the node agent until SIGTERM: probes, restarts and /metrics for the store's containers; with --kubeconfig or --in-cluster also deploys the ContainerDeployments that target this node.",
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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands as click does, with lazy ones described by :data:`SHORT_HELP`
        (a stand-in command per name), so that ``--help`` imports no subcommand."""
        commands = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                command: click.Command | None = click.Command(name, help=SHORT_HELP.get(name, ""))
            else:
                command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in commands])


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="berth")
def cli() -> None:
    """Berth: Kubernetes and Compose workloads on immutable hosts."""


def main() -> None:
    cli(auto_envvar_prefix="BERTH")
