"""Reading conmon's k8s-file logs.

We test these aspects:
- the format: partial (P) pieces joined per stream, streams kept apart, timestamps on and off;
- --tail, --since and --until with RFC 3339 times, Unix seconds and durations; bad values are errors;
- for real: a container's stdout and stderr land on our stdout and stderr;
- follow reads across conmon's size rotation (which replaces the file) without losing a line;
- follow goes on across a restart of the container (a new conmon appends to the same file).
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

from agent.runtime import logs
from agent.runtime.logs import LogError, LogLine
from tests.agent.runtime.conftest import Rig

SAMPLE = (
    b"2024-05-01T10:00:00.000000001+00:00 stdout F first\n"
    b"2024-05-01T10:00:01.5+00:00 stderr P par\n"
    b"2024-05-01T10:00:01.6+00:00 stdout F second\n"
    b"2024-05-01T10:00:01.7+00:00 stderr F tial\n"
    b"2024-05-01T12:00:02+02:00 stdout F \n"
    b"2024-05-01T10:00:03.123456789Z stdout F third has  spaces\n"
    b"2024-05-01T10:00:04+00:00 stdout P unfinished"
)


def _sample(tmp_path: Path) -> Path:
    path = tmp_path / "ctr.log"
    path.write_bytes(SAMPLE + b"\n")
    return path


def test_format(tmp_path: Path) -> None:
    lines = logs.read(_sample(tmp_path))
    assert [(line.stream, line.data, line.complete) for line in lines] == [
        ("stdout", b"first", True),
        ("stdout", b"second", True),
        ("stderr", b"partial", True),
        ("stdout", b"", True),
        ("stdout", b"third has  spaces", True),
        ("stdout", b"unfinished", False),
    ]
    assert lines[2].timestamp == "2024-05-01T10:00:01.500000000Z"  # a joined line has its first piece's time
    assert lines[3].timestamp == "2024-05-01T10:00:02.000000000Z"
    out, err = io.BytesIO(), io.BytesIO()
    logs.write(lines, out, err, timestamps=False)
    assert out.getvalue() == b"first\nsecond\n\nthird has  spaces\nunfinished"
    assert err.getvalue() == b"partial\n"
    out = io.BytesIO()
    logs.write(lines[:1], out, err, timestamps=True)
    assert out.getvalue() == b"2024-05-01T10:00:00.000000001Z first\n"


def test_filters(tmp_path: Path) -> None:
    path = _sample(tmp_path)

    def data(lines: list[LogLine]) -> list[bytes]:
        return [line.data for line in lines]

    assert data(logs.read(path, tail=2)) == [b"third has  spaces", b"unfinished"]
    assert data(logs.read(path, tail=0)) == []
    since = logs.parse_time("2024-05-01T10:00:01.55Z")
    until = logs.parse_time("2024-05-01T12:00:02+02:00", option="--until")
    assert data(logs.read(path, since=since, until=until)) == [b"second", b""]
    assert logs.parse_time("1714557600.5") == 1714557600_500000000
    assert logs.parse_time("2024-05-01") == logs.parse_time("2024-05-01T00:00:00Z")
    now = 1714557600 * logs.NS
    assert logs.parse_time("10m", now_ns=now) == now - 600 * logs.NS
    assert logs.parse_time("1h30m", now_ns=now) == now - 5400 * logs.NS
    with pytest.raises(LogError, match="--until 'yesterday': expected an RFC 3339 time"):
        logs.parse_time("yesterday", option="--until")
    broken = tmp_path / "broken.log"
    broken.write_bytes(b"not a log line\n")
    with pytest.raises(LogError, match=r"broken\.log: not a k8s-file log line"):
        logs.read(broken)
    assert logs.read(tmp_path / "missing.log") == []


def test_streams_of_a_real_container(rig: Rig) -> None:
    rig.bundle("talk", ["sh", "-c", "echo to-out; echo to-err >&2; printf 'no newline'"])
    rig.containers.create("talk", log_path=rig.log_path("talk"))
    rig.containers.start("talk")
    assert rig.containers.wait("talk", 10).exit_code == 0
    out, err = io.BytesIO(), io.BytesIO()
    logs.write(logs.read(rig.log_path("talk")), out, err)
    assert out.getvalue() == b"to-out\nno newline"
    assert err.getvalue() == b"to-err\n"


def _collect(path: Path, stop: threading.Event, into: list[LogLine]) -> threading.Thread:
    def run() -> None:
        into.extend(logs.follow(path, done=stop.is_set, poll=0.02))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_follow_across_rotation(rig: Rig) -> None:
    script = "i=0; while [ $i -lt 60 ]; do echo line-$i; i=$((i+1)); usleep 30000; done"
    rig.bundle("chatty", ["sh", "-c", script])
    seen: list[LogLine] = []
    stop = threading.Event()
    follower = _collect(rig.log_path("chatty"), stop, seen)
    inodes: set[int] = set()
    rig.containers.create("chatty", log_path=rig.log_path("chatty"), log_size_max=500)
    rig.containers.start("chatty")
    while rig.containers.state("chatty").alive:
        if rig.log_path("chatty").exists():
            inodes.add(rig.log_path("chatty").stat().st_ino)
        time.sleep(0.01)
    stop.set()
    follower.join(10)
    assert len(inodes) >= 3, "conmon rotated the log (a new file each time)"
    remaining = logs.read(rig.log_path("chatty"))
    assert len(remaining) < 60 and remaining[-1].data == b"line-59", "the current file holds only the end"
    assert [line.data for line in seen] == [f"line-{i}".encode() for i in range(60)]


def test_follow_across_restart(rig: Rig) -> None:
    rig.bundle("phoenix", ["sh", "-c", "echo run-$(cat /n 2>/dev/null || echo 0); echo 1 > /n"])
    seen: list[LogLine] = []
    stop = threading.Event()
    follower = _collect(rig.log_path("phoenix"), stop, seen)
    for _ in range(2):
        rig.containers.create("phoenix", log_path=rig.log_path("phoenix"))
        rig.containers.start("phoenix")
        assert rig.containers.wait("phoenix", 10).exit_code == 0
        time.sleep(0.1)
    stop.set()
    follower.join(10)
    assert [line.data for line in seen] == [b"run-0", b"run-1"]


def test_follow_tail_and_until(tmp_path: Path) -> None:
    path = _sample(tmp_path)
    until = logs.parse_time("2024-05-01T10:00:02Z")
    got = list(logs.follow(path, tail=4, until=until, done=lambda: False))
    assert [line.data for line in got] == [b"second", b"partial", b""]
