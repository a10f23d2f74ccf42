"""Reading a container's log as conmon writes it: the k8s-file format, rotation, and following.

Each line of the file is ``<RFC 3339 time, ns> <stdout|stderr> <F|P> <bytes>``: ``F`` ends a line
of the container's output, ``P`` is a piece of a longer one (conmon flushes what it has), joined
here with the pieces that follow it on the same stream.

Rotation, as conmon 2.1.6 does it with ``--log-size-max``: when the next write would pass the
limit, it opens ``<log>.tmp`` truncated, renames it over the log and goes on in the fresh file.
No old file is kept (conmon has no option for that), so ``logs`` shows what the current file
holds; ``follow`` notices the new inode, drains the old file it still has open, and continues in
the new one. A restart of the container starts a new conmon that appends to the same file (its
size counter starts again from zero), so following simply goes on.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from translators.errors import BerthError

NS = 1_000_000_000
_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})$"
)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_UNIT_NS = {
    "ns": 1,
    "us": 1000,
    "µs": 1000,
    "ms": 1_000_000,
    "s": NS,
    "m": 60 * NS,
    "h": 3600 * NS,
    "d": 86400 * NS,
}


class LogError(BerthError):
    """A log file or a time filter that cannot be read."""


@dataclass(frozen=True)
class LogLine:
    """One line of a container's output (partial pieces already joined)."""

    time_ns: int
    """When conmon read the line's first piece, in ns since the epoch."""
    stream: str
    """"stdout" or "stderr"."""
    data: bytes
    """The line without its newline."""
    complete: bool = True
    """False for a last piece the container has not finished yet (no newline so far)."""

    @property
    def timestamp(self) -> str:
        """RFC 3339 with nanoseconds in UTC, as ``docker logs --timestamps`` prints it."""
        seconds, nanos = divmod(self.time_ns, NS)
        day = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{day}.{nanos:09d}Z"

    def render(self, *, timestamps: bool = False) -> bytes:
        prefix = self.timestamp.encode() + b" " if timestamps else b""
        return prefix + self.data + (b"\n" if self.complete else b"")


def parse_rfc3339_ns(text: str) -> int:
    """RFC 3339 time with up to nanoseconds -> ns since the epoch; ValueError otherwise."""
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(text)
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    fraction = (m.group(7) or "").ljust(9, "0")
    zone = m.group(8)
    base = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    offset = 0
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return (int(base.timestamp()) - offset) * NS + int(fraction)


def parse_time(text: str, *, now_ns: int | None = None, option: str = "--since") -> int:
    """A ``--since``/``--until`` value -> ns since the epoch.

    Accepted as docker accepts them: RFC 3339 (``2024-05-01T10:00:00Z``, fractions, offsets), a
    date alone, Unix seconds (``1714557600.5``), or a duration back from now (``10m``, ``1h30m``).
    """
    value = text.strip()
    now = time.time_ns() if now_ns is None else now_ns
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00Z"
    try:
        return parse_rfc3339_ns(value)
    except ValueError:
        pass
    if re.fullmatch(r"\d+(\.\d{1,9})?", value):
        whole, _, fraction = value.partition(".")
        return int(whole) * NS + int(fraction.ljust(9, "0") or 0)
    if value and _DURATION.sub("", value) == "":
        total = sum(int(float(n) * _UNIT_NS[u]) for n, u in _DURATION.findall(value))
        return now - total
    raise LogError(
        f"{option} {text!r}: expected an RFC 3339 time (2024-05-01T10:00:00Z), Unix seconds or a duration (10m)"
    )


class Parser:
    """Turns raw k8s-file lines into LogLines, joining ``P`` pieces per stream (across files too)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: dict[str, tuple[int, bytearray]] = {}

    def feed(self, raw: bytes) -> LogLine | None:
        line = raw.rstrip(b"\n")
        if not line:
            return None
        parts = line.split(b" ", 3)
        if len(parts) < 3 or parts[1] not in (b"stdout", b"stderr") or parts[2] not in (b"F", b"P"):
            raise LogError(f"{self.path}: not a k8s-file log line: {line[:80]!r}")
        try:
            when = parse_rfc3339_ns(parts[0].decode())
        except (ValueError, UnicodeDecodeError):
            raise LogError(f"{self.path}: bad time in log line: {line[:80]!r}") from None
        stream = parts[1].decode()
        data = parts[3] if len(parts) == 4 else b""
        if parts[2] == b"P":
            started, buffer = self._pending.setdefault(stream, (when, bytearray()))
            buffer += data
            return None
        if stream in self._pending:
            started, buffer = self._pending.pop(stream)
            return LogLine(started, stream, bytes(buffer) + data)
        return LogLine(when, stream, data)

    def flush(self) -> list[LogLine]:
        """The pieces still waiting for their end, as incomplete lines."""
        pending = [LogLine(t, s, bytes(b), complete=False) for s, (t, b) in self._pending.items()]
        self._pending.clear()
        return sorted(pending, key=lambda line: line.time_ns)


def _lines(handle: BinaryIO, parser: Parser) -> Iterator[LogLine]:
    while True:
        raw = handle.readline()
        if not raw:
            return
        if not raw.endswith(b"\n"):  # conmon is writing this line right now: leave it for later
            handle.seek(-len(raw), os.SEEK_CUR)
            return
        line = parser.feed(raw)
        if line is not None:
            yield line


def _select(lines: Iterable[LogLine], since: int | None, until: int | None) -> Iterator[LogLine]:
    for line in lines:
        if since is not None and line.time_ns < since:
            continue
        if until is not None and line.time_ns > until:
            continue
        yield line


def read(
    path: Path, *, tail: int | None = None, since: int | None = None, until: int | None = None
) -> list[LogLine]:
    """The lines of the log file (none when there is no file yet), filtered by time, the last ``tail``."""
    parser = Parser(path)
    kept: deque[LogLine] = deque(maxlen=max(tail, 0) if tail is not None else None)
    try:
        with open(path, "rb") as handle:
            kept.extend(_select(_lines(handle, parser), since, until))
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise LogError(f"{path}: cannot read the log: {exc.strerror}") from exc
    kept.extend(_select(parser.flush(), since, until))
    return list(kept)


def follow(
    path: Path,
    *,
    tail: int | None = None,
    since: int | None = None,
    until: int | None = None,
    done: Callable[[], bool] = lambda: False,
    poll: float = 0.05,
) -> Iterator[LogLine]:
    """The log's lines, then new ones as they come, across rotations and restarts.

    Ends when ``done()`` says so (the container exited and will not be restarted) after a last
    read, or at the first line past ``until``.
    """
    parser = Parser(path)
    handle: BinaryIO | None = None
    first = True
    try:
        while True:
            if handle is None:
                try:
                    handle = open(path, "rb")  # noqa: SIM115 - kept open across loop turns
                except FileNotFoundError:
                    handle = None
            finished = done()  # asked before reading: what was written before it ended is read
            if handle is not None:
                batch = list(_lines(handle, parser))
                if first:
                    first = False
                    selected = list(_select(batch, since, None))
                    batch = (
                        selected[-tail:] if tail is not None and tail > 0 else ([] if tail == 0 else selected)
                    )
                else:
                    batch = list(_select(batch, since, None))
                for line in batch:
                    if until is not None and line.time_ns > until:
                        return
                    yield line
                if _replaced(path, handle):
                    batch = list(_select(_lines(handle, parser), since, None))  # the rest of the old file
                    for line in batch:
                        if until is not None and line.time_ns > until:
                            return
                        yield line
                    handle.close()
                    handle = None
                    continue
            if finished:
                for line in _select(parser.flush(), since, until):
                    yield line
                return
            time.sleep(poll)
    finally:
        if handle is not None:
            handle.close()


def _replaced(path: Path, handle: BinaryIO) -> bool:
    """conmon renamed a fresh file over the log (rotation), or someone truncated it."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(handle.fileno())
    if now.st_ino != mine.st_ino or now.st_dev != mine.st_dev:
        return True
    if now.st_size < handle.tell():
        handle.seek(0)
    return False


def write(lines: Iterable[LogLine], stdout: BinaryIO, stderr: BinaryIO, *, timestamps: bool = False) -> None:
    """Print each line to the stream it came from, flushing so a follower sees it at once."""
    for line in lines:
        out = stderr if line.stream == "stderr" else stdout
        out.write(line.render(timestamps=timestamps))
        out.flush()
