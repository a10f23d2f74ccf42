"""Deployments that run: the Engine with real runc, conmon, overlayfs, cgroups and netavark.

We test these aspects: deploy starts the container and it serves; exec passes exit codes; a
container killed from outside is restarted by its policy (through conmon's exit command, no Berth
process resident) and on-failure:3 gives up after three restarts; a new version that exits is rolled
back and the previous one serves again; limits are enforced (memory with OOMKilled reported, pids,
capabilities, read-only root, no-new-privileges, seccomp, the image's user); stop and remove leave
no process, mount, cgroup, runtime state or network behind; the shared tree is never written.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.demo import image as demo_image
from agent.registry import pulling
from agent.runtime import overlays
from agent.runtime.engine import Engine, StartFailed
from agent.runtime.execing import Exec
from agent.store.deploying import build_spec

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def layout() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="berth-engine-img-", dir="/dev/shm"))
    demo_image.build_demo_layout(base / "berth-demo")
    yield base / "berth-demo"
    shutil.rmtree(base, ignore_errors=True)


class Lab:
    """A store with the demo image, and every deployment made removed at the end."""

    def __init__(self, base: Path, layout: Path) -> None:
        self.base = base
        self.root = base / "store"
        self.image = f"oci:{layout}:latest"
        pulling.pull_image(self.image, self.root)
        self.engine = Engine(self.root, base / "run")
        self.made: list[str] = []

    def deploy(self, name: str, **config: Any) -> Any:
        spec = build_spec({"name": name, "image": self.image, "config": config})
        if name not in self.made:
            self.made.append(name)
        return self.engine.deploy(spec)

    def close(self) -> None:
        for name in self.made:
            with contextlib.suppress(Exception):  # best effort: the test already reported
                self.engine.remove(name)


@pytest.fixture
def lab(layout: Path) -> Iterator[Lab]:
    base = Path("/dev/shm") / f"berth-engine-{uuid.uuid4().hex[:8]}"
    base.mkdir()
    lab = Lab(base, layout)
    try:
        yield lab
    finally:
        lab.close()
        shutil.rmtree(base, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def fetch(url: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - loopback test URL
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                return ""
            time.sleep(0.1)


def wait_for(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def run(lab: Lab, name: str, *argv: str) -> tuple[int, str]:
    return lab.engine.exec_function(name)(list(argv), 20.0)  # type: ignore[no-any-return]


def test_deploy_starts_it_and_it_serves_on_its_published_port(lab: Lab) -> None:
    port = free_port()
    lab.deploy("web", cmd="httpd -f -p 80 -h /srv/www", ports=[f"127.0.0.1:{port}:80"])
    status = lab.engine.status("web")
    assert status.state == "running"
    assert status.ports == [
        {"container_port": 80, "host_ip": "127.0.0.1", "host_port": port, "protocol": "tcp"}
    ]
    assert fetch(f"http://127.0.0.1:{port}/") == demo_image.PAGE.decode()
    assert run(lab, "web", "sh", "-c", "exit 3")[0] == 3
    assert run(lab, "web", "id", "-u") == (0, "0\n")


def test_the_shared_tree_is_never_written(lab: Lab) -> None:
    deployment = lab.deploy("writer", cmd=["sh", "-c", "echo changed > /srv/www/index.html; sleep 60"])
    assert wait_for(lambda: (deployment.upper / "srv/www/index.html").exists())
    assert (deployment.rootfs / "srv/www/index.html").read_bytes() == demo_image.PAGE
    assert (deployment.upper / "srv/www/index.html").read_text() == "changed\n"


def _host_mounts_under(path: Path) -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line for line in lines if f" {path}" in line]


def test_a_running_containers_root_is_mounted_only_in_its_own_namespace(lab: Lab) -> None:
    """The overlay is taken off the host's mount table once runc created the container, so the
    table does not grow with the containers (runc parses it several times per container)."""
    deployment = lab.deploy(
        "private", cmd=["sh", "-c", "echo mine > /note; sleep 600"], network={"mode": "none"}
    )
    pid = lab.engine.status("private").pid
    assert pid is not None
    assert wait_for(lambda: (deployment.upper / "note").exists())
    assert _host_mounts_under(lab.engine.paths.bundle("private")) == []
    assert not overlays.is_mounted(lab.engine.paths.bundle("private") / "rootfs")
    # the container still has its whole root: the image's files, its own writes, overlayfs as "/"
    assert run(lab, "private", "cat", "/srv/www/index.html") == (0, demo_image.PAGE.decode())
    assert run(lab, "private", "cat", "/note") == (0, "mine\n")
    mounts = Path(f"/proc/{pid}/mountinfo").read_text().splitlines()
    assert any(line.split(" - ")[1].startswith("overlay ") and line.split()[4] == "/" for line in mounts)
    # exec --user reads the container's passwd through its process's root
    assert run(lab, "private", "sh", "-c", "echo 'ghost:x:4242:4243::/:/bin/sh' >> /etc/passwd") == (0, "")
    assert (
        Exec(lab.engine.containers).captured("private", ["id", "-u"], user="ghost", timeout=10).output
        == b"4242\n"
    )


def test_a_restart_mounts_the_same_upper_again(lab: Lab) -> None:
    """conmon's exit command restarts the container with its root mounted again for runc, over
    the upper the first run wrote to; the host's table is empty again afterwards."""
    deployment = lab.deploy(
        "again",
        cmd=["sh", "-c", "echo run >> /runs; exec sleep 600"],
        restart="always",
        network={"mode": "none"},
    )
    first = lab.engine.status("again").pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    restarted = wait_for(lambda: (s := lab.engine.status("again")).pid not in (None, first) and s)
    assert restarted and restarted.state == "running" and restarted.restarts == 1
    assert wait_for(lambda: (deployment.upper / "runs").read_text() == "run\nrun\n")
    assert run(lab, "again", "cat", "/runs") == (0, "run\nrun\n")
    assert _host_mounts_under(lab.engine.paths.bundle("again")) == []


def test_a_restart_runs_the_version_that_ran_over_its_own_upper(lab: Lab) -> None:
    """A version staged with deploy --no-start does not replace the running one's root when the
    restart policy starts that one again: its bundle, its tree and its upper go together."""
    first = lab.deploy(
        "staged",
        cmd=["sh", "-c", "echo run >> /runs; exec sleep 600"],
        restart="always",
        network={"mode": "none"},
    )
    spec = build_spec(
        {
            "name": "staged",
            "image": lab.image,
            "config": {"cmd": ["sleep", "700"], "network": {"mode": "none"}},
        }
    )
    second = lab.engine.deploy(spec, start=False)
    assert second.serial != first.serial
    pid = lab.engine.status("staged").pid
    assert pid is not None and wait_for(lambda: (first.upper / "runs").exists())
    os.kill(pid, signal.SIGKILL)
    restarted = wait_for(lambda: (s := lab.engine.status("staged")).pid not in (None, pid) and s)
    assert restarted and restarted.state == "running"
    assert wait_for(lambda: (first.upper / "runs").read_text() == "run\nrun\n")
    assert not (second.upper / "runs").exists()
    assert run(lab, "staged", "cat", "/runs") == (0, "run\nrun\n")


def test_a_container_killed_from_outside_is_restarted_by_its_policy(lab: Lab) -> None:
    lab.deploy("always", cmd=["sleep", "600"], restart="always", network={"mode": "none"})
    first = lab.engine.status("always").pid
    assert first is not None
    assert Path(f"/proc/{first}").exists()
    import os
    import signal

    os.kill(first, signal.SIGKILL)
    # a new pid shows from runc create on: wait for the start too (under load the test could look
    # between the two and see "created")
    restarted = wait_for(
        lambda: (s := lab.engine.status("always")).pid not in (None, first) and s.state == "running" and s
    )
    assert restarted, lab.engine.status("always")
    assert restarted.restarts == 1


def test_on_failure_3_gives_up_after_three_restarts(lab: Lab) -> None:
    spec = build_spec(
        {
            "name": "flaky",
            "image": lab.image,
            "config": {"cmd": ["sh", "-c", "exit 2"], "restart": "on-failure:3"},
        }
    )
    lab.made.append("flaky")
    lab.engine.deploy(spec, start=False)
    lab.engine.start("flaky")
    final = wait_for(
        lambda: (s := lab.engine.status("flaky")).state == "exited" and s.restarts == 3 and s, 30
    )
    assert final, (lab.engine.status("flaky"), lab.engine.run_state("flaky"), lab.engine.container("flaky"))
    time.sleep(1.0)  # docker's backoff would be 0.8 s for a fourth restart: none comes
    assert lab.engine.status("flaky").restarts == 3
    assert lab.engine.status("flaky").exit_code == 2


def test_a_new_version_that_exits_is_rolled_back_and_the_old_one_serves_again(lab: Lab) -> None:
    port = free_port()
    lab.deploy("svc", cmd="httpd -f -p 80 -h /srv/www", ports=[f"127.0.0.1:{port}:80"])
    assert fetch(f"http://127.0.0.1:{port}/")
    with pytest.raises(
        StartFailed, match=r"svc: version 2 did not come up \(exited with code 1\); rolled back to version 1"
    ):
        lab.deploy("svc", cmd=["sh", "-c", "exit 1"], ports=[f"127.0.0.1:{port}:80"])
    status = lab.engine.status("svc")
    assert (status.version, status.state) == (1, "running")
    assert fetch(f"http://127.0.0.1:{port}/") == demo_image.PAGE.decode()


def test_an_unwatched_first_version_returns_once_started(lab: Lab) -> None:
    """``wait="started"`` (compose up and kube play for a service's first version): deploy returns as
    soon as the container started, while it still runs before exiting; watched, a first version
    that exits is reported as not coming up (there is nothing to roll back to)."""

    def spec(cmd: str) -> Any:
        return build_spec(
            {
                "name": "brief",
                "image": lab.image,
                "config": {"cmd": ["sh", "-c", cmd], "network": {"mode": "none"}},
            }
        )

    lab.made.append("brief")
    deployed = lab.engine.deploy(spec("sleep 4; exit 3"), wait="started")
    assert deployed.serial == 1 and lab.engine.status("brief").state == "running"
    deadline = time.monotonic() + 30
    while (status := lab.engine.status("brief")).state == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status.exit_code == 3
    lab.engine.remove("brief")
    with pytest.raises(StartFailed, match=r"brief: version 1 did not come up: exited with code 3"):
        lab.engine.deploy(spec("exit 3"))


def test_a_new_version_that_fails_its_health_check_is_rolled_back(lab: Lab) -> None:
    lab.deploy("checked", cmd=["sleep", "600"], network={"mode": "none"})
    with pytest.raises(StartFailed, match="unhealthy"):
        lab.deploy(
            "checked",
            cmd=["sleep", "600"],
            network={"mode": "none"},
            healthcheck={"test": ["CMD", "false"], "interval": "0.2s", "retries": 2, "timeout": "2s"},
        )
    assert lab.engine.status("checked").version == 1


def test_memory_limit_kills_and_reports_oom(lab: Lab) -> None:
    lab.made.append("hog")
    spec = build_spec(
        {
            "name": "hog",
            "image": lab.image,
            "config": {
                # a shell variable doubling until it no longer fits in 16 MiB
                "cmd": ["sh", "-c", "x=0123456789abcdef; while true; do x=$x$x; done"],
                "resources": {"memory": "16M"},
                "network": {"mode": "none"},
            },
        }
    )
    lab.engine.deploy(spec, start=False)
    lab.engine.start("hog")
    final = wait_for(lambda: (s := lab.engine.status("hog")).state == "exited" and s, 30)
    assert final, lab.engine.status("hog")
    assert final.oom_killed
    assert final.exit_code == 137


def test_limits_and_privileges_inside_the_container(lab: Lab) -> None:
    lab.deploy(
        "locked",
        cmd=["sleep", "600"],
        network={"mode": "none"},
        resources={"pids": 20},
        security={"readonly": True},
    )
    status = run(lab, "locked", "cat", "/proc/self/status")[1]
    assert "NoNewPrivs:\t1" in status
    assert "Seccomp:\t2" in status
    code, out = run(lab, "locked", "sh", "-c", "echo x > /probe")
    assert code != 0 and "Read-only file system" in out
    # a fork loop stops at the pids limit
    code, out = run(
        lab,
        "locked",
        "sh",
        "-c",
        "for i in $(busybox seq 40); do sleep 5 & done",
    )
    assert "can't fork" in out
    # docker's default set has no NET_ADMIN, and seccomp refuses what it does not allow
    assert run(lab, "locked", "busybox", "ip", "link", "set", "lo", "down")[0] != 0
    assert run(lab, "locked", "busybox", "swapoff", "-a")[0] != 0


def test_capabilities_follow_cap_drop_and_cap_add(lab: Lab) -> None:
    lab.deploy("noraw", cmd=["sleep", "600"], security={"capabilities": {"drop": ["ALL"]}})
    lab.deploy("raw", cmd=["sleep", "600"], security={"capabilities": {"drop": ["ALL"], "add": ["NET_RAW"]}})
    assert run(lab, "noraw", "busybox", "ping", "-c", "1", "-W", "1", "127.0.0.1")[0] != 0
    assert run(lab, "raw", "busybox", "ping", "-c", "1", "-W", "1", "127.0.0.1")[0] == 0


def test_the_user_comes_from_the_images_passwd(lab: Lab) -> None:
    lab.deploy("nobody", cmd=["sleep", "600"], user="nobody", network={"mode": "none"})
    assert run(lab, "nobody", "id")[1].strip() == "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)"


def test_stop_and_remove_leave_nothing_behind(lab: Lab) -> None:
    port = free_port()
    lab.deploy("gone", cmd="httpd -f -p 80 -h /srv/www", ports=[f"127.0.0.1:{port}:80"])
    engine = lab.engine
    pid = engine.status("gone").pid
    attached = engine.attacher.attached("gone")
    assert pid is not None and attached is not None
    cgroup = engine.paths.cgroup_path("gone")
    engine.stop("gone", timeout=1)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert not overlays.is_mounted(engine.paths.bundle("gone") / "rootfs")
    assert not engine.paths.container("gone").exists()
    assert not any(Path("/sys/fs/cgroup").glob(f"*{cgroup}"))
    assert engine.attacher.attached("gone") is None
    assert not (engine.paths.run / "netns" / "gone").exists()
    assert fetch(f"http://127.0.0.1:{port}/", timeout=0.5) == ""
    assert engine.status("gone").state == "exited"
    engine.remove("gone")
    lab.made.remove("gone")
    assert not (lab.root / "containers" / "gone").exists()
    assert json.loads((lab.root / "metadata" / "deployments.json").read_text()) == {}


def test_boot_starts_what_was_running_with_always_or_unless_stopped(lab: Lab) -> None:
    for name, policy in (("keep", "unless-stopped"), ("once", "no"), ("held", "always")):
        lab.deploy(name, cmd=["sleep", "600"], restart=policy, network={"mode": "none"})
    lab.engine.stop("held", timeout=0)  # a user's stop outlives the reboot
    for name in ("keep", "once"):  # a reboot: the runtime state on tmpfs is gone, the store is not
        lab.engine._teardown(name, lab.engine.store().get(name))
    assert lab.engine.boot() == ["keep"]
    assert lab.engine.status("keep").state == "running"
    assert lab.engine.status("once").state != "running"
    assert lab.engine.status("held").state != "running"


def test_the_supervisor_sees_each_versions_probes(lab: Lab) -> None:
    """The supervisor's view of the store (asked every 2 s) keeps a version's probes between
    refreshes, and takes new ones from an update, a rollback and a remove-and-deploy of the name."""
    from agent.supervisor.engine_targets import EngineTargets

    targets = EngineTargets(lab.engine)

    def check(name: str) -> tuple[str, int]:
        (target,) = [t for t in targets() if t.name == name]
        assert target.healthcheck is not None and target.healthcheck.exec is not None
        return " ".join(target.healthcheck.exec), target.pid

    def probe(word: str) -> dict[str, Any]:
        return {"test": ["CMD", "echo", word], "interval": "30s"}

    sleep = ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"]
    lab.deploy("probed", cmd=sleep, healthcheck=probe("one"))
    first = check("probed")
    assert first == ("echo one", lab.engine.status("probed").pid)
    assert check("probed") == first
    lab.deploy("probed", cmd=sleep, healthcheck=probe("two"))
    second = check("probed")
    assert second[0] == "echo two" and second[1] != first[1]
    lab.engine.rollback("probed")
    assert check("probed")[0] == "echo one"
    lab.engine.remove("probed")  # and made again between two refreshes: maybe the same serial
    lab.deploy("probed", cmd=sleep, healthcheck=probe("three"))
    assert check("probed")[0] == "echo three"
    lab.engine.stop("probed", timeout=5)
    assert [t for t in targets() if t.name == "probed"] == []
    lab.engine.remove("probed")
    assert [t for t in targets() if t.name == "probed"] == []
