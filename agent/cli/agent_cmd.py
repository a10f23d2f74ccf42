"""``berth agent`` (the node agent: local supervisor, plus Kubernetes with a kubeconfig) and
``berth kube status`` (what the agents reported, read from the API server)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import click
import yaml

from agent.cli.store_output import handle_errors, root_of


@click.command()
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="KUBECONFIG",
    help="Watch ContainerDeployments through this kubeconfig.",
)
@click.option("--in-cluster", is_flag=True, help="Use the pod's service account (the DaemonSet).")
@click.option(
    "--node-name", envvar="NODE_NAME", help="This node's name (default: the host name; env NODE_NAME)."
)
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="BERTH_ROOT",
    help="Store root (env BERTH_ROOT).",
)
@click.option(
    "--run-root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="BERTH_RUN_ROOT",
    help="Runtime state directory (default /run/berth).",
)
@click.option(
    "--metrics-port",
    type=int,
    default=9101,
    show_default=True,
    help="Port of /metrics and /healthz (0: any).",
)
@click.option("--metrics-host", default="0.0.0.0", show_default=True)  # noqa: S104 - probed by the kubelet
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="ContainerDeployments reconciled at once (default: the agent's own).",
)
@handle_errors
def agent(
    kubeconfig: Path | None,
    in_cluster: bool,
    node_name: str | None,
    root: Path | None,
    run_root: Path | None,
    metrics_port: int,
    metrics_host: str,
    workers: int | None,
) -> None:
    """Run the node agent until SIGTERM: probes, restarts and /metrics for the store's containers;
    with --kubeconfig or --in-cluster also deploys the ContainerDeployments that target this node."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    def ready(port: int) -> None:
        click.echo(f"serving /metrics and /healthz on {metrics_host}:{port}", err=True)

    from agent.runtime.engine import Engine
    from agent.supervisor import running
    from agent.supervisor.engine_targets import EngineTargets

    if not (kubeconfig or in_cluster):
        engine = Engine(root_of(root), run_root)
        _boot(engine)
        raise SystemExit(
            running.run(EngineTargets(engine), host=metrics_host, port=metrics_port, on_ready=ready)
        )
    try:
        from agent.kube.client import Kube
        from agent.kube.running import Agent
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("kubernetes"):
            raise
        raise click.ClickException(
            "the Kubernetes client is not installed: pip install 'berth[kube]' (or run without "
            "--kubeconfig/--in-cluster for the local supervisor only)"
        ) from exc

    kube = Kube.connect(kubeconfig, in_cluster=in_cluster)
    node = node_name or os.uname().nodename
    node_agent = Agent(
        kube, root_of(root), node, run_root=run_root, **({"workers": workers} if workers else {})
    )
    _boot(node_agent.engine)
    node_agent.start()
    logging.getLogger("berth.agent").info("agent on node %s watching %s", node, kube.server)
    try:
        # the supervisor owns the main thread and SIGTERM/SIGINT; the Kubernetes side stops after it
        code = running.run(
            EngineTargets(node_agent.engine), host=metrics_host, port=metrics_port, on_ready=ready
        )
    finally:
        node_agent.shutdown()
    raise SystemExit(code)


def _boot(engine: Any) -> None:
    """After a reboot nothing runs (runtime state is on tmpfs): start what docker's daemon would,
    the always/unless-stopped deployments that were running (the agent's own are its to start)."""
    started = engine.boot()
    if started:
        logging.getLogger("berth.agent").info("started after boot: %s", ", ".join(started))


@click.group()
def kube() -> None:
    """ContainerDeployments as the agents reported them."""


@kube.command("status")
@click.argument("name", required=False)
@click.option(
    "-n",
    "--namespace",
    default=None,
    help="Namespace (default: all namespaces without NAME, default with it).",
)
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), envvar="KUBECONFIG")
@click.option("-o", "--output", type=click.Choice(["table", "json", "yaml"]), default="table")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="BERTH_ROOT",
    help="Store for the local view when the API server is unreachable.",
)
@click.option("--run-root", type=click.Path(file_okay=False, path_type=Path), envvar="BERTH_RUN_ROOT")
@handle_errors
def status(
    name: str | None,
    namespace: str | None,
    kubeconfig: Path | None,
    output: str,
    root: Path | None,
    run_root: Path | None,
) -> None:
    """Conditions and per-node entries of one ContainerDeployment, or of all."""
    from agent.kube.client import Kube, KubeError, resource_path

    kube = Kube.connect(kubeconfig)
    try:
        if name:
            items = [kube.call("GET", resource_path(namespace or "default", name))]
        else:
            items = kube.call("GET", resource_path(namespace))["items"]
        rows = [_row(item) for item in items]
    except KubeError as exc:
        if exc.status != 0 or root is None:
            raise
        # the API server cannot be reached: what this node's agent deployed, from its store
        click.echo(f"warning: {exc}; showing this node's local view (store {root})", err=True)
        rows = _local_rows(root, run_root, namespace, name)
        lost = _agent_cut_off_since(root)
        if lost:
            click.echo(f"warning: the node's agent has not reached the API server since {lost}", err=True)
            for row in rows:
                row["message"] += f" (the agent has not reached it since {lost})"
        if name and not rows:
            raise KubeError(f"no deployment of {namespace or 'default'}/{name} in store {root}") from exc
    if output == "json":
        click.echo(json.dumps(rows[0] if name else rows, indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(rows[0] if name else rows, sort_keys=False), nl=False)
    else:
        click.echo(
            f"{'NAMESPACE':<14} {'NAME':<24} {'READY':<6} {'REASON':<18} {'NODE':<16} {'STATE':<10} {'HEALTH':<10} RESTARTS"
        )
        for row in rows:
            nodes = row["nodes"] or [{}]
            for i, node in enumerate(nodes):
                lead = (
                    (row["namespace"], row["name"], row["ready"], row["reason"])
                    if i == 0
                    else ("", "", "", "")
                )
                click.echo(
                    f"{lead[0]:<14} {lead[1]:<24} {lead[2] or '-':<6} {lead[3] or '-':<18} "
                    f"{node.get('nodeName') or '-':<16} {node.get('state') or '-':<10} {node.get('health') or '-':<10} {node.get('restarts', '')}"
                )


def _row(item: dict[str, Any]) -> dict[str, Any]:
    meta, status = item.get("metadata") or {}, item.get("status") or {}
    ready: dict[str, Any] = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {})
    return {
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        "image": (item.get("spec") or {}).get("image"),
        "generation": meta.get("generation"),
        "observedGeneration": status.get("observedGeneration"),
        "ready": status.get("readyNodes"),
        "reason": ready.get("reason"),
        "message": ready.get("message"),
        "conditions": status.get("conditions") or [],
        "nodes": status.get("nodes") or [],
    }


def _agent_cut_off_since(root: Path) -> str | None:
    """When this node's agent lost the API server, as it recorded it (agent.kube.outages)."""
    from agent.kube.outages import Link, duration, stamp

    link = Link(root / "agent" / "_link.json")
    if link.since is None:
        return None
    return f"{stamp(link.since)} ({duration(link.clock() - link.since)} ago)"


def _local_rows(
    root: Path, run_root: Path | None, namespace: str | None, name: str | None
) -> list[dict[str, Any]]:
    from agent.runtime.engine import Engine

    engine = Engine(root, run_root)
    rows = []
    for deployment in engine.store().list(owner_kind="agent"):
        owner = deployment.state.owner
        if (namespace and owner.namespace != namespace) or (name and owner.resource != name):
            continue
        status = engine.status(deployment.name)
        rows.append(
            {
                "namespace": owner.namespace,
                "name": owner.resource,
                "image": deployment.spec.image,
                "ready": "local",
                "reason": "APIUnreachable",
                "message": "the API server cannot be reached: this node's local view",
                "conditions": [],
                "nodes": [
                    {
                        "nodeName": "(local)",
                        "state": status.state,
                        "health": status.health,
                        "restarts": status.restarts,
                        "ready": status.state == "running" and status.health in (None, "healthy"),
                        "imageDigest": status.image_digest,
                    }
                ],
            }
        )
    return rows
