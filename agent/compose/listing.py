"""``compose ps`` and ``compose ls`` rows, with docker compose's JSON field names.

Everything is read from the store and the runtime state: the project's deployments carry their
service, number and labels, so neither needs the compose file. Rows are built from each
deployment's config.json as read (not validated again) and statuses from the state files
(:mod:`agent.runtime.observing`), so listing imports neither pydantic nor the Engine.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agent.compose.labels import CONFIG_FILES, ONEOFF, SERVICE, number_of
from agent.runtime.observing import Observer, Status
from agent.store.deploying import Store
from agent.store.records import Deployment

_STATE = {"stopped": "exited", "created": "created"}


def human_duration(seconds: float) -> str:
    """docker's units.HumanDuration: "Less than a second", "5 seconds", "About a minute"..."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def _epoch(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def status_text(status: Status, now: float | None = None) -> str:
    """docker's Status column: "Up 3 seconds (healthy)", "Exited (1) 2 minutes ago", "Created"."""
    now = time.time() if now is None else now
    state = status.state
    if state in ("running", "paused"):
        started = _epoch(status.started_at) or now
        text = f"Up {human_duration(now - started)}"
        if state == "paused":
            text += " (Paused)"
        elif status.health in ("healthy", "unhealthy", "starting"):
            text += f" ({status.health})"
        return text
    if state == "restarting":
        finished = _epoch(status.finished_at) or now
        return f"Restarting ({status.exit_code or 0}) {human_duration(now - finished)} ago"
    if state == "created" or (status.started_at is None and status.exit_code is None):
        return "Created"
    finished = _epoch(status.finished_at) or now
    return f"Exited ({status.exit_code if status.exit_code is not None else 0}) {human_duration(now - finished)} ago"


def project_deployments(store: Store, project: str) -> list[Deployment]:
    """The project's deployments in the store (compose-owned, this project, not one-off)."""
    return [
        d
        for d in store.list(owner_kind="compose", project=project)
        if d.state.owner.labels.get(ONEOFF, "False") != "True"
    ]


def ps_row(observer: Observer, deployment: Deployment, now: float | None = None) -> dict[str, Any]:
    """One container as ``docker compose ps --format json`` prints it."""
    status = observer.status(deployment)
    owner = deployment.state.owner
    config: dict[str, Any] = dict(deployment.spec_data.get("config") or {})
    image = deployment.image_config
    entrypoint = config.get("entrypoint")
    cmd = config.get("cmd")
    command = [*(entrypoint or image.entrypoint or [])]
    command += list(cmd if cmd is not None else (image.cmd or []))
    volumes = config.get("volumes") or []
    publishers = [
        {
            "URL": p.get("host_ip") or "0.0.0.0",  # noqa: S104 - docker's form
            "TargetPort": p.get("container_port"),
            "PublishedPort": p.get("host_port"),
            "Protocol": p.get("protocol", "tcp"),
        }
        for p in status.ports
    ] or [
        {
            "URL": "",
            "TargetPort": p.get("container"),
            "PublishedPort": 0,
            "Protocol": p.get("protocol", "tcp"),
        }
        for p in config.get("ports") or []
    ]
    ports = ", ".join(
        f"{p['URL']}:{p['PublishedPort']}->{p['TargetPort']}/{p['Protocol']}"
        if p["PublishedPort"]
        else f"{p['TargetPort']}/{p['Protocol']}"
        for p in publishers
    )
    created = deployment.state.created
    state = _STATE.get(status.state, status.state)
    labels = dict(owner.labels)
    return {
        "Command": '"' + " ".join(command)[:20] + ('…"' if len(" ".join(command)) > 20 else '"'),
        "CreatedAt": time.strftime("%Y-%m-%d %H:%M:%S +0000 UTC", time.gmtime(created)),
        "ExitCode": status.exit_code if status.exit_code is not None else 0,
        "Health": status.health or "",
        "ID": deployment.state.image_digest.removeprefix("sha256:")[:12] + f"{deployment.serial:04d}",
        "Image": deployment.state.image,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(labels.items())),
        "LocalVolumes": str(sum(1 for v in volumes if v.get("type", "volume") == "volume")),
        "Mounts": ",".join(v.get("source") or v.get("target") or "" for v in volumes),
        "Name": deployment.name,
        "Names": deployment.name,
        "Networks": ",".join(status.addresses)
        or ",".join(n.get("name", "") for n in (config.get("network") or {}).get("networks") or []),
        "Ports": ports,
        "Project": owner.project or "",
        "Publishers": publishers,
        "RunningFor": human_duration(time.time() - created) + " ago",
        "Service": owner.service or labels.get(SERVICE, ""),
        "Size": "0B",
        "State": state,
        "Status": status_text(status, now),
        "Version": deployment.serial,
    }


def sort_key(deployment: Deployment) -> tuple[str, int]:
    return (deployment.state.owner.service or "", number_of(deployment))


def projects(observer: Observer, deployments: Iterable[Deployment]) -> list[dict[str, Any]]:
    """``compose ls`` rows: Name, Status ("running(2), exited(1)"), ConfigFiles."""
    found: dict[str, dict[str, Any]] = {}
    for d in deployments:
        owner = d.state.owner
        if owner.kind != "compose" or not owner.project:
            continue
        entry = found.setdefault(owner.project, {"states": {}, "files": owner.labels.get(CONFIG_FILES, "")})
        raw = observer.status(d).state
        state = _STATE.get(raw, raw)
        entry["states"][state] = entry["states"].get(state, 0) + 1
    return [
        {
            "Name": name,
            "Status": ", ".join(f"{s}({n})" for s, n in sorted(entry["states"].items())),
            "ConfigFiles": entry["files"],
        }
        for name, entry in sorted(found.items())
    ]
