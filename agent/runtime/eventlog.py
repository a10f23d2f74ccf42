"""The store's container events: an append-only log of JSON lines that ``compose events`` follows.

Berth has no daemon to stream events from, so whoever changes a container writes the event: the
Engine at create, start, kill, stop and destroy, the exit path (conmon's exit command) at die and
at a restart by policy, and health checks at ``health_status: healthy|unhealthy``. Each event is
one line appended with a single ``write`` under an exclusive ``flock`` (several processes write:
the CLI, exit commands, the supervisor), so lines never interleave. The log lives in the store's
run directory (tmpfs: like docker's, events do not outlive the host's uptime) and is bounded: past
:data:`MAX_BYTES` it is renamed to ``events.jsonl.1`` (the one older file kept) and a new one
begun. Readers follow the file by name, so they move on to the new file after a rotation.

A line: ``{"time": 1700000000.123456, "action": "die", "name": "p-web-1", "id": ..., "image": ...,
"owner": {"kind": "compose", "project": "p", "service": "web"}, "attributes": {"exitCode": "0"}}``.
Nothing secret is written: no environment, no command line, no file contents.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

FILE = "events.jsonl"
MAX_BYTES = 1024 * 1024
"""Size past which the log is rotated (one rotated file is kept: at most twice this on tmpfs)."""


def path_in(run_dir: Path) -> Path:
    """The event log of the store whose run directory is ``run_dir``."""
    return run_dir / FILE


def _open_locked(path: Path) -> int:
    """The log opened for appending under an exclusive lock; reopened when another writer
    rotated it while this one waited (its lines must go to the file readers follow)."""
    while True:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def append(path: Path, record: dict[str, Any], *, max_bytes: int = MAX_BYTES) -> None:
    """Append one event (``time`` added when missing); rotates the log when it is full."""
    record.setdefault("time", time.time())
    line = (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _open_locked(path)
    try:
        if os.fstat(fd).st_size + len(line) > max_bytes:
            os.replace(path, path.with_name(path.name + ".1"))  # readers holding it finish it
            os.close(fd)
            fd = _open_locked(path)
        os.write(fd, line)
    finally:
        os.close(fd)  # closing releases the lock


def _records(data: bytes) -> Iterator[dict[str, Any]]:
    for raw in data.splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(raw)
            if isinstance(record, dict):
                yield record


def history(path: Path, since: float | None = None) -> Iterator[dict[str, Any]]:
    """Events already in the log (the rotated file first), from ``since`` on."""
    for candidate in (path.with_name(path.name + ".1"), path):
        with contextlib.suppress(FileNotFoundError):
            for record in _records(candidate.read_bytes()):
                if since is None or float(record.get("time", 0)) >= since:
                    yield record


def _skipped(path: Path, inode: int | None) -> bytes:
    """The rotated file, when it is not the one just finished: the log turned twice between two
    polls (a reader as slow as a whole file is lost lines beyond that one)."""
    rotated = path.with_name(path.name + ".1")
    try:
        with open(rotated, "rb") as older:
            return b"" if os.fstat(older.fileno()).st_ino == inode else older.read()
    except FileNotFoundError:
        return b""


def recent(path: Path, nbytes: int = 64 * 1024) -> list[dict[str, Any]]:
    """The last events of the current file (its last ``nbytes``), oldest first: cheap enough to
    ask before writing an event that must not repeat."""
    try:
        with open(path, "rb") as log:
            size = os.fstat(log.fileno()).st_size
            log.seek(max(0, size - nbytes))
            data = log.read()
    except FileNotFoundError:
        return []
    if size > nbytes:
        data = data.partition(b"\n")[2]  # the first line read may be cut
    return list(_records(data))


def follow(
    path: Path,
    *,
    since: float | None = None,
    done: Callable[[], bool] = lambda: False,
    poll: float = 0.1,
) -> Iterator[dict[str, Any]]:
    """Events as they are written (``tail -F``): with ``since``, the log's earlier events from that
    time first; then new ones until ``done()`` says to stop, across rotations."""
    handle = None
    inode = None
    pending = b""
    if since is not None:
        yield from history(path, since)
    with contextlib.suppress(FileNotFoundError):
        handle = open(path, "rb")  # noqa: SIM115 - kept open across iterations, closed below
        handle.seek(0, os.SEEK_END)
        inode = os.fstat(handle.fileno()).st_ino
    try:
        while True:
            if handle is not None:
                chunk = handle.read()
                if chunk:
                    pending += chunk
                    complete, _, pending = pending.rpartition(b"\n")
                    yield from _records(complete)
                    continue
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current is not None and current != inode:  # rotated (or first created): read the new file
                if handle is not None:
                    pending += handle.read()
                    handle.close()
                    pending += _skipped(path, inode)
                yield from _records(pending)
                pending = b""
                handle = open(path, "rb")  # noqa: SIM115
                inode = os.fstat(handle.fileno()).st_ino  # the file opened, rotated again or not
                continue
            if done():
                return
            time.sleep(poll)
    finally:
        if handle is not None:
            handle.close()
