"""Running a command in a running container (``runc exec``): interactively, or captured for checks.

The process joins the container's namespaces and cgroup and inherits its spec (environment,
capabilities, no-new-privileges, seccomp, rlimits); ``env`` adds to the container's environment,
``user`` and ``cwd`` replace its own. runc's exit status is the command's (128+N when a signal N
ended it); runc's own failures (no such executable, a stopped container) are told apart through
its JSON log, so a command that exits 255 is not mistaken for one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.runtime import rootpaths, runc
from agent.runtime.containers import Containers
from agent.runtime.errors import ContainerStateError, RuntimeFailure
from agent.runtime.statuses import State

OUTPUT_LIMIT = 4096
"""Bytes of a captured command's output kept (docker keeps 4 KiB of a health check's output)."""


@dataclass(frozen=True)
class Captured:
    exit_code: int | None
    """None when the command was killed at the timeout."""
    output: bytes
    """stdout and stderr interleaved, the last OUTPUT_LIMIT bytes."""
    timed_out: bool = False


def _entries(root: Path, path: str) -> list[list[str]]:
    data = rootpaths.read_file(root, path)
    if data is None:
        return []
    text = data.decode(errors="replace")
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def _find(root: Path, path: str, column: int, key: str, width: int) -> list[str] | None:
    return next((e for e in _entries(root, path) if len(e) >= width and e[column] == key), None)


def resolve_user(name: str, root: Path, user: str) -> str:
    """``user[:group]`` with names looked up in the container's /etc/passwd and /etc/group -> ``uid:gid``.

    ``root`` is the container's root as its process sees it (``/proc/PID/root``: the overlay is
    mounted only in the container's namespace), and the files are read through
    :mod:`agent.runtime.rootpaths`, so an image's symlink cannot point the lookup at a host file.
    A user without a group gets its primary group from /etc/passwd (0 when it has no entry), as
    docker does.
    """
    who, _, group = user.partition(":")
    entry = _find(root, "/etc/passwd", 2 if who.isdigit() else 0, who, 4)
    if who.isdigit():
        uid = who
    elif entry is None:
        raise RuntimeFailure(f"container {name}: no user {who!r} in the container's /etc/passwd")
    else:
        uid = entry[2]
    if not group:
        gid = entry[3] if entry else "0"
    elif group.isdigit():
        gid = group
    else:
        found = _find(root, "/etc/group", 0, group, 3)
        if found is None:
            raise RuntimeFailure(f"container {name}: no group {group!r} in the container's /etc/group")
        gid = found[2]
    return f"{uid}:{gid}"


def _environment(env: Mapping[str, str] | Sequence[str] | None) -> list[tuple[str, str]]:
    """``{K: V}`` or ``["K=V", "K"]``; a bare ``K`` takes this process's value, or is left out (docker's -e)."""
    if env is None:
        return []
    if isinstance(env, Mapping):
        return list(env.items())
    pairs: list[tuple[str, str]] = []
    for item in env:
        key, sep, value = item.partition("=")
        if not sep:
            if key not in os.environ:
                continue
            value = os.environ[key]
        pairs.append((key, value))
    return pairs


class Exec:
    """``runc exec`` into the containers of one store."""

    def __init__(self, containers: Containers) -> None:
        self.containers = containers

    def _argv(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | Sequence[str] | None,
        user: str | None,
        cwd: str | None,
        tty: bool,
        log: Path,
        pid_file: Path | None = None,
    ) -> list[str]:
        status = self.containers.state(name)
        if status.state is not State.RUNNING:
            raise ContainerStateError(f"container {name}: is {status.state.value}, exec needs it running")
        if not argv:
            raise RuntimeFailure(f"container {name}: exec needs a command")
        args = [
            runc.RUNC,
            "--root",
            str(self.containers.paths.runc_root),
            "--log",
            str(log),
            "--log-format",
            "json",
        ]
        args.append("exec")
        if tty:
            args.append("--tty")
        if pid_file is not None:
            args += ["--pid-file", str(pid_file)]
        for key, value in _environment(env):
            if not key or "=" in key:
                raise RuntimeFailure(f"container {name}: exec environment variable {key!r} has no valid name")
            args += ["--env", f"{key}={value}"]
        if user:
            args += ["--user", resolve_user(name, Path(f"/proc/{status.pid}/root"), user)]
        if cwd:
            args += ["--cwd", cwd]
        return [*args, name, *argv]

    def _failure(self, name: str, log: Path) -> str | None:
        """runc's own error from its JSON log, if it failed (rather than the command)."""
        try:
            text = log.read_text(errors="replace")
        except OSError:
            return None
        for line in reversed(text.splitlines()):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("level") in ("error", "fatal"):
                return " ".join(str(entry.get("msg", "")).split())
        return None

    def run(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | Sequence[str] | None = None,
        user: str | None = None,
        cwd: str | None = None,
        tty: bool = False,
        interactive: bool = False,
    ) -> int:
        """Run ``argv`` in the container with this process's stdio; its exit code.

        ``tty`` gives the command a real terminal (runc makes a pty and copies to ours, which must
        be a terminal); without ``interactive`` its stdin is /dev/null.
        """
        if tty and not any(os.isatty(fd) for fd in (0, 1, 2)):
            raise RuntimeFailure(
                f"container {name}: exec -t needs a terminal, and none of stdin/stdout/stderr is one"
            )
        with tempfile.TemporaryDirectory(prefix="exec-", dir=self._scratch(name)) as scratch:
            log = Path(scratch) / "runc.log"
            args = self._argv(name, argv, env=env, user=user, cwd=cwd, tty=tty, log=log)
            stdin = None if interactive else subprocess.DEVNULL
            try:
                proc = subprocess.Popen(args, stdin=stdin)
            except OSError as exc:
                raise RuntimeFailure(f"container {name}: cannot run {runc.RUNC}: {exc.strerror}") from exc
            while True:
                try:
                    code = proc.wait()
                    break
                except KeyboardInterrupt:  # the terminal sent ^C to runc as well, which passes it on
                    continue
            failure = self._failure(name, log)
        if failure is not None:
            raise RuntimeFailure(f"container {name}: exec {argv[0]}: {failure}")
        return code

    def captured(
        self,
        name: str,
        argv: Sequence[str],
        *,
        timeout: float,
        env: Mapping[str, str] | Sequence[str] | None = None,
        user: str | None = None,
        cwd: str | None = None,
    ) -> Captured:
        """Run ``argv`` with its output captured; at ``timeout`` the command is killed (health checks)."""
        with tempfile.TemporaryDirectory(prefix="exec-", dir=self._scratch(name)) as scratch:
            log = Path(scratch) / "runc.log"
            pid_file = Path(scratch) / "pid"
            args = self._argv(name, argv, env=env, user=user, cwd=cwd, tty=False, log=log, pid_file=pid_file)
            try:
                proc = subprocess.Popen(
                    args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
                )
            except OSError as exc:
                raise RuntimeFailure(f"container {name}: cannot run {runc.RUNC}: {exc.strerror}") from exc
            try:
                output, _ = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self._kill_exec(pid_file)
                try:
                    output, _ = proc.communicate(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    output, _ = proc.communicate()
                return Captured(None, output[-OUTPUT_LIMIT:], timed_out=True)
            failure = self._failure(name, log)
        if failure is not None:
            raise RuntimeFailure(f"container {name}: exec {argv[0]}: {failure}")
        return Captured(proc.returncode, output[-OUTPUT_LIMIT:])

    def _kill_exec(self, pid_file: Path) -> None:
        try:
            pid = int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)

    def _scratch(self, name: str) -> Path:
        """runc's log and pid file for one exec live in the container's run directory (tmpfs)."""
        directory = self.containers.dir(name) / "exec"
        directory.mkdir(parents=True, exist_ok=True)
        return directory
