"""What ``up -d`` waits for, as a docker compose user expects it: a service created for the first
time is done once its container started (docker compose's ``up -d`` returns then; one that exits
afterwards shows as exited in ``ps``), while a changed service is watched until it is up and rolled
back when it is not, and ``--wait`` waits for every service to be running.

The settle window is made long here (``BERTH_SETTLE``): a fresh ``up -d`` that waited for it
could not return in the time allowed, a recreate that did not would not catch the crash."""

from __future__ import annotations

import time

from tests.agent.compose.conftest import IMAGE, Host

SETTLE = "20"
PROJECT = """
name: {project}
services:
  web:
    image: {image}
    command: {command}
    stop_signal: SIGKILL
  crash:
    image: {image}
    command: sh -c "sleep 1; exit 3"
"""


def _write(host: Host, command: str = "httpd -f -p 80 -h /") -> str:
    return str(host.write("compose.yaml", PROJECT.format(project=host.project, image=IMAGE, command=command)))


def test_fresh_up_returns_once_started_and_a_crash_shows_in_ps(host: Host) -> None:
    f = _write(host)
    began = time.monotonic()
    up = host.berth("compose", "-f", f, "up", "-d", env={"BERTH_SETTLE": SETTLE})
    took = time.monotonic() - began
    assert up.returncode == 0, up.stderr  # docker compose exits 0: the container did start
    assert took < float(SETTLE) / 2, f"fresh up -d took {took:.1f} s: it waited for the settle window"
    crash = f"{host.project}-crash-1"
    deadline = time.monotonic() + 30
    while host.engine.status(crash).state not in ("exited", "stopped"):
        assert time.monotonic() < deadline, host.engine.status(crash)
        time.sleep(0.2)
    ps = host.berth("compose", "-f", f, "ps", "-a", check=True)
    assert "Exited (3)" in ps.stdout, ps.stdout
    assert host.engine.status(f"{host.project}-web-1").state == "running"


def test_broken_recreate_is_still_watched_and_rolled_back(host: Host) -> None:
    f = _write(host)
    host.berth("compose", "-f", f, "up", "-d", "web", check=True)
    broken = _write(host, command="sh -c 'exit 4'")
    up = host.berth("compose", "-f", broken, "up", "-d", "web", env={"BERTH_SETTLE": "3"})
    assert up.returncode == 1, up.stderr
    assert f"service web: {host.project}-web-1: version 2 did not come up (exited with code 4)" in up.stderr
    assert "rolled back" in up.stderr
    assert host.engine.store().get(f"{host.project}-web-1").serial == 1
    assert host.engine.status(f"{host.project}-web-1").state == "running"


def test_wait_still_waits_for_a_fresh_service_to_be_running(host: Host) -> None:
    f = _write(host)
    up = host.berth("compose", "-f", f, "up", "-d", "--wait", env={"BERTH_SETTLE": "3"})
    assert up.returncode == 1, up.stderr
    assert "service crash:" in up.stderr and "exited with code 3" in up.stderr, up.stderr
    assert host.engine.status(f"{host.project}-web-1").state == "running"
