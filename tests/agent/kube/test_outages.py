"""The agent's link to the API server and the Disconnected condition.

We test these aspects:
- a lost link is kept in the store: a new Link (an agent restarted while cut off) still counts
  the outage from when it began, and reconnecting reports it once, with its length;
- an outage shorter than REPORTED_OUTAGE (a watch connection reset) is not reported, but the
  reconnect callback still runs (held statuses are written);
- the condition: Reconnected with the outage's end as lastTransitionTime on a resource that
  existed before the outage ended, Connected (transition time kept) on newer ones;
- the outbox keeps one report per resource, the latest.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from agent.kube import outages
from agent.kube.outages import Link, Outage, Outbox, parse_stamp, stamp
from agent.kube.statuses import Report


def resource(created: float | None, generation: int = 3) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web", "namespace": "default", "generation": generation}
    if created is not None:
        meta["creationTimestamp"] = stamp(created)
    return {"metadata": meta}


def test_an_outage_survives_an_agent_restart_and_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "agent" / "_link.json"
    clock = [1_000_000.0]
    first = Link(path, clock=lambda: clock[0])
    assert first.up
    first.observe(False)
    assert not first.up and path.exists()

    clock[0] += 30  # the agent restarts while cut off: the new one starts from the stored loss
    seen: list[Outage | None] = []
    second = Link(path, seen.append, clock=lambda: clock[0])
    assert not second.up and second.since == 1_000_000.0
    clock[0] += 12
    second.observe(True)
    second.observe(True)
    assert second.up and seen == [Outage(1_000_000.0, 1_000_042.0)]
    assert second.last is not None and second.last.seconds == 42
    assert "for 42 s" in second.last.message()

    third = Link(path)  # the last outage is still known after another restart, the link up
    assert third.up and third.last == Outage(1_000_000.0, 1_000_042.0)


def test_a_short_outage_is_not_reported_but_held_statuses_still_go(tmp_path: Path) -> None:
    clock = [2_000_000.0]
    seen: list[Outage | None] = []
    link = Link(tmp_path / "_link.json", seen.append, clock=lambda: clock[0])
    link.observe(False)
    clock[0] += outages.REPORTED_OUTAGE / 2
    link.observe(True)
    assert seen == [None] and link.last is None


def test_the_condition_names_the_outage_on_resources_that_lived_through_it(tmp_path: Path) -> None:
    link = Link(tmp_path / "_link.json")
    end = time.time() - 100
    link.last = Outage(end - 42, end)

    old: dict[str, Any] = {"conditions": [{"type": "Ready", "status": "True"}]}
    link.mark(old, resource(end - 3600), None)
    (cond,) = [c for c in old["conditions"] if c["type"] == outages.DISCONNECTED]
    assert cond["status"] == "False" and cond["reason"] == "Reconnected"
    assert cond["lastTransitionTime"] == stamp(end) and cond["observedGeneration"] == 3
    assert "for 42 s" in cond["message"] and old["lastDisconnectedSeconds"] == 42
    assert [c["type"] for c in old["conditions"]] == ["Ready", outages.DISCONNECTED]

    previous = {"conditions": [{**cond, "reason": "Connected", "lastTransitionTime": "2020-01-01T00:00:00Z"}]}
    new: dict[str, Any] = {"conditions": []}
    link.mark(new, resource(end + 10), previous)
    (cond,) = new["conditions"]
    assert cond["reason"] == "Connected" and cond["message"] == ""
    assert cond["lastTransitionTime"] == "2020-01-01T00:00:00Z"  # no transition: the time stays
    assert new["lastDisconnectedSeconds"] is None

    again: dict[str, Any] = {"conditions": [cond]}  # marking twice keeps one condition
    link.mark(again, resource(end + 10), previous)
    assert len(again["conditions"]) == 1


def test_stamps_and_durations() -> None:
    assert parse_stamp(stamp(1_700_000_000.0)) == 1_700_000_000.0
    assert parse_stamp("not a time") is None and parse_stamp(None) is None
    assert [outages.duration(s) for s in (42, 725, 11_520, 187_200)] == [
        "42 s",
        "12 min 5 s",
        "3 h 12 min",
        "2 d 4 h",
    ]


def test_the_outbox_keeps_the_latest_report_per_resource() -> None:
    box = Outbox()
    box.hold("default/a", Report(phase="Running", reason="Running", ready=True))
    box.hold("default/a", Report(phase="Failed", reason="Exited", degraded=True))
    box.hold("default/b", None)
    assert sorted(box.keys()) == ["default/a", "default/b"] and len(box) == 2
    held = box.get("default/a")
    assert held is not None and held.reason == "Exited"
    box.sent("default/a")
    assert box.keys() == ["default/b"]
