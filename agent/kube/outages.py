"""The node's link to the API server: when it was lost, for how long, and the status it withheld.

An edge node loses its API server for minutes or days and keeps running from local state. Every
API call the agent makes tells the :class:`Link` whether the server answered (any HTTP answer
below 500 is contact; a transport failure is not); the time contact was lost is kept in the store
(``<root>/agent/link.json``), so an agent restarted while cut off still counts the outage from
when it began. While the link is down the reconciler writes no status: each resource's latest
report waits in the :class:`Outbox` (one slot per resource, the latest replacing the one before)
and the resources are reconciled once more when contact returns, so each gets one write with the
state it has then, carrying a ``Disconnected`` condition that says how long the node was cut off.

Outages shorter than :data:`REPORTED_OUTAGE` (a watch connection reset and opened again) are not
reported: they would rewrite every resource's status for nothing.
"""

from __future__ import annotations

import calendar
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.kube.statuses import Report
from agent.store.atomic import write_json

log = logging.getLogger("berth.agent")

DISCONNECTED = "Disconnected"
REPORTED_OUTAGE = 5.0
"""Seconds without contact before a disconnection is reported on reconnection."""


def stamp(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def parse_stamp(text: str | None) -> float | None:
    """An RFC 3339 UTC time as the API server writes it (``2026-11-29T15:01:02Z``)."""
    if not text:
        return None
    try:
        return float(calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def duration(seconds: float) -> str:
    """``42 s``, ``12 min 5 s``, ``3 h 12 min``, ``2 d 4 h``: what a person reads in a message."""
    s = round(seconds)
    if s < 120:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


@dataclass(frozen=True)
class Outage:
    """One period without the API server, from the first failed call to the first answer."""

    start: float
    end: float

    @property
    def seconds(self) -> int:
        return round(self.end - self.start)

    def message(self) -> str:
        return (
            f"disconnected from the API server for {duration(self.end - self.start)} "
            f"({stamp(self.start)} to {stamp(self.end)}); the workloads kept running from local state "
            "and this status was written on reconnection"
        )


class Link:
    """Whether the API server answers, persisted in ``path``; ``on_reconnect`` runs (outside the
    lock, on the thread whose call first got an answer) when contact returns after a loss."""

    def __init__(
        self,
        path: Path,
        on_reconnect: Callable[[Outage | None], None] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.on_reconnect = on_reconnect
        self.clock = clock
        self._lock = threading.Lock()
        self.since: float | None = None
        """When contact was lost (None: the link is up)."""
        self.last: Outage | None = None
        """The last reported outage (kept across agent restarts)."""
        data = self._load()
        self.since = _number(data.get("since"))
        start, end = _number(data.get("last_start")), _number(data.get("last_end"))
        if start is not None and end is not None:
            self.last = Outage(start, end)

    def _load(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save(self) -> None:
        data = {
            "since": self.since,
            "last_start": self.last.start if self.last else None,
            "last_end": self.last.end if self.last else None,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_json(self.path, data)
        except OSError as exc:  # the link works without it; only the outage's start is then lost
            log.warning("%s not written: %s", self.path, exc)

    @property
    def up(self) -> bool:
        return self.since is None

    def observe(self, reached: bool) -> None:
        """One API call's outcome: the server answered (True) or could not be reached (False)."""
        if reached == self.up:
            return
        now = self.clock()
        with self._lock:
            if reached == (self.since is None):  # another thread got there first
                return
            if not reached:
                self.since = now
                self._save()
                log.warning("API server unreachable: keeping the node on its local state")
                return
            outage = Outage(self.since or now, now)
            self.since = None
            if outage.end - outage.start >= REPORTED_OUTAGE:
                self.last = outage
                log.info("API server reached again after %s", duration(outage.end - outage.start))
            self._save()
        if self.on_reconnect is not None:
            self.on_reconnect(outage if self.last is outage else None)

    def mark(self, entry: dict[str, Any], obj: dict[str, Any], previous: dict[str, Any] | None) -> None:
        """Add the ``Disconnected`` condition (always False when written: a node cut off writes
        nothing) and ``lastDisconnectedSeconds`` to this node's status ``entry``. A resource that
        existed before the last outage ended reports it (reason Reconnected, lastTransitionTime
        its end); newer ones and nodes never cut off say Connected."""
        meta = obj.get("metadata") or {}
        created = parse_stamp(meta.get("creationTimestamp"))
        outage = self.last
        before: dict[str, Any] = next(
            (c for c in (previous or {}).get("conditions") or [] if c.get("type") == DISCONNECTED), {}
        )
        if outage is not None and (created is None or created < outage.end):
            condition: dict[str, Any] = {
                "type": DISCONNECTED,
                "status": "False",
                "reason": "Reconnected",
                "message": outage.message(),
                "lastTransitionTime": stamp(outage.end),
            }
            entry["lastDisconnectedSeconds"] = outage.seconds
        else:
            kept = before.get("lastTransitionTime") if before.get("status") == "False" else None
            condition = {
                "type": DISCONNECTED,
                "status": "False",
                "reason": "Connected",
                "message": "",
                "lastTransitionTime": kept or stamp(time.time()),
            }
            entry["lastDisconnectedSeconds"] = None
        condition["observedGeneration"] = meta.get("generation")
        entry["conditions"] = [
            *(c for c in entry.get("conditions") or [] if c.get("type") != DISCONNECTED),
            condition,
        ]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class Outbox:
    """The latest report of each resource whose status could not be written, by resource key.

    Held in memory: an agent restarted while cut off lists every resource when contact returns and
    reconciles each, which recomputes its state from the node (latest wins) and writes it once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[Report | None, float]] = {}

    def hold(self, key: str, report: Report | None) -> None:
        with self._lock:
            first = self._held.get(key, (None, time.time()))[1]
            self._held[key] = (report, first)

    def sent(self, key: str) -> None:
        with self._lock:
            self._held.pop(key, None)

    def keys(self) -> list[str]:
        with self._lock:
            return list(self._held)

    def get(self, key: str) -> Report | None:
        with self._lock:
            held = self._held.get(key)
        return held[0] if held else None

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._held

    def __len__(self) -> int:
        with self._lock:
            return len(self._held)
