"""``compose events``: the project's container events from the store's event log, as docker
compose prints them.

docker compose shows a docker event with the compose labels left out of its attributes; Berth's
log (:mod:`agent.runtime.eventlog`) names the owner instead, so a project's events are those whose
owner is that compose project (``com.docker.compose.project``), and a service filter matches
``com.docker.compose.service``. ``--json`` prints one object a line with docker compose's fields
(``time``, ``type``, ``action``, ``id``, ``service``, ``attributes``); plain lines are docker
compose's ``2025-01-02 15:04:05.000000 container start ID (image=..., name=...)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any


def of_project(
    records: Iterable[dict[str, Any]], project: str, services: Iterable[str] = ()
) -> Iterator[dict[str, Any]]:
    """The records of ``project``'s containers (of ``services`` when given)."""
    wanted = set(services)
    for record in records:
        owner = record.get("owner") or {}
        if owner.get("kind") != "compose" or owner.get("project") != project:
            continue
        if wanted and owner.get("service") not in wanted:
            continue
        yield record


def go_time(epoch: float) -> str:
    """RFC 3339 with nanoseconds as Go marshals a local ``time.Time`` (trailing zeros dropped)."""
    moment = datetime.fromtimestamp(epoch).astimezone()
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    if fraction:
        text += "." + fraction
    offset = moment.strftime("%z")
    return text + ("Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}")


def attributes(record: dict[str, Any]) -> dict[str, str]:
    """docker's attributes of a container event: its name and image, and what the action adds
    (``exitCode`` of a die, ``signal`` of a kill)."""
    extra = record.get("attributes") or {}
    return {"image": str(record.get("image", "")), "name": str(record.get("name", "")), **extra}


def as_json(record: dict[str, Any]) -> str:
    owner = record.get("owner") or {}
    data = {
        "action": record.get("action"),
        "attributes": attributes(record),
        "id": record.get("id"),
        "service": owner.get("service"),
        "time": go_time(float(record.get("time", 0))),
        "type": "container",
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def as_text(record: dict[str, Any]) -> str:
    """docker compose's line; it ends in a newline of its own before the one print adds."""
    when = datetime.fromtimestamp(float(record.get("time", 0))).strftime("%Y-%m-%d %H:%M:%S.%f")
    attrs = ", ".join(f"{k}={v}" for k, v in sorted(attributes(record).items()))
    return f"{when} container {record.get('action')} {record.get('id')} ({attrs})\n"
