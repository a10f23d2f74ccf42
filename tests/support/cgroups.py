"""Scratch cgroups (v1, one directory per controller) for tests, with processes started inside."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator

import pytest

from agent.runtime.metrics import Mounts


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "blkio")


class ScratchCgroup:
    """A v1 cgroup of the same name in each controller, and processes started inside it."""

    def __init__(self, name: str, mounts: Mounts) -> None:
        self.name = name
        self.dirs = {c: mounts.v1[c][0] / name for c in CONTROLLERS}
        for d in self.dirs.values():
            d.mkdir()
        self.procs: list[subprocess.Popen[bytes]] = []

    def set(self, controller: str, file: str, value: str) -> None:
        (self.dirs[controller] / file).write_text(value)

    def start(self, *argv: str) -> subprocess.Popen[bytes]:
        joins = " ".join(f"{d}/cgroup.procs" for d in self.dirs.values())
        script = f'for f in {joins}; do echo $$ > "$f"; done; exec "$@"'
        proc = subprocess.Popen(["sh", "-c", script, "sh", *argv], stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        last = self.dirs[CONTROLLERS[-1]] / "cgroup.procs"
        wait_for(lambda: str(proc.pid) in last.read_text().split() or proc.poll() is not None)
        return proc

    def add(self, pid: int) -> None:
        """Move a running process in (its later children follow)."""
        for d in self.dirs.values():
            (d / "cgroup.procs").write_text(str(pid))

    @property
    def path(self) -> str:
        """The cgroup's path, as runc's cgroupsPath names it."""
        return "/" + self.name

    def pids(self) -> list[int]:
        return [int(p) for p in (self.dirs["pids"] / "cgroup.procs").read_text().split()]

    def destroy(self) -> None:
        for _ in range(100):
            left: set[int] = set()
            for d in self.dirs.values():
                with contextlib.suppress(OSError):
                    left.update(int(p) for p in (d / "cgroup.procs").read_text().split())
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            for proc in self.procs:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
            if not left:
                break
            time.sleep(0.05)
        for d in self.dirs.values():
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def scratch_cgroup(purpose: str) -> Iterator[ScratchCgroup]:
    """For a fixture: a fresh cgroup, destroyed with its processes afterwards."""
    mounts = Mounts.read()
    if mounts.version != 1:
        pytest.fail("these tests expect this project's cgroup v1 hybrid host")
    cg = ScratchCgroup(f"berth-test-{purpose}-{os.getpid()}-{secrets.token_hex(3)}", mounts)
    try:
        yield cg
    finally:
        cg.destroy()
