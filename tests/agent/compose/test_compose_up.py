"""``berth compose`` on the Engine end to end: real runc, conmon and netavark, the demo image.

One project (web -> api -> db with a healthcheck) is brought up, re-applied unchanged, changed,
broken and taken down, as the issue's acceptance describes; every step checks what runs.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request

from tests.agent.compose.conftest import IMAGE, Host, free_port

# busybox httpd exits on SIGTERM, so stops are quick; db and api answer on their own ports
PROJECT = """
name: {project}
services:
  web:
    image: {image}
    command: httpd -f -p 80 -h /srv
    ports: ["127.0.0.1:{port}:80"]
    volumes: ["www:/srv"]
    depends_on:
      api: {{condition: service_healthy}}
  api:
    image: {image}
    command: httpd -f -p 8000 -h /
    environment: {{API_MODE: "{mode}"}}
    healthcheck: {{test: ["CMD", "ls", "/bin/sh"], interval: 1s, retries: 3}}
    depends_on:
      db: {{condition: service_healthy}}
  db:
    image: {image}
    command: {db_command}
    volumes: ["data:/data"]
    healthcheck: {{test: ["CMD-SHELL", "test -d /data"], interval: 1s, retries: 3}}
volumes:
  www: {{}}
  data: {{}}
"""


def _write(host: Host, port: int, *, mode: str = "one", db_command: str = "httpd -f -p 5432 -h /data") -> str:
    text = PROJECT.format(project=host.project, image=IMAGE, port=port, mode=mode, db_command=db_command)
    return str(host.write("compose.yaml", text))


def _pids(host: Host) -> dict[str, int | None]:
    return {
        d.name: host.engine.status(d.name).pid
        for d in host.engine.store().list(owner_kind="compose", project=host.project)
    }


def _versions(host: Host) -> dict[str, int]:
    return {d.name: d.serial for d in host.engine.store().list(owner_kind="compose", project=host.project)}


def _started_order(stderr: str) -> list[str]:
    return [line.split()[1] for line in stderr.splitlines() if line.strip().endswith("Started")]


def test_project_up_noop_change_rollback_broken_down(host: Host) -> None:
    port = free_port()
    f = _write(host, port)
    p = host.project
    up = host.berth("compose", "-f", f, "up", "-d")
    assert up.returncode == 0, up.stderr
    assert _started_order(up.stderr) == [f"{p}-db-1", f"{p}-api-1", f"{p}-web-1"]
    volume = host.root / "volumes" / f"{p}_www" / "_data"
    (volume / "index.html").write_text("through the web port\n")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=5) as answer:
        assert answer.read() == b"through the web port\n"
    # the web container reaches api by its service name on the project network
    ask = "printf 'GET /etc/group HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 api 8000"
    reach = host.berth("compose", "-f", f, "exec", "-T", "web", "sh", "-c", ask)
    assert reach.returncode == 0, reach.stderr
    assert "root:x:0:" in reach.stdout

    # ps --format json: one object a line, docker compose's field names
    ps = host.berth("compose", "-f", f, "ps", "--format", "json", check=True)
    rows = [json.loads(line) for line in ps.stdout.splitlines()]
    assert sorted(r["Service"] for r in rows) == ["api", "db", "web"]
    for row in rows:
        assert {"Name", "Service", "State", "Status", "ExitCode", "Publishers", "Project"} <= set(row)
        assert row["State"] == "running" and row["Status"].startswith("Up") and row["Project"] == p
    web = next(r for r in rows if r["Service"] == "web")
    assert web["Name"] == f"{p}-web-1"
    assert {"URL": "127.0.0.1", "TargetPort": 80, "PublishedPort": port, "Protocol": "tcp"} in web[
        "Publishers"
    ]
    labels = host.engine.store().get(f"{p}-api-1").state.owner.labels
    assert labels["com.docker.compose.project"] == p and labels["com.docker.compose.service"] == "api"
    assert (
        labels["com.docker.compose.container-number"] == "1"
        and labels["com.docker.compose.oneoff"] == "False"
    )
    assert labels["com.docker.compose.project.config_files"] == f
    ls = host.berth("compose", "ls", "--format", "json", check=True)
    assert {"Name": p, "Status": "running(3)", "ConfigFiles": f} in json.loads(ls.stdout)

    # up again: nothing changes (same processes, same versions)
    pids, versions = _pids(host), _versions(host)
    began = time.monotonic()
    again = host.berth("compose", "-f", f, "up", "-d")
    took = time.monotonic() - began
    assert again.returncode == 0, again.stderr
    assert _pids(host) == pids and _versions(host) == versions
    assert "Recreate" not in again.stderr and "Started" not in again.stderr
    print(f"no-op up: {took:.2f} s (whole process)")

    # one service's env changed: only it is re-deployed, as a new version with rollback kept
    f = _write(host, port, mode="two")
    changed = host.berth("compose", "-f", f, "up", "-d")
    assert changed.returncode == 0, changed.stderr
    now = _pids(host)
    assert now[f"{p}-db-1"] == pids[f"{p}-db-1"] and now[f"{p}-web-1"] == pids[f"{p}-web-1"]
    assert now[f"{p}-api-1"] not in (None, pids[f"{p}-api-1"])
    assert _versions(host)[f"{p}-api-1"] == versions[f"{p}-api-1"] + 1
    env = host.berth("compose", "-f", f, "exec", "-T", "api", "sh", "-c", "echo $API_MODE", check=True)
    assert env.stdout.strip() == "two"
    rolled = host.berth("container", "rollback", f"{p}-api-1")
    assert rolled.returncode == 0, rolled.stderr
    env = host.berth("compose", "-f", f, "exec", "-T", "api", "sh", "-c", "echo $API_MODE", check=True)
    assert env.stdout.strip() == "one"

    # a broken command: the new version does not come up, is rolled back, up names the service
    f = _write(host, port, db_command="sh -c 'exit 3'")
    before = _versions(host)[f"{p}-db-1"]
    broken = host.berth("compose", "-f", f, "up", "-d")
    assert broken.returncode == 1
    assert f"service db: {p}-db-1: version {before + 1} did not come up (exited with code 3)" in broken.stderr
    assert "rolled back" in broken.stderr
    assert _versions(host)[f"{p}-db-1"] == before
    assert host.engine.status(f"{p}-db-1").state == "running"

    # down -v: no deployment, volume, network, published port or process left
    attached = host.engine.attacher.attached(f"{p}-web-1")
    assert attached is not None
    down = host.berth("compose", "-f", f, "down", "-v")
    assert down.returncode == 0, down.stderr
    assert host.engine.store().list() == []
    assert host.engine.store().volumes.list() == []
    assert not list((host.root / "networks").glob("*.json"))
    assert all(host.engine.container(n) is None for n in pids)
    for pid in pids.values():
        assert pid is not None
        assert subprocess.run(["kill", "-0", str(pid)], capture_output=True, check=False).returncode != 0
    rules = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True, check=False).stdout
    assert f"dport {port} " not in rules
    assert not list((host.run_root / "netns").glob(f"{p}*"))
