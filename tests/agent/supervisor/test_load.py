"""The supervisor with 50 containers, as its own process: memory stays bounded, SIGTERM ends it.

We test these aspects:
- 50 targets, each a real sleeping process in its own network namespace, each with an exec
  liveness probe and a TCP readiness probe entered through setns, all checked every second:
  every record shows liveness healthy and readiness false with "Network is unreachable" (the
  namespace's loopback is down, the host's is up: the socket was made inside);
- the agent's peak RSS (VmHWM) stays under 60 MiB while doing so, with /metrics scraped;
- SIGTERM makes it exit 0 promptly and close its port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.runtime import health
from tests.support.paths import ROOT

COUNT = 50
RSS_LIMIT_KIB = 60 * 1024


@pytest.fixture
def sleepers() -> Iterator[list[int]]:
    procs = [subprocess.Popen(["unshare", "--net", "sleep", "300"]) for _ in range(COUNT)]
    try:
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def _settled(records: Path) -> bool:
    for i in range(COUNT):
        rec = health.read_record(records / f"c{i:02d}.json")
        if rec is None or rec.get("status") != "healthy" or rec.get("ready") is not False:
            return False
        readiness = rec["probes"]["readiness"]
        # the namespace's loopback is down: only a socket made inside it gets "unreachable"
        if readiness["checks"] < 1 or "Network is unreachable" not in readiness["log"][-1]["output"]:
            return False
    return True


@pytest.mark.slow
def test_fifty_containers_stay_under_60_mib(sleepers: list[int], tmp_path: Path) -> None:
    records = tmp_path / "records"
    agent = subprocess.Popen(
        [sys.executable, "-m", "tests.agent.supervisor.loadrun", str(records), *map(str, sleepers)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    started = time.monotonic()
    try:
        assert agent.stdout is not None
        line = agent.stdout.readline()
        assert line.startswith("port "), line
        port = int(line.split()[1])
        deadline = time.monotonic() + 60
        while not _settled(records):
            assert agent.poll() is None, "the agent exited"
            assert time.monotonic() < deadline, "records did not settle"
            time.sleep(0.5)
        for _ in range(3):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
                text = answer.read().decode()
            time.sleep(1)
        assert f"berth_supervisor_containers {float(COUNT)}" in text
        assert text.count("berth_container_ready{") == COUNT
        hwm, rss = _status_kib(agent.pid, "VmHWM"), _status_kib(agent.pid, "VmRSS")
        fields = Path(f"/proc/{agent.pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        print(
            f"\nagent with {COUNT} containers ({2 * COUNT} probes/s): VmRSS {rss / 1024:.1f} MiB, "
            f"VmHWM {hwm / 1024:.1f} MiB, CPU {cpu:.2f} s over {time.monotonic() - started:.1f} s"
        )
        assert hwm < RSS_LIMIT_KIB, f"peak RSS {hwm} KiB"
        began = time.monotonic()
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=15) == 0
        print(f"SIGTERM to exit: {time.monotonic() - began:.2f} s")
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    finally:
        if agent.poll() is None:
            agent.kill()
        agent.wait()
        if agent.stdout is not None:
            agent.stdout.close()
