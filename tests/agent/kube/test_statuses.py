"""Status entries and the summary the agent applies.

We test these aspects:
- lastTransitionTime is kept while a condition's status stays, and set anew on a transition;
- the summary: Ready only when every reporting node is, readyNodes counts them, a Degraded
  node's reason wins and names the node;
- same() ignores timestamps, so an unchanged entry is not written again.
"""

from __future__ import annotations

from agent.kube import statuses
from agent.kube.statuses import Report


def test_transition_times_change_only_on_transitions() -> None:
    running = Report(phase="Running", reason="Running", ready=True)
    first = statuses.node_entry("n1", running, 1, None)
    ready = next(c for c in first["conditions"] if c["type"] == "Ready")
    old = {
        **first,
        "conditions": [{**c, "lastTransitionTime": "2020-01-01T00:00:00Z"} for c in first["conditions"]],
    }
    again = statuses.node_entry(
        "n1", Report(phase="Running", reason="Running", ready=True, restarts=1), 2, old
    )
    assert (
        next(c for c in again["conditions"] if c["type"] == "Ready")["lastTransitionTime"]
        == "2020-01-01T00:00:00Z"
    )
    failed = statuses.node_entry(
        "n1", Report(phase="Failed", reason="CrashLoopBackOff", degraded=True), 2, old
    )
    by_type = {c["type"]: c for c in failed["conditions"]}
    assert (
        by_type["Ready"]["status"] == "False"
        and by_type["Ready"]["lastTransitionTime"] != "2020-01-01T00:00:00Z"
    )
    assert by_type["Progressing"]["lastTransitionTime"] == "2020-01-01T00:00:00Z"  # False before and after
    assert ready["observedGeneration"] == 1


def test_summary_over_nodes() -> None:
    a = statuses.node_entry("a", Report(phase="Running", reason="Running", ready=True), 3, None)
    b = statuses.node_entry(
        "b", Report(phase="Failed", reason="ImagePullFailed", message="no such image", degraded=True), 3, None
    )
    both = statuses.summary([a, b], 3, [])
    assert both["readyNodes"] == "1/2" and both["observedGeneration"] == 3
    conditions = {c["type"]: c for c in both["conditions"]}
    assert conditions["Ready"]["status"] == "False" and conditions["Degraded"]["status"] == "True"
    assert (
        conditions["Degraded"]["reason"] == "ImagePullFailed"
        and conditions["Degraded"]["message"] == "b: no such image"
    )
    only = statuses.summary([a], 3, [])
    assert (
        only["readyNodes"] == "1/1"
        and {c["type"]: c["status"] for c in only["conditions"]}["Ready"] == "True"
    )
    assert statuses.summary([], 3, [])["readyNodes"] == "0/0"


def test_same_ignores_timestamps() -> None:
    entry = statuses.node_entry("a", Report(phase="Running", reason="Running", ready=True), 1, None)
    later = {
        **entry,
        "lastUpdateTime": "x",
        "conditions": [{**c, "lastTransitionTime": "y"} for c in entry["conditions"]],
    }
    assert statuses.same(entry, later)
    assert not statuses.same(entry, {**later, "restarts": 1})
