"""Which status a node compares its next write with.

We test these aspects:
- a cached object older than the agent's own last write (a relist or a late watch event) is
  compared as if it carried that write, so the same state is not written twice;
- a newer object (someone changed or wiped the status after us) is taken as it is, and so is a
  resource re-created under the same name (another uid).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from agent.kube.reconciling import Reconciler


def obj(version: str, uid: str = "u1", status: dict[str, Any] | None = None) -> dict[str, Any]:
    meta = {"name": "web", "namespace": "default", "uid": uid, "resourceVersion": version}
    return {"metadata": meta, "status": status or {}}


def test_the_agents_own_write_wins_over_an_older_cache(tmp_path: Path) -> None:
    # only the store root of the engine is used by what is tested here
    reconciler = Reconciler(None, SimpleNamespace(root=tmp_path), "n1", None)  # type: ignore[arg-type]
    ours = {"nodes": [{"nodeName": "n1", "phase": "Running"}]}
    reconciler.written["default/web"] = ("u1", "120", ours)

    assert reconciler._freshest_status(obj("100", status={"nodes": []})) == ours
    assert reconciler._freshest_status(obj("120", status={"x": 1})) == {"x": 1}
    assert reconciler._freshest_status(obj("130")) == {}  # wiped after our write
    assert reconciler._freshest_status(obj("100", uid="u2", status={"y": 2})) == {"y": 2}
    reconciler.written["default/web"] = ("u1", "not-a-number", ours)
    assert reconciler._freshest_status(obj("100", status={"z": 3})) == {"z": 3}
