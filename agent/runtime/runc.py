"""Calling runc: one place that builds its command lines and turns its failures into one line.

runc reports errors as logrus lines on stderr (``time="..." level=error msg="..."``); a user
needs only the message, prefixed with the container it concerns.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import stat
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agent.runtime import notifying
from agent.runtime.errors import ContainerNotFound, RuntimeFailure

RUNC = "/usr/sbin/runc"
_MSG = re.compile(r'msg="((?:[^"\\]|\\.)*)"')


def message(output: str) -> str:
    """The last error message of runc's (or conmon's) output, unquoted, on one line."""
    found = _MSG.findall(output)
    if found:
        text: str = json.loads(f'"{found[-1]}"') if "\\" in found[-1] else found[-1]
    else:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        text = lines[-1] if lines else "no message"
    return " ".join(text.split())


def environment() -> dict[str, str]:
    """This process's environment for runc and conmon, without ``NOTIFY_SOCKET``.

    Under a Type=notify unit, conmon would answer systemd for Berth (``berth container run`` does
    that itself), and ``runc start`` would bind a notify socket in a directory ``runc create``
    never made (conmon ran it without the variable), so the start would fail."""
    return {k: v for k, v in os.environ.items() if k != notifying.ENV}


def run(root: Path, name: str, args: Sequence[str], *, timeout: float = 30.0) -> str:
    """``runc --root ROOT ARGS``: its stdout, or RuntimeFailure naming container ``name``."""
    argv = [RUNC, "--root", str(root), *args]
    try:
        done = subprocess.run(
            argv,
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=environment(),
        )
    except subprocess.TimeoutExpired as exc:
        raise RuntimeFailure(f"container {name}: runc {args[0]} did not answer within {timeout:g} s") from exc
    except OSError as exc:
        raise RuntimeFailure(f"container {name}: cannot run {RUNC}: {exc.strerror}") from exc
    if done.returncode != 0:
        text = message(done.stderr or done.stdout)
        if "does not exist" in text or "not exist" in text:
            raise ContainerNotFound(f"container {name}: runc {args[0]}: {text}")
        raise RuntimeFailure(f"container {name}: runc {args[0]}: {text}")
    return done.stdout


def state(root: Path, name: str) -> dict[str, Any] | None:
    """runc's state of container ``name`` (status created/running/paused/stopped), None if unknown to runc."""
    try:
        out = run(root, name, ["state", name])
    except ContainerNotFound:
        return None
    value: dict[str, Any] = json.loads(out)
    return value


def exists(root: Path, name: str) -> bool:
    return (root / name / "state.json").exists()


EXEC_FIFO = "exec.fifo"


def start(root: Path, name: str, alive: Callable[[], bool], *, timeout: float = 30.0) -> None:
    """Let created container ``name`` run: what ``runc start`` does, without a runc process.

    ``runc create`` leaves runc init blocked opening ``<root>/<name>/exec.fifo`` for writing; ``runc
    start`` opens it for reading, which lets init write one byte and exec the container's process
    (closing the fifo), reads that byte and removes the fifo, after which runc reports the container
    running. Doing those three steps here saves a Go process per container, ~11 ms of CPU (half
    of ``runc create``'s own) and its spawn: with 500 containers coming up at once that was 5 s of
    a saturated machine. Berth's bundles carry no hooks and no notify socket, the only other things
    ``runc start`` handles. When the fifo is not where runc 1.0-1.2 keep it, ``runc start`` runs.
    ``alive`` says whether the container's init still lives: one that died before it took the byte
    fails as runc fails it.
    """
    fifo = root / name / EXEC_FIFO
    try:
        mode = os.lstat(fifo).st_mode
    except FileNotFoundError:
        mode = 0
    if not stat.S_ISFIFO(mode):
        run(root, name, ["start", name], timeout=timeout)
        return
    try:
        # non-blocking: an open for reading must not wait for a writer that may be dead
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            data = _read_exec_fifo(name, fd, alive, timeout)
        finally:
            os.close(fd)
        if not data:
            raise RuntimeFailure(f"container {name}: runc start: {_why_nothing(alive)}")
        os.unlink(fifo)
    except OSError as exc:  # removed meanwhile (a runc delete from outside Berth)
        raise RuntimeFailure(f"container {name}: runc start: {fifo}: {exc.strerror}") from None


def _why_nothing(alive: Callable[[], bool]) -> str:
    """The fifo closed with nothing in it: init died after our open woke its own (a SIGKILL
    racing the start; it is a zombie within moments), or another start took the byte first."""
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        if not alive():
            return "container process is already dead"
        time.sleep(0.02)
    return "cannot start an already running container"


def _read_exec_fifo(name: str, fd: int, alive: Callable[[], bool], timeout: float) -> bytes:
    """The fifo's content once init closed it (at its exec), or what was there when it died
    (nothing, unless it ran and exited between two looks).

    POLLHUP comes only after a writer came and went: with init still blocked in its open, the
    poll times out and init's liveness is checked, every 100 ms as runc checks it."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + timeout
    data = b""
    while True:
        if poller.poll(100):
            try:
                chunk = os.read(fd, 64)
            except BlockingIOError:
                continue
            if chunk:
                data += chunk
                continue
            return data  # end of file: init exec'd the container's process
        if not alive():
            with contextlib.suppress(BlockingIOError):
                data += os.read(fd, 64)  # it may have run and exited between two looks
            return data  # nothing: the caller says it died
        if time.monotonic() > deadline:
            raise RuntimeFailure(f"container {name}: runc start did not finish within {timeout:g} s")
