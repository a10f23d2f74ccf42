"""``berth container ...`` and ``berth image ...``: deployments and images of the host store.

Thin: options are parsed here and the work is done by :mod:`agent.store.deploying`.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import click

from agent.cli.store_output import emit, handle_errors, root_of, store_options, timestamp
from agent.store import deploying
from agent.store.deployments import DeploymentError
from agent.store.records import Deployment, Owner
from agent.store.redaction import redact_spec


def _version_row(version: Deployment) -> dict[str, Any]:
    """A deployment as a record with every field always present, so scripts see one shape (field
    names as in the README; ``-o table`` shortens them for people and ``--verbose`` adds columns)."""
    st = version.state
    return {
        "name": version.name,
        "image": st.image,
        "digest": st.image_digest,
        "version": version.serial,
        "rollback": version.rollback,
        "created": timestamp(st.created),
        "rootfs": str(version.path / "rootfs"),
        "layers": len(st.layers),
    }


def _puller(stack: contextlib.ExitStack) -> deploying.Puller:
    """The registry client for pulls started by deploy and update, reporting like ``berth pull``."""
    import functools

    from agent.cli.pull_cmd import progress_sink
    from agent.registry import pulling

    return functools.partial(pulling.pull_image, progress=progress_sink(stack))


def _gate(policy: Path | None) -> deploying.Gate:
    """The trust policy every deploy and update obeys (``--policy``, else the system's)."""
    from agent.trust import enforcing

    return enforcing.gate(policy)


_policy_option = click.option(
    "--policy",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Trust policy (containers-policy.json; default $BERTH_POLICY, /etc/containers/policy.json).",
)


@click.group()
def container() -> None:
    """Deploy, update, roll back and remove containers in the host store."""


@container.command()
@click.argument("image")
@click.option("--name", help="Deployment name (default: the image's repository name).")
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), help="A native spec (JSON or YAML)."
)
@click.option(
    "--rollback",
    "keep",
    is_flag=True,
    help="Keep the deployment it replaces for rollback (the default now; accepted for scripts).",
)
@click.option("--no-start", is_flag=True, help="Only stage the new version in the store; start nothing.")
@click.option(
    "--no-rollback",
    is_flag=True,
    help="Leave a new version that does not come up in place (for debugging) instead of rolling back.",
)
@_policy_option
@store_options
@handle_errors
def deploy(
    *,
    image: str,
    name: str | None,
    config_file: str | None,
    keep: bool,
    no_start: bool,
    no_rollback: bool,
    policy: Path | None,
    root: Path | None,
    output: str,
) -> None:
    """Deploy IMAGE atomically (pulled first if the store does not have it) and start it.

    A deployment of that name already there is kept for `container rollback`, as ostree keeps
    its rollback deployment; if the new version does not come up (it exits, or fails its health
    or startup check), the previous one is switched back and started again, and the command
    exits 1 saying why."""
    data: dict[str, Any] = {}
    lines: Any = None
    if config_file:
        from translators import yamlio

        docs = yamlio.load_file(config_file)
        if len(docs) != 1 or not isinstance(docs[0].data, dict):
            raise click.UsageError(f"{config_file}: expected one spec document (a mapping)")
        data, lines = dict(docs[0].data), docs[0].lines
    data["image"] = image
    data["name"] = name or data.get("name") or deploying.default_name(image)
    spec = deploying.build_spec(data, source=config_file or "", lines=lines)
    from agent.runtime.engine import Engine

    with contextlib.ExitStack() as stack:
        version = Engine(root_of(root)).deploy(
            spec,
            owner=Owner(kind="cli"),
            start=not no_start,
            rollback_on_failure=not no_rollback,
            puller=_puller(stack),
            gate=_gate(policy),
        )
    emit(output, _version_row(version))


@container.command()
@click.argument("name")
@click.option("--rollback", "back", is_flag=True, help="Go back to the previous deployment instead.")
@click.option("--pull/--no-pull", default=True, help="Pull the tag first (--no-pull: use the store's image).")
@_policy_option
@store_options
@handle_errors
def update(name: str, back: bool, pull: bool, policy: Path | None, root: Path | None, output: str) -> None:
    """Redeploy NAME from the newest image of its tag; nothing happens if the digest is unchanged.

    A running container runs the new version after, or the old one again if the new one does not
    come up (exit 1)."""
    from agent.runtime.engine import Engine

    engine = Engine(root_of(root))
    if back:
        emit(output, {**_version_row(engine.rollback(name)), "changed": True})
        return
    with contextlib.ExitStack() as stack:
        changed, version = engine.update(name, pull_image=pull, puller=_puller(stack), gate=_gate(policy))
    emit(output, {**_version_row(version), "changed": changed})


@container.command()
@click.argument("name")
@store_options
@handle_errors
def rollback(name: str, root: Path | None, output: str) -> None:
    """Switch NAME back to its previous deployment (in one atomic step); a running container
    runs the previous version after."""
    from agent.runtime.engine import Engine

    emit(output, _version_row(Engine(root_of(root)).rollback(name)))


@container.command()
@click.argument("name")
@click.option("--cleanup", is_flag=True, help="Also remove its image if unused, and collect garbage.")
@store_options
@handle_errors
def remove(name: str, cleanup: bool, root: Path | None, output: str) -> None:
    """Remove deployment NAME (and its rollback copy)."""
    from agent.runtime.engine import Engine

    removed = Engine(root_of(root)).remove(name, cleanup=cleanup)
    emit(output, {"removed": name, "collected": removed})


@container.command(name="list")
@click.option("--verbose", "-v", is_flag=True)
@store_options
@handle_errors
def list_(verbose: bool, root: Path | None, output: str) -> None:
    """List deployments."""
    store = deploying.Store.open(root_of(root), create=False)
    rows = [_version_row(d) for d in store.list()]
    columns = ["name", "image", "digest", "version", "rollback", "created"]
    emit(output, rows, columns + (["rootfs", "layers"] if verbose else []))


@container.command()
@click.argument("name")
@store_options
@handle_errors
def info(name: str, root: Path | None, output: str) -> None:
    """Everything about deployment NAME: version, image, rollback target, spec."""
    store = deploying.Store.open(root_of(root), create=False)
    current = store.get(name)
    previous = store.get_version(name, current.rollback) if current.rollback is not None else None
    data = {
        **_version_row(current),
        "previous": _version_row(previous) if previous else None,
        "spec": redact_spec(current.spec.model_dump(mode="json")),
    }
    emit(output, data)


def _images(root: Path) -> list[dict[str, Any]]:
    store = deploying.Store.open(root, create=False)
    used: dict[str, list[str]] = {}
    for deployment in store.list():
        used.setdefault(deployment.state.image_digest, []).append(deployment.name)
    return [
        {
            "reference": image.reference,
            "digest": image.digest,
            "layers": len(image.layers),
            "size": sum(layer.size for layer in image.layers),
            "used_by": used.get(image.digest, []),
        }
        for image in store.images.list()
    ]


def _prune(root: Path, output: str) -> None:
    from agent.store import collecting

    emit(output, {"removed": collecting.collect(root)})


@container.command()
@click.option("--prune", is_flag=True, help="Remove blobs and layers nothing refers to.")
@store_options
@handle_errors
def images(prune: bool, root: Path | None, output: str) -> None:
    """List the store's images (or prune what nothing refers to)."""
    if prune:
        _prune(root_of(root), output)
        return
    emit(output, _images(root_of(root)), ["reference", "digest", "layers", "size", "used_by"])


def _walk_key(data: dict[str, Any], key: str) -> tuple[dict[str, Any], str]:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise click.UsageError(f"{key}: {part} is not a mapping")
        node = child
    return node, parts[-1]


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


@container.command(name="config")
@click.argument("name")
@click.argument("action", type=click.Choice(["get", "set", "list"]))
@click.argument("key", required=False)
@click.argument("value", required=False)
@store_options
@handle_errors
def config_(
    *, name: str, action: str, key: str | None, value: str | None, root: Path | None, output: str
) -> None:
    """Read or edit the stored spec of NAME: KEY is a dotted path like config.restart.policy.

    VALUE is parsed as YAML (``[a, b]`` is a list, ``3`` a number); the edited spec is validated
    before it is stored.
    """
    store = deploying.Store.open(root_of(root), create=False)
    spec = store.get(name).spec.model_dump(mode="json")
    if action == "list":
        emit(output, _flatten(redact_spec(spec)))
        return
    if not key:
        raise click.UsageError(f"config {action} needs a KEY")
    node, last = _walk_key(redact_spec(spec), key)
    if action == "get":
        if last not in node:
            raise DeploymentError(f"{name}: no key {key!r} in the spec")
        if output != "table":
            emit(output, node[last])
        else:
            click.echo(json.dumps(node[last]))
        return
    if value is None:
        raise click.UsageError("config set needs a VALUE")

    def edit(current: dict[str, Any]) -> dict[str, Any]:
        edited = json.loads(json.dumps(current))
        node, last = _walk_key(edited, key)
        import yaml  # only here: the read-only commands never parse YAML

        node[last] = yaml.safe_load(value)
        return dict(edited)

    new = deploying.edit_spec(root_of(root), name, edit)
    emit(output, redact_spec(new.model_dump(mode="json")))


@click.group()
def image() -> None:
    """Images of the host store."""


@image.command(name="list")
@store_options
@handle_errors
def image_list(root: Path | None, output: str) -> None:
    """List the store's images."""
    emit(output, _images(root_of(root)), ["reference", "digest", "layers", "size", "used_by"])


@image.command()
@store_options
@handle_errors
def prune(root: Path | None, output: str) -> None:
    """Remove blobs, unpacked layers and merged trees that no image or deployment refers to."""
    _prune(root_of(root), output)


def _add_runtime() -> None:
    from agent.cli import runtime_cmd

    runtime_cmd.register(container)


_add_runtime()


def _add_verify() -> None:
    """``container verify`` lives in its own module (agent.cli.verify_cmd)."""
    from agent.cli.verify_cmd import verify

    container.add_command(verify)


_add_verify()
