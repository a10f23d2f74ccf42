"""``berth compose events``: real containers started, health-checked, killed, stopped, restarted
by their policy and removed produce docker compose's events, in order, from the store's event log;
a follower started first sees them as they happen; the log rotates without losing a line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from agent.runtime import eventlog
from tests.agent.compose.conftest import IMAGE, REPO, Host

PROJECT = """
name: {project}
services:
  web:
    image: {image}
    command: httpd -f -p 80 -h /
    healthcheck: {{test: ["CMD", "ls", "/bin/sh"], interval: 1s}}
  crash:
    image: {image}
    command: sh -c "sleep 2; exit 3"
    restart: on-failure:1
  other:
    image: {image}
    command: httpd -f -p 81 -h /
    stop_signal: SIGKILL
"""


def _wait(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def _by_container(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for event in events:
        out.setdefault(event["attributes"]["name"], []).append(event["action"])
    return out


def test_events_of_a_project_in_order(host: Host) -> None:
    p = host.project
    f = str(host.write("compose.yaml", PROJECT.format(project=p, image=IMAGE)))
    t0 = time.time()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "BERTH_ROOT": str(host.root),
        "BERTH_RUN_ROOT": str(host.run_root),
    }
    follower = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent",
            "compose",
            "-f",
            f,
            "events",
            "--json",
            "--since",
            str(t0),
            "web",
            "crash",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=host.base,
    )
    followed: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=lambda: followed.extend(json.loads(line) for line in follower.stdout or []), daemon=True
    )
    reader.start()
    try:
        up = host.berth("compose", "-f", f, "up", "-d")
        assert up.returncode == 0, up.stderr
        host.engine.health_changed(f"{p}-web-1", "healthy")  # the supervisor saying it again: no new event
        host.berth("compose", "-f", f, "kill", "web", check=True)
        _wait(lambda: host.engine.status(f"{p}-web-1").state == "exited")
        host.berth("compose", "-f", f, "start", "web", check=True)
        host.berth("compose", "-f", f, "stop", "web", check=True)
        host.berth("compose", "-f", f, "restart", "other", check=True)
        crash = f"{p}-crash-1"  # exits 3, restarted once by its policy, exits 3 again
        _wait(lambda: host.engine.status(crash).restarts == 1 and host.engine.status(crash).state == "exited")
        down = host.berth("compose", "-f", f, "down")
        assert down.returncode == 0, down.stderr
        _wait(lambda: len([e for e in followed if e["action"] == "destroy"]) == 2)
    finally:
        follower.terminate()
        follower.wait(timeout=10)
        reader.join(timeout=10)
        assert follower.stdout is not None and follower.stderr is not None
        errors = follower.stderr.read()
        follower.stdout.close()
        follower.stderr.close()
    assert not errors, errors

    expected = {
        f"{p}-web-1": [
            "create", "start", "health_status: healthy", "kill", "die", "start", "kill", "die", "stop", "destroy",
        ],
        f"{p}-crash-1": ["create", "start", "die", "start", "die", "destroy"],
    }  # fmt: skip
    assert _by_container(followed) == expected  # the follower: only the services asked for
    kills = [e["attributes"] for e in followed if e["action"] == "kill"]
    assert [k["signal"] for k in kills] == ["9", "15"]
    dies = [
        e["attributes"]["exitCode"]
        for e in followed
        if e["action"] == "die" and "crash" in e["attributes"]["name"]
    ]
    assert dies == ["3", "3"]
    first = followed[0]
    assert set(first) == {"time", "type", "action", "id", "service", "attributes"}
    assert first["type"] == "container" and first["attributes"]["image"] == IMAGE
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", first["time"])
    assert {e["service"] for e in followed} == {"web", "crash"}

    # afterwards, from the log: every service, and docker compose's plain lines
    logged = host.berth(
        "compose", "-f", f, "events", "--since", str(t0), "--until", str(time.time()), check=True
    )
    lines = [line for line in logged.stdout.split("\n") if line]
    other = [line for line in lines if f"name={p}-other-1" in line]
    assert [line.split()[3] for line in other] == [
        "create", "start", "kill", "die", "stop", "start", "restart", "kill", "die", "stop", "destroy",
    ]  # fmt: skip
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{{6}} container create [0-9a-f]{{12}}\d{{4}} "
        rf"\(image={re.escape(IMAGE)}, name={p}-other-1\)",
        other[0],
    )
    assert logged.stdout.endswith("\n\n")  # docker compose's own line end, then the print's


def test_log_rotates_and_a_follower_keeps_every_line(tmp_path: Path) -> None:
    path = eventlog.path_in(tmp_path)
    total = 400
    seen: list[int] = []
    finished = threading.Event()

    def follow() -> None:
        for record in eventlog.follow(path, done=finished.is_set, poll=0.01):
            seen.append(int(record["attributes"]["n"]))

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    time.sleep(0.2)

    def write(offset: int) -> None:
        for n in range(offset, total, 2):
            eventlog.append(path, {"action": "start", "attributes": {"n": str(n)}}, max_bytes=4096)
            time.sleep(0.001)  # writers as busy as a host's containers can be, not a tight loop

    writers = [threading.Thread(target=write, args=(i,)) for i in (0, 1)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    _wait(lambda: len(seen) >= total, timeout=10)
    finished.set()
    reader.join(timeout=5)
    assert sorted(seen) == list(range(total))  # every line once, across rotations
    assert path.stat().st_size <= 4096
    assert path.with_name(path.name + ".1").stat().st_size <= 4096
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    kept = list(eventlog.history(path))
    assert kept and all(int(r["attributes"]["n"]) < total for r in kept)
