"""depends_on conditions, scale, orphans and attached ``up`` of ``berth compose`` on the Engine."""

from __future__ import annotations

import json

from tests.agent.compose.conftest import IMAGE, Host

ONESHOT = """
name: {project}
services:
  migrate:
    image: {image}
    command: sh -c 'echo migrated > /data/done'
    volumes: ["data:/data"]
  app:
    image: {image}
    command: sh -c 'cat /data/done; exec httpd -f -p 80 -h /data'
    stop_grace_period: 1s
    volumes: ["data:/data"]
    depends_on:
      migrate: {{condition: service_completed_successfully}}
      cache: {{condition: service_started, required: false}}
{extra}
volumes:
  data: {{}}
"""


def _names(host: Host) -> list[str]:
    return sorted(d.name for d in host.engine.store().list(owner_kind="compose", project=host.project))


def test_completed_successfully_scale_and_orphans(host: Host) -> None:
    p = host.project
    f = str(host.write("compose.yaml", ONESHOT.format(project=p, image=IMAGE, extra="")))
    up = host.berth("compose", "-f", f, "up", "-d", "--scale", "app=2")
    assert up.returncode == 0, up.stderr
    assert _names(host) == [f"{p}-app-1", f"{p}-app-2", f"{p}-migrate-1"]
    migrate = host.engine.status(f"{p}-migrate-1")
    assert migrate.state in ("exited", "stopped") and migrate.exit_code == 0
    log = host.berth("compose", "-f", f, "logs", "--no-log-prefix", "app", check=True)
    assert log.stdout.splitlines() == ["migrated", "migrated"]  # both replicas saw the migration's work
    prefixed = host.berth("compose", "-f", f, "logs", "app", check=True)
    assert f"{p}-app-1  | migrated" in prefixed.stdout
    ps = host.berth("compose", "-f", f, "ps", "-a", "--format", "json", check=True)
    states = {json.loads(line)["Name"]: json.loads(line) for line in ps.stdout.splitlines()}
    assert states[f"{p}-migrate-1"]["State"] == "exited" and states[f"{p}-migrate-1"]["ExitCode"] == 0
    assert states[f"{p}-migrate-1"]["Status"].startswith("Exited (0)")
    running = host.berth("compose", "-f", f, "ps", "--services", check=True)
    assert running.stdout.split() == ["app"]

    # scaled down: the second replica goes, the first is left as it runs
    pid = host.engine.status(f"{p}-app-1").pid
    down_one = host.berth("compose", "-f", f, "up", "-d", "--scale", "app=1")
    assert down_one.returncode == 0, down_one.stderr
    assert _names(host) == [f"{p}-app-1", f"{p}-migrate-1"]
    assert host.engine.status(f"{p}-app-1").pid == pid

    # a service removed from the file is an orphan: reported, removed only when asked
    f = str(
        host.write(
            "compose.yaml",
            ONESHOT.format(project=p, image=IMAGE, extra="").replace(
                "  migrate:\n", "  migrate:\n    profiles: [never]\n"
            ),
        )
    )
    text = (host.base / "compose.yaml").read_text()
    text = text.replace("      migrate: {condition: service_completed_successfully}\n", "")
    host.write("compose.yaml", text)
    orphan = host.berth("compose", "-f", f, "up", "-d")
    assert orphan.returncode == 0, orphan.stderr
    assert f"Found orphan containers ({p}-migrate-1)" in orphan.stderr
    assert f"{p}-migrate-1" in _names(host)
    removed = host.berth("compose", "-f", f, "up", "-d", "--remove-orphans")
    assert removed.returncode == 0, removed.stderr
    assert _names(host) == [f"{p}-app-1"]

    missing = host.berth("compose", "-f", f, "up", "-d", "nosuch")
    assert missing.returncode == 1 and "no such service: nosuch" in missing.stderr
    down = host.berth("compose", "-f", f, "down", "-v", check=True)
    assert _names(host) == [] and host.engine.store().volumes.list() == [], down.stderr


ATTACHED = """
name: {project}
services:
  server:
    image: {image}
    command: sh -c 'echo serving; exec httpd -f -p 80 -h /'
    stop_grace_period: 1s
  client:
    image: {image}
    command: sh -c 'echo asking; sleep 1; exit 7'
    depends_on: [server]
"""


def test_attached_up_prefixes_logs_and_exit_code_from(host: Host) -> None:
    p = host.project
    f = str(host.write("compose.yaml", ATTACHED.format(project=p, image=IMAGE)))
    up = host.berth("compose", "-f", f, "up", "--exit-code-from", "client", timeout=120)
    assert up.returncode == 7, up.stderr
    assert f"{p}-server-1  | serving" in up.stdout
    assert f"{p}-client-1  | asking" in up.stdout
    assert f"{p}-client-1 exited with code 7" in up.stdout
    assert host.engine.status(f"{p}-server-1").state != "running"  # aborted: the others were stopped
    host.berth("compose", "-f", f, "down", check=True)
    assert _names(host) == []


def test_attached_up_ctrl_c_stops_the_project(host: Host) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.agent.compose.conftest import REPO

    p = host.project
    f = str(host.write("compose.yaml", ATTACHED.format(project=p, image=IMAGE).split("  client:")[0]))
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "BERTH_ROOT": str(host.root),
        "BERTH_RUN_ROOT": str(host.run_root),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "compose", "-f", f, "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while (ctr := host.engine.container(f"{p}-server-1")) is None or not ctr.alive:
            assert time.monotonic() < deadline and proc.poll() is None, (
                proc.stderr.read() if proc.stderr else ""
            )
            time.sleep(0.2)
        time.sleep(1.5)  # attached: following the logs
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert f"{p}-server-1  | serving" in out
    assert "Gracefully stopping..." in err
    assert host.engine.status(f"{p}-server-1").state in ("stopped", "exited")
