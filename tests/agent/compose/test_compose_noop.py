"""A no-op ``berth compose up -d`` from the remembered project: nothing is loaded, nothing changes.

We test these aspects (real runc, conmon and netavark, the demo image):
- after an ``up -d``, the same ``up -d`` again reports every container running, leaves the same
  processes, and imports neither pydantic, the spec models, YAML nor the Engine;
- anything that would make ``up`` act takes the full path: a stopped container is started again,
  a changed environment value recreates its service, ``--force-recreate`` recreates, and a
  ``service_healthy`` dependency is checked now (the project is loaded, nothing changes).
"""

from __future__ import annotations

import json
import os
import sys

from tests.agent.compose.conftest import IMAGE, REPO, Host, free_port
from tests.cli.test_startup import PROBE

PROJECT = """
name: {project}
services:
  web:
    image: {image}
    command: httpd -f -p 80 -h /
    stop_signal: SIGKILL
    ports: ["127.0.0.1:{port}:80"]
  api:
    image: {image}
    command: httpd -f -p 8000 -h /
    stop_signal: SIGKILL
    environment: {{MODE: "${{MODE:-one}}"}}
"""
HEAVY = ("pydantic", "translators.spec", "translators.compose.load", "yaml", "agent.runtime.engine")


def _up(host: Host, f: str, *extra: str, env: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """``compose -f F up -d`` as a user runs it: (stderr, the heavy modules it imported)."""
    import subprocess

    report = host.base / "imports.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(report), "compose", "-f", f, "up", "-d", *extra],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=host.base,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "BERTH_ROOT": str(host.root),
            "BERTH_RUN_ROOT": str(host.run_root),
            **(env or {}),
        },
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules = json.loads(report.read_text())["modules"]
    return done.stderr, sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def _pids(host: Host) -> dict[str, int | None]:
    return {
        d.name: host.engine.status(d.name).pid
        for d in host.engine.store().list(owner_kind="compose", project=host.project)
    }


def test_noop_up_from_the_remembered_project(host: Host) -> None:
    p = host.project
    f = str(host.write("compose.yaml", PROJECT.format(project=p, image=IMAGE, port=free_port())))
    first, heavy = _up(host, f)
    assert f"Container {p}-web-1  Started" in first and heavy  # the first up loads the project
    pids = _pids(host)
    assert all(pids.values()) and len(pids) == 2

    again, heavy = _up(host, f)
    assert heavy == [], heavy
    assert sorted(line.split()[1] for line in again.splitlines() if line.endswith("Running")) == [
        f"{p}-api-1",
        f"{p}-web-1",
    ]
    assert "Started" not in again and "Recreate" not in again
    assert _pids(host) == pids

    # a stopped container: the full path starts it again, the other is left as it is
    host.engine.stop(f"{p}-api-1")
    started, heavy = _up(host, f)
    assert f"Container {p}-api-1  Started" in started and "pydantic" in heavy
    now = _pids(host)
    assert now[f"{p}-web-1"] == pids[f"{p}-web-1"] and now[f"{p}-api-1"] not in (None, pids[f"{p}-api-1"])
    pids = now

    # a variable the file reads changed: only that service is recreated
    versions = {d.name: d.serial for d in host.engine.store().list(owner_kind="compose", project=p)}
    changed, heavy = _up(host, f, env={"MODE": "two"})
    assert f"Container {p}-api-1  Recreate" in changed and "pydantic" in heavy
    assert host.engine.store().get(f"{p}-api-1").serial == versions[f"{p}-api-1"] + 1
    assert _pids(host)[f"{p}-web-1"] == pids[f"{p}-web-1"]
    same, heavy = _up(host, f, env={"MODE": "two"})
    assert heavy == [] and "Running" in same

    # --force-recreate never takes the shortcut (one service: two recreated at once on one
    # network can race in aardvark-dns's check, which is not what this test is about)
    forced, heavy = _up(host, f, "--force-recreate", "web", env={"MODE": "two"})
    assert f"Container {p}-web-1  Recreate" in forced and "pydantic" in heavy
    assert _pids(host)[f"{p}-web-1"] != pids[f"{p}-web-1"]


HEALTHY = """
name: {project}
services:
  web:
    image: {image}
    command: httpd -f -p 80 -h /
    stop_signal: SIGKILL
    depends_on:
      api: {{condition: service_healthy}}
  api:
    image: {image}
    command: httpd -f -p 8000 -h /
    stop_signal: SIGKILL
    healthcheck: {{test: ["CMD", "ls", "/bin/sh"], interval: 1s, retries: 3}}
"""


def test_a_health_condition_is_checked_by_the_full_path(host: Host) -> None:
    """A service waiting on its dependency's health: ``up`` checks that health now, never from
    a remembered summary, and still changes nothing."""
    p = host.project
    f = str(host.write("compose.yaml", HEALTHY.format(project=p, image=IMAGE)))
    _up(host, f)
    pids = _pids(host)
    again, heavy = _up(host, f)
    assert "pydantic" in heavy  # loaded: the health condition is not remembered away
    assert "Started" not in again and "Recreate" not in again
    assert _pids(host) == pids
