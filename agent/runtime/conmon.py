"""Starting conmon, the per-container monitor podman and CRI-O use, to drive runc for Berth.

conmon (Debian's 2.1.6) holds the container's stdio, writes its output to a k8s-file log
(rotated at ``--log-size-max``: it renames a fresh empty file over the log and keeps no old one),
waits for the container, writes its exit code to ``<exit dir>/<id>`` and then runs the exit
command (also after a failed ``runc create``). It daemonizes at once: the caller learns the
container's pid, or runc's error, from the sync pipe (``_OCI_SYNCPIPE``), one JSON object
``{"data": PID}`` or ``{"data": -1, "message": "..."}``. The container is then *created*; runc
start runs it.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.runtime import runc
from agent.runtime.errors import RuntimeFailure

CONMON = "/usr/bin/conmon"


@dataclass(frozen=True)
class Launch:
    """Everything conmon needs for one container."""

    name: str
    bundle: Path
    runc_root: Path
    pid_file: Path
    conmon_pid_file: Path
    exit_dir: Path
    socket_dir: Path
    persist_dir: Path
    log_path: Path
    log_size_max: int | None = None
    exit_command: Sequence[str] | None = None
    tty: bool = False
    stdin: bool = False

    def argv(self) -> list[str]:
        argv = [
            CONMON,
            "--api-version", "1",
            "-c", self.name,
            "-u", self.name,
            "-n", self.name,
            "-r", runc.RUNC,
            "-b", str(self.bundle),
            "-p", str(self.pid_file),
            "-P", str(self.conmon_pid_file),
            "--exit-dir", str(self.exit_dir),
            "--socket-dir-path", str(self.socket_dir),
            "-0", str(self.persist_dir),
            "-l", f"k8s-file:{self.log_path}",
            "--runtime-arg", f"--root={self.runc_root}",
        ]  # fmt: skip
        if self.log_size_max is not None and self.log_size_max > 0:
            argv += ["--log-size-max", str(self.log_size_max)]
        if self.exit_command:
            argv += ["--exit-command", self.exit_command[0]]
            for arg in self.exit_command[1:]:
                argv += ["--exit-command-arg", arg]
        if self.tty:
            argv.append("-t")
        if self.stdin:
            argv += ["-i", "--leave-stdin-open"]
        return argv


def launch(spec: Launch, *, timeout: float = 30.0) -> int:
    """Run conmon for ``spec`` and wait until runc created the container: return its pid."""
    for directory in (spec.exit_dir, spec.socket_dir, spec.persist_dir, spec.log_path.parent):
        directory.mkdir(parents=True, exist_ok=True)
    read_end, write_end = os.pipe()
    env = runc.environment()
    env["_OCI_SYNCPIPE"] = str(write_end)
    try:
        try:
            proc = subprocess.Popen(
                spec.argv(),
                pass_fds=(write_end,),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,
                cwd=spec.bundle,  # conmon writes an `oom` file into its working directory, as podman expects
            )
        except OSError as exc:
            raise RuntimeFailure(f"container {spec.name}: cannot run {CONMON}: {exc.strerror}") from exc
        os.close(write_end)
        write_end = -1
        _out, err = proc.communicate(timeout=timeout)  # conmon's first process exits once it daemonized
        if proc.returncode != 0:
            text = runc.message(err.decode(errors="replace"))
            raise RuntimeFailure(f"container {spec.name}: conmon failed (exit {proc.returncode}): {text}")
        return _read_sync(spec.name, read_end, timeout)
    finally:
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


def _read_sync(name: str, fd: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise RuntimeFailure(f"container {name}: runc create did not finish within {timeout:g} s")
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if chunk:
            data += chunk
            try:
                answer = json.loads(data.split(b"\n", 1)[0])
            except ValueError:
                continue
            break
        if not data:
            raise RuntimeFailure(f"container {name}: conmon exited without creating the container")
        raise RuntimeFailure(f"container {name}: conmon sent an unreadable answer: {data[:200]!r}")
    pid = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(pid, int) or pid <= 0:
        text = runc.message(str(answer.get("message", ""))) if isinstance(answer, dict) else repr(answer)
        raise RuntimeFailure(f"container {name}: {text}")
    return pid
