"""Containers under conmon and runc, for real.

We test these aspects:
- create then start runs the process; its output lands in the k8s-file log;
- start reads runc init's exec fifo itself; runc then says running; a dead init fails the start;
- exit codes 0, 1 and 137 (SIGTERM ignored -> SIGKILL after the grace period) are reported;
- a kill from outside: the exit file says 137 and the exit command ran exactly once;
- runc's error (a missing executable) is one line naming the container;
- after stop + delete: no process, no mount, no cgroup directory, no runc state, no run directory;
- a write in the container lands in the upper, never in the shared lower.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agent.runtime import cgroups, overlays, runc
from agent.runtime.errors import ContainerNotFound, ContainerStateError, RuntimeFailure
from agent.runtime.statuses import State
from agent.store import mountpoints
from tests.agent.runtime.conftest import Rig


def _wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_create_start_logs_and_state(rig: Rig) -> None:
    rig.bundle("web", ["sh", "-c", "echo hello; echo oops >&2; exec sleep 100"])
    pid = rig.containers.create("web", log_path=rig.log_path("web"))
    created = rig.containers.state("web")
    assert created.state is State.CREATED and created.pid == pid and created.started_at is None
    running = rig.containers.start("web")
    assert running.state is State.RUNNING and running.started_at is not None
    assert Path(f"/proc/{pid}").exists()
    assert rig.paths.container("web").stat().st_mode & 0o777 == 0o700, "the spec may carry secrets"
    _wait_for(lambda: "oops" in rig.log_path("web").read_text())
    lines = rig.log_path("web").read_text().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["stdout F hello", "stderr F oops"]
    assert [s.name for s in rig.containers.list()] == ["web"]
    with pytest.raises(ContainerStateError, match="container web: already running"):
        rig.containers.create("web", log_path=rig.log_path("web"))


def _runc_status(rig: Rig, name: str) -> str | None:
    state = runc.state(rig.paths.runc_root, name)
    return None if state is None else str(state["status"])


def test_start_gives_init_the_go_ahead_as_runc_start_does(rig: Rig) -> None:
    """Start reads runc init's exec fifo itself (no runc process): afterwards runc agrees the
    container runs, the process is the container's own, and a short one still reports its exit."""
    rig.bundle("go", ["sleep", "100"])
    pid = rig.containers.create("go", log_path=rig.log_path("go"))
    fifo = rig.paths.runc_root / "go" / runc.EXEC_FIFO
    assert _runc_status(rig, "go") == "created" and fifo.exists()
    assert Path(f"/proc/{pid}/comm").read_text().startswith("runc:[2:INIT]")
    rig.containers.start("go")
    assert _runc_status(rig, "go") == "running" and not fifo.exists()
    assert Path(f"/proc/{pid}/comm").read_text() == "sleep\n"
    rig.bundle("blink", ["sh", "-c", "exit 4"])
    rig.containers.create("blink", log_path=rig.log_path("blink"))
    rig.containers.start("blink")
    assert rig.containers.wait("blink", 10).exit_code == 4


def test_start_of_a_container_whose_init_died_fails_as_runc_fails_it(rig: Rig) -> None:
    """Init killed while it waits at the fifo: the start fails at the next liveness look (it
    never blocks on a fifo nobody will write)."""
    rig.bundle("dead", ["sleep", "100"])
    pid = rig.containers.create("dead", log_path=rig.log_path("dead"))
    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(
        RuntimeFailure, match=r"^container dead: runc start: container process is already dead$"
    ):
        runc.start(rig.paths.runc_root, "dead", lambda: Path(f"/proc/{pid}").exists() and _not_zombie(pid))
    assert time.monotonic() - started < 2


def _not_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_start_falls_back_to_runc_start_without_the_fifo_it_knows(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runc that keeps no exec.fifo where 1.0-1.2 keep it is started by ``runc start``."""
    rig.bundle("classic", ["sleep", "100"])
    pid = rig.containers.create("classic", log_path=rig.log_path("classic"))
    monkeypatch.setattr(runc, "EXEC_FIFO", "no-such.fifo")
    # as under a Type=notify unit: runc start would bind a notify socket runc create never set up
    monkeypatch.setenv("NOTIFY_SOCKET", str(rig.paths.run / "notify.sock"))
    rig.containers.start("classic")
    assert _runc_status(rig, "classic") == "running"
    assert Path(f"/proc/{pid}/comm").read_text() == "sleep\n"


def test_live_pid_follows_the_state(rig: Rig) -> None:
    """The supervisor's cheap question agrees with the full status through a container's life:
    created, running, paused, exited, created again (a new record and pid), deleted."""
    rig.bundle("lively", ["sh", "-c", "trap 'exit 0' TERM; sleep 100 & wait"])
    assert rig.containers.live_pid("lively") is None
    first = rig.containers.create("lively", log_path=rig.log_path("lively"))
    assert rig.containers.live_pid("lively") == first
    rig.containers.start("lively")
    assert rig.containers.live_pid("lively") == first
    rig.containers.pause("lively")
    assert rig.containers.live_pid("lively") == first
    rig.containers.resume("lively")
    rig.containers.stop("lively", "TERM", grace=5)
    assert not rig.containers.state("lively").alive
    assert rig.containers.live_pid("lively") is None
    second = rig.containers.create("lively", log_path=rig.log_path("lively"))
    assert second != first and rig.containers.live_pid("lively") == second
    rig.containers.start("lively")
    os.kill(second, signal.SIGKILL)  # from outside: the record still names the pid
    _wait_for(lambda: not rig.containers.state("lively").alive)
    assert rig.containers.live_pid("lively") is None
    rig.containers.delete("lively")
    assert rig.containers.live_pid("lively") is None


@pytest.mark.parametrize(("script", "code"), [("exit 0", 0), ("exit 1", 1)])
def test_exit_codes(rig: Rig, script: str, code: int) -> None:
    rig.bundle("job", ["sh", "-c", script])
    rig.containers.create("job", log_path=rig.log_path("job"))
    rig.containers.start("job")
    status = rig.containers.wait("job", 10)
    assert status.state is State.EXITED and status.exit_code == code and not status.oom_killed
    assert status.finished_at is not None and status.finished_at >= status.started_at  # type: ignore[operator]
    assert not status.stop_requested


def test_stop_ignoring_sigterm_is_killed_after_grace(rig: Rig) -> None:
    rig.bundle("stubborn", ["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"])
    rig.containers.create("stubborn", log_path=rig.log_path("stubborn"))
    rig.containers.start("stubborn")
    _wait_for(lambda: "ready" in rig.log_path("stubborn").read_text())
    started = time.monotonic()
    status = rig.containers.stop("stubborn", "SIGTERM", grace=1.0)
    took = time.monotonic() - started
    assert 1.0 <= took < 5.0
    assert status.state is State.EXITED and status.exit_code == 137 and status.stop_requested


def test_stop_with_sigterm_honoured(rig: Rig) -> None:
    rig.bundle("polite", ["sh", "-c", "trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done"])
    rig.containers.create("polite", log_path=rig.log_path("polite"))
    rig.containers.start("polite")
    _wait_for(lambda: "ready" in rig.log_path("polite").read_text())
    started = time.monotonic()
    status = rig.containers.stop("polite", "TERM", grace=10.0)
    assert time.monotonic() - started < 3.0
    assert status.exit_code == 0


def test_kill_from_outside_runs_exit_command_once(rig: Rig) -> None:
    marker = rig.base / "exit-command-ran"
    rig.bundle("victim", ["sleep", "100"])
    pid = rig.containers.create(
        "victim", log_path=rig.log_path("victim"), exit_command=["/bin/sh", "-c", f"echo ran >> {marker}"]
    )
    rig.containers.start("victim")
    os.kill(pid, signal.SIGKILL)
    status = rig.containers.wait("victim", 10)
    assert status.state is State.EXITED and status.exit_code == 137 and not status.stop_requested
    assert (rig.paths.container("victim") / "exits" / "victim").read_text().strip() == "137"
    _wait_for(marker.exists)
    time.sleep(0.3)
    assert marker.read_text() == "ran\n"


def test_runc_error_is_one_line(rig: Rig) -> None:
    rig.bundle("broken", ["/no/such/program"])
    with pytest.raises(RuntimeFailure) as caught:
        rig.containers.create("broken", log_path=rig.log_path("broken"))
    text = str(caught.value)
    assert "\n" not in text and text.startswith("container broken: ")
    assert "/no/such/program" in text and "no such file or directory" in text
    status = rig.containers.state("broken")
    assert status.state is State.EXITED and status.error == text


def test_nothing_left_after_stop_and_delete(rig: Rig) -> None:
    bundle = rig.bundle("gone", ["sleep", "100"])
    pid = rig.containers.create("gone", log_path=rig.log_path("gone"))
    rig.containers.start("gone")
    status = rig.containers.state("gone")
    conmon_pid = int((rig.paths.container("gone") / "conmon.pid").read_text())
    cgroup = rig.paths.cgroup_path("gone")
    assert cgroups.existing(cgroup), "runc made the cgroup"
    with pytest.raises(ContainerStateError):
        rig.containers.delete("gone")
    rig.containers.stop("gone", "KILL", grace=0)
    rig.containers.delete("gone")
    assert not Path(f"/proc/{pid}").exists() and status.pid == pid
    _wait_for(lambda: not Path(f"/proc/{conmon_pid}").exists())  # PID 1 reaps the daemonized conmon
    assert not overlays.is_mounted(bundle / "rootfs")
    assert cgroups.existing(cgroup) == []
    assert len(cgroups.directories(cgroup)) >= 2  # every hierarchy was looked at (v1 controllers + unified)
    assert not (rig.paths.runc_root / "gone").exists()
    assert not rig.paths.container("gone").exists()
    assert rig.log_path("gone").exists(), "logs live in the store and outlive the container"
    with pytest.raises(ContainerNotFound, match="container gone: no such container"):
        rig.containers.state("gone")


def test_writes_land_in_upper_not_lower(rig: Rig) -> None:
    rig.bundle("writer", ["sh", "-c", "echo changed > /data/shared.txt; echo new > /data/new.txt"])
    rig.containers.create("writer", log_path=rig.log_path("writer"))
    rig.containers.start("writer")
    assert rig.containers.wait("writer", 10).exit_code == 0
    assert (rig.lower / "data" / "shared.txt").read_text() == "from the lower\n"
    assert not (rig.lower / "data" / "new.txt").exists()
    upper = rig.upper("writer") / "upper" / "data"
    assert (upper / "shared.txt").read_text() == "changed\n"
    assert (upper / "new.txt").read_text() == "new\n"


def test_restart_after_exit_keeps_upper(rig: Rig) -> None:
    rig.bundle("again", ["sh", "-c", "echo x >> /count; wc -l < /count"])
    for _ in range(2):
        rig.containers.create("again", log_path=rig.log_path("again"))
        rig.containers.start("again")
        assert rig.containers.wait("again", 10).exit_code == 0

    def out() -> list[str]:
        return [line.rsplit(" ", 1)[1] for line in rig.log_path("again").read_text().splitlines()]

    # both lines, not the log as it is the moment the exit is seen (this failed once under load)
    _wait_for(lambda: len(out()) >= 2)
    assert out() == ["1", "2"]


def test_oom_killed_is_reported(rig: Rig) -> None:
    def limit(config: dict[str, Any]) -> None:
        config["linux"]["resources"] = {"memory": {"limit": 16 * 1024 * 1024, "swap": 16 * 1024 * 1024}}

    rig.bundle(
        "hog", ["sh", "-c", "x=$(head -c 200000000 /dev/zero | tr '\\0' a); echo survived"], edit=limit
    )
    rig.containers.create("hog", log_path=rig.log_path("hog"))
    rig.containers.start("hog")
    status = rig.containers.wait("hog", 30)
    assert status.state is State.EXITED and status.oom_killed
    assert (rig.paths.bundle("hog") / "oom").exists(), (
        "conmon writes `oom` in its working directory: the bundle"
    )
    assert "survived" not in rig.log_path("hog").read_text()
    reaped = rig.containers.reap("hog")
    assert reaped.oom_killed and reaped.exit_code == status.exit_code
    assert cgroups.existing(rig.paths.cgroup_path("hog")) == [], (
        "reap deleted the cgroup; the record kept the OOM"
    )


def test_pause_and_resume(rig: Rig) -> None:
    rig.bundle("napper", ["sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.1; done"])
    rig.containers.create("napper", log_path=rig.log_path("napper"))
    rig.containers.start("napper")
    assert rig.containers.pause("napper").state is State.PAUSED
    assert rig.containers.resume("napper").state is State.RUNNING
    rig.containers.pause("napper")
    started = time.monotonic()
    status = rig.containers.stop(
        "napper", "TERM", grace=5
    )  # a frozen container cannot take signals: resumed first
    assert status.exit_code == 7 and time.monotonic() - started < 4


def test_tty_container_logs_its_terminal(rig: Rig) -> None:
    def terminal(config: dict[str, Any]) -> None:
        config["process"]["terminal"] = True

    rig.bundle("term", ["sh", "-c", "tty; test -t 1 && echo is-a-tty"], edit=terminal)
    with pytest.raises(
        RuntimeFailure, match=r"process\.terminal=true but the container is created with tty=false"
    ):
        rig.containers.create("term", log_path=rig.log_path("term"))
    rig.containers.create("term", log_path=rig.log_path("term"), tty=True)
    rig.containers.start("term")
    assert rig.containers.wait("term", 10).exit_code == 0
    text = rig.log_path("term").read_text()
    assert "stdout F /dev/pts/0" in text.replace("\r", "") and "is-a-tty" in text


def test_readonly_root_is_still_an_overlay(rig: Rig) -> None:
    def readonly(config: dict[str, Any]) -> None:
        config["root"]["readonly"] = True

    bundle = rig.bundle(
        "frozen", ["sh", "-c", "echo x > /data/new.txt || echo refused; exit 5"], edit=readonly
    )
    assert mountpoints.table()[str(bundle / "rootfs")] == "overlay"
    rig.containers.create("frozen", log_path=rig.log_path("frozen"))
    rig.containers.start("frozen")
    assert rig.containers.wait("frozen", 10).exit_code == 5
    assert "Read-only file system" in rig.log_path("frozen").read_text()
    assert not (rig.upper("frozen") / "upper" / "data").exists()


def _restarter(rig: Rig, name: str, delay: float, report: Path) -> list[str]:
    script = Path(__file__).with_name("restarter.py")
    args = [str(rig.paths.run), rig.paths.key, name, str(rig.log_path(name)), str(delay), str(report)]
    return ["/usr/bin/env", f"PYTHONPATH={os.getcwd()}", sys.executable, str(script), *args]


def test_exit_command_restarts_until_stopped(rig: Rig) -> None:
    report = rig.base / "report"
    rig.bundle("flaky", ["sh", "-c", "echo run; [ -f /again ] || { touch /again; exit 1; }; exec sleep 100"])
    rig.containers.create(
        "flaky", log_path=rig.log_path("flaky"), exit_command=_restarter(rig, "flaky", 0, report)
    )
    rig.containers.start("flaky")
    _wait_for(lambda: report.exists() and report.read_text() == "backoff\nrestarted\n", 20)
    status = rig.containers.state("flaky")
    assert status.state is State.RUNNING and status.exit_code is None
    # start returns once the process exec'd: its first line reaches conmon's log a little later
    _wait_for(lambda: rig.log_path("flaky").read_text().count("stdout F run") == 2)
    assert rig.containers.stop("flaky", "KILL", 0).stop_requested
    _wait_for(lambda: report.read_text().endswith("stopped\n"), 20)
    assert rig.containers.state("flaky").state is State.EXITED


def test_delete_during_restart_backoff_leaves_nothing(rig: Rig) -> None:
    report = rig.base / "report"
    rig.bundle("doomed", ["sleep", "100"])
    pid = rig.containers.create(
        "doomed", log_path=rig.log_path("doomed"), exit_command=_restarter(rig, "doomed", 1.5, report)
    )
    rig.containers.start("doomed")
    conmon_pid = int((rig.paths.container("doomed") / "conmon.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    rig.containers.wait("doomed", 10)
    _wait_for(lambda: report.exists() and report.read_text() == "backoff\n", 20)  # conmon waits for it
    rig.containers.delete("doomed")
    _wait_for(lambda: not Path(f"/proc/{conmon_pid}").exists())  # gone (PID 1 reaps it)
    assert not rig.paths.container("doomed").exists()
    assert not (rig.paths.runc_root / "doomed").exists()
    assert report.read_text().startswith("backoff\nrefused: container doomed: ")
    assert cgroups.existing(rig.paths.cgroup_path("doomed")) == []


def test_delete_kills_a_hanging_exit_command(rig: Rig) -> None:
    report = rig.base / "report"
    rig.bundle("hung", ["true"])
    rig.containers.create(
        "hung", log_path=rig.log_path("hung"), exit_command=_restarter(rig, "hung", 60, report)
    )
    rig.containers.start("hung")
    conmon_pid = int((rig.paths.container("hung") / "conmon.pid").read_text())
    _wait_for(lambda: report.exists() and report.read_text() == "backoff\n", 20)
    helpers = [int(p) for p in Path(f"/proc/{conmon_pid}/task/{conmon_pid}/children").read_text().split()]
    assert helpers, "conmon waits for its exit command"
    started = time.monotonic()
    rig.containers.delete("hung", timeout=0.5)
    assert time.monotonic() - started < 5
    for pid in (conmon_pid, *helpers):
        gone = Path(f"/proc/{pid}")
        _wait_for(lambda: not gone.exists())  # noqa: B023 - called at once, in this turn
    assert not rig.paths.container("hung").exists()


def test_stop_a_created_container(rig: Rig) -> None:
    rig.bundle("staged", ["sleep", "100"])
    pid = rig.containers.create("staged", log_path=rig.log_path("staged"))
    started = time.monotonic()
    status = rig.containers.stop("staged", "TERM", grace=2)
    assert status.state is State.EXITED and status.exit_code is not None and status.started_at is None
    assert time.monotonic() - started < 5
    _wait_for(lambda: not Path(f"/proc/{pid}").exists())
    rig.containers.delete("staged")
    assert not rig.paths.container("staged").exists()
