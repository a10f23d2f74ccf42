"""``berth demo``, the README's main job, end to end as a user runs it.

We test these aspects:
- offline, it builds the demo image, pulls it, translates the embedded compose project,
  deploys and starts every service in the chosen store, and the web service answers on its
  published port with the page the one-shot service wrote into the shared volume;
- the store passes ``berth store check`` and each rootfs holds the demo image's files;
- running it again leaves the unchanged services running untouched (compose up is idempotent);
- the commands it prints are the ones a user types: replayed by hand into another store they
  make the same deployments (same specs, same image);
- ``--show`` prints the embedded project.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from agent.demo import COMPOSE_FILE
from agent.demo import image as demo_image

BERTH = [sys.executable, "-c", "from agent.cli.main import main; main()"]


def berth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BERTH, *args], capture_output=True, text=True, check=False, timeout=300)


def down(root: Path) -> None:
    berth("compose", "--root", str(root), "-f", str(COMPOSE_FILE), "down", "-v", "-t", "1")


def test_demo_deploys_and_serves_the_project_offline(tmp_path: Path) -> None:
    root = tmp_path / "store"
    try:
        _demo(root)
    finally:
        down(root)


def _demo(root: Path) -> None:
    first = berth("demo", "--root", str(root))
    assert first.returncode == 0, first.stderr
    assert "localhost/berth-demo:latest" in first.stdout
    assert "$ curl http://127.0.0.1:18080/\nhello from berth\n" in first.stdout
    status = json.loads(
        berth("container", "status", "--root", str(root), "berth-demo-web-1", "-o", "json").stdout
    )
    assert status["state"] == "running"
    page = json.loads(
        berth("container", "status", "--root", str(root), "berth-demo-page-1", "-o", "json").stdout
    )
    assert (page["state"], page["exit_code"]) == ("exited", 0)
    listed = json.loads(berth("container", "list", "--root", str(root), "-o", "json").stdout)
    assert sorted(row["name"] for row in listed) == ["berth-demo-page-1", "berth-demo-web-1"]
    assert all(row["version"] == 1 for row in listed)
    for name in ("berth-demo-page-1", "berth-demo-web-1"):
        rootfs = root / "deployments" / name / "rootfs"
        assert (rootfs / "bin" / "busybox").read_bytes() == demo_image.BUSYBOX.read_bytes()
        assert (rootfs / "srv" / "www" / "index.html").read_bytes() == demo_image.PAGE
        spec = json.loads((root / "deployments" / name / "config.json").read_text())
        assert spec["image"] == "localhost/berth-demo:latest"
    web = json.loads((root / "deployments" / "berth-demo-web-1" / "config.json").read_text())
    assert web["config"]["ports"] == [
        {"container": 8080, "host": 18080, "host_ip": "127.0.0.1", "protocol": "tcp"}
    ]
    assert web["config"]["security"]["capabilities"] == {"add": ["CAP_NET_BIND_SERVICE"], "drop": ["ALL"]}
    check = berth("store", "check", "--root", str(root))
    assert check.returncode == 0, check.stdout + check.stderr

    # again: compose up leaves unchanged services running untouched (same process, same version)
    second = berth("demo", "--root", str(root))
    assert second.returncode == 0, second.stderr
    assert "hello from berth" in second.stdout
    again = json.loads(
        berth("container", "status", "--root", str(root), "berth-demo-web-1", "-o", "json").stdout
    )
    assert (again["pid"], again["version"]) == (status["pid"], 1)


def test_show_prints_the_embedded_project() -> None:
    shown = berth("demo", "--show")
    assert shown.returncode == 0
    assert shown.stdout == COMPOSE_FILE.read_text()


def test_printed_commands_reproduce_the_demo(tmp_path: Path) -> None:
    """Replayed into another store, the printed commands make the same deployments (the demo's
    own project is taken down first: it holds port 18080)."""
    root = tmp_path / "store"
    by_hand = tmp_path / "by-hand"
    try:
        _replay(root, by_hand)
    finally:
        down(root)
        down(by_hand)


def _replay(root: Path, by_hand: Path) -> None:
    shown = berth("demo", "--root", str(root))
    assert shown.returncode == 0, shown.stderr
    commands = [
        shlex.split(line[2:], comments=True)
        for line in shown.stdout.splitlines()
        if line.startswith("$ berth ")
    ]
    assert [c[1:3] for c in commands] == [["pull", "--root"], ["compose", "--root"], ["compose", "--root"]]
    assert [c[-2:] for c in commands[1:]] == [["up", "-d"], ["ps", "-a"]]
    specs = {
        name: json.loads((root / "deployments" / name / "config.json").read_text())
        for name in ("berth-demo-page-1", "berth-demo-web-1")
    }
    down(root)
    for command in commands:
        done = berth(*[str(by_hand) if a == str(root) else a for a in command[1:]])
        assert done.returncode == 0, f"{shlex.join(command)}: {done.stderr}"
    for name, demo_spec in specs.items():
        hand_spec = json.loads((by_hand / "deployments" / name / "config.json").read_text())
        assert hand_spec == demo_spec
        state = json.loads((by_hand / "deployments" / name / "state.json").read_text())
        assert state["image"] == "localhost/berth-demo:latest"
