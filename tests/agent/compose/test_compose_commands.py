"""``up --wait``, ``restart: true`` dependents, ``run --rm``, ``stop``/``start``, ``port`` and
``images`` of ``berth compose`` on the Engine."""

from __future__ import annotations

import json

from tests.agent.compose.conftest import IMAGE, Host, free_port

PROJECT = """
name: {project}
services:
  db:
    image: {image}
    command: httpd -f -p 5432 -h /
    environment: {{DB_VERSION: "{version}"}}
    stop_signal: SIGKILL
    healthcheck: {{test: ["CMD", "ls", "/bin/sh"], interval: 1s}}
  app:
    image: {image}
    command: httpd -f -p 80 -h /
    stop_signal: SIGKILL
    ports: ["127.0.0.1:{port}:80"]
    depends_on:
      db: {{condition: service_healthy, restart: true}}
"""


def test_wait_restart_dependents_run_stop_start_port(host: Host) -> None:
    p = host.project
    port = free_port()
    f = str(host.write("compose.yaml", PROJECT.format(project=p, image=IMAGE, port=port, version="1")))
    up = host.berth("compose", "-f", f, "up", "--wait")
    assert up.returncode == 0, up.stderr
    assert f"Container {p}-db-1  Healthy" in up.stderr
    app_pid = host.engine.status(f"{p}-app-1").pid

    # db changes: it is re-deployed, and app (restart: true) is restarted, not re-deployed
    f = str(host.write("compose.yaml", PROJECT.format(project=p, image=IMAGE, port=port, version="2")))
    changed = host.berth("compose", "-f", f, "up", "-d")
    assert changed.returncode == 0, changed.stderr
    assert host.engine.store().get(f"{p}-db-1").serial == 2
    assert host.engine.store().get(f"{p}-app-1").serial == 1
    assert host.engine.status(f"{p}-app-1").pid not in (None, app_pid)

    published = host.berth("compose", "-f", f, "port", "app", "80", check=True)
    assert published.stdout.strip() == f"127.0.0.1:{port}"
    images = host.berth("compose", "-f", f, "images", "--format", "json", check=True)
    assert {row["ContainerName"] for row in json.loads(images.stdout)} == {f"{p}-app-1", f"{p}-db-1"}

    # a one-off container: its output and exit code, removed afterwards, the services untouched
    ran = host.berth("compose", "-f", f, "run", "--rm", "app", "sh", "-c", "echo one-off $DB_VERSION; exit 4")
    assert ran.returncode == 4, ran.stderr
    assert ran.stdout == "one-off\n"
    assert sorted(d.name for d in host.engine.store().list()) == [f"{p}-app-1", f"{p}-db-1"]

    stopped = host.berth("compose", "-f", f, "stop")
    assert stopped.returncode == 0, stopped.stderr
    assert host.berth("compose", "-f", f, "ps", "-q", check=True).stdout == ""
    started = host.berth("compose", "-f", f, "start")
    assert started.returncode == 0, started.stderr
    assert host.berth("compose", "-f", f, "ps", "-q", check=True).stdout.split() == [
        f"{p}-app-1",
        f"{p}-db-1",
    ]
    host.berth("compose", "-f", f, "down", check=True)
    assert host.engine.store().list() == []
