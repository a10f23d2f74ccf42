"""``berth translate`` and ``berth schema``: inputs to native specs or ContainerDeployments."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from agent.cli import output
from translators.errors import BerthError, InvalidSpec


def internal_error(exc: BaseException) -> str:
    """One line for an exception no translator should raise: it is a bug, never the user's fault."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return (
        f"error: internal error in the translator: {type(exc).__name__}"
        + (f": {text}" if text else "")
        + " (a bug in Berth: please report it, with the input that caused it)"
    )


@click.command()
@click.option("-f", "--file", "files", multiple=True, required=True, help="Input file; - for stdin.")
@click.option("--env-file", "env_files", multiple=True, type=click.Path(path_type=Path), help="Compose .env.")
@click.option("--profile", "profiles", multiple=True, help="Compose profile to enable.")
@click.option("-p", "--project-name", default=None, help="Compose project name.")
@click.option("--project-directory", type=click.Path(path_type=Path), default=None)
@click.option("--per-replica", is_flag=True, help="One spec per replica instead of a replica count.")
@click.option("--to", "target", type=click.Choice(["spec", "crd"]), default="spec", show_default=True)
@click.option(
    "-o",
    "--output",
    "fmt",
    type=click.Choice(["table", "json", "yaml"]),
    default="yaml",
    show_default=True,
    help="yaml or json: the documents; table: one line per spec, for people.",
)
@click.option("-n", "--namespace", default=None, help="Namespace of the ContainerDeployments (--to crd).")
def translate(
    files: tuple[str, ...],
    env_files: tuple[Path, ...],
    profiles: tuple[str, ...],
    project_name: str | None,
    project_directory: Path | None,
    per_replica: bool,
    target: str,
    fmt: str,
    namespace: str | None,
) -> None:
    """Translate compose files, Kubernetes manifests or specs into native deployment specs.

    The kind of input is detected. Warnings (such as unsupported keys) go to stderr; invalid
    input exits with status 2 and lists every error with its file, line and path.
    """
    from translators import dispatch

    if files.count("-") > 1:
        raise click.UsageError("stdin (-f -) can be given only once")
    inputs = [
        dispatch.InputFile("<stdin>", sys.stdin.read()) if f == "-" else dispatch.InputFile(f) for f in files
    ]
    options = dispatch.Options(
        env=dict(os.environ),
        env_files=[Path.cwd() / p for p in env_files],  # relative to where the user is, as docker compose
        profiles=profiles,
        project_name=project_name,
        project_dir=project_directory,
        per_replica=per_replica,
    )
    try:
        result = dispatch.translate(inputs, options)
    except InvalidSpec as exc:
        output.fail_invalid(exc)
    except BerthError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a bug (RecursionError, MemoryError too): one line, never a traceback
        click.echo(internal_error(exc), err=True)
        sys.exit(1)
    output.warn(result.warnings)
    if target == "crd":
        from translators.crd import convert

        if result.fragments:
            raise click.UsageError(
                "a configuration fragment has no name and image: deploy it with "
                "`berth container deploy --config FILE IMAGE`, or complete it to make a ContainerDeployment"
            )
        docs = [convert.to_resource(s, namespace=namespace) for s in result.specs]
    else:
        docs = [s.model_dump(mode="json") for s in result.specs]
        docs += [f.model_dump(mode="json") for f in result.fragments]
    if fmt == "table":
        from agent.cli.store_output import emit

        rows = [
            {
                "name": s.name,
                "image": s.image,
                "role": s.config.role,
                "replicas": s.config.replicas,
                "ports": [
                    f"{p.host_ip + ':' if p.host_ip else ''}{p.host}:{p.container}/{p.protocol}"
                    if p.host
                    else f"{p.container}/{p.protocol}"
                    for p in s.config.ports
                ],
            }
            for s in result.specs
        ]
        emit("table", rows, ["name", "image", "role", "replicas", "ports"])
    elif fmt == "json" and target == "spec":
        click.echo(output.dump(docs[0] if len(docs) == 1 else docs, "json"), nl=False)
    else:
        click.echo(output.dump_all(docs, fmt), nl=False)


@click.command()
@click.option("--crd", "as_crd", is_flag=True, help="Print the ContainerDeployment CRD instead.")
@click.option(
    "-o",
    "--output",
    "fmt",
    type=click.Choice(["table", "json", "yaml"]),
    default="table",
    show_default=True,
    help="table: as published (the schema as JSON, the CRD as YAML); json or yaml: that format.",
)
def schema(as_crd: bool, fmt: str) -> None:
    """Print the JSON Schema of the native deployment spec (or the CRD), generated from the models."""
    import yaml

    from translators.crd import schema as generated

    text = generated.crd_yaml() if as_crd else generated.json_schema_text()
    if fmt in ("table", "yaml" if as_crd else "json"):
        click.echo(text, nl=False)
    else:
        click.echo(output.dump(yaml.safe_load(text), fmt), nl=False)
