"""The pull watch: a pull is reported while it runs only when it runs long.

We test these aspects:
- a quick pull passes its result through and reports nothing; the watch counts it and its time;
- a pull that runs past the threshold is reported once, from another thread, while it runs, and
  ``settle`` returns only after that report is done (so no later status write can precede it);
- a failing pull raises its own error (its status says the failure); a quick one reports nothing.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent.kube.pull_watching import PullWatch


def test_a_quick_pull_is_not_reported(tmp_path: Path) -> None:
    reports: list[str] = []
    watch = PullWatch(lambda ref, root, /, **kw: (ref, root, kw), lambda: reports.append("x"), after=0.5)
    assert watch("img", tmp_path, transport="docker", digest="sha256:ab") == (
        "img",
        tmp_path,
        {"transport": "docker", "digest": "sha256:ab", "watching": None},
    )
    time.sleep(0.7)  # past the threshold: the timer was cancelled when the pull ended
    assert watch.settle() is False and reports == []
    assert watch.pulls == 1 and 0 <= watch.seconds < 0.5


def test_a_slow_pull_is_reported_once_while_it_runs(tmp_path: Path) -> None:
    reports: list[tuple[str, bool]] = []
    pulling = threading.Event()
    report_done = threading.Event()

    def slow_puller(ref: str, root: Path, /, **kw: Any) -> str:
        pulling.set()
        time.sleep(0.6)
        reports.append(("pull ended", report_done.is_set()))
        return "record"

    def report() -> None:
        reports.append(("reported", pulling.is_set()))
        time.sleep(0.5)  # a slow status write: settle must wait for it
        report_done.set()

    watch = PullWatch(slow_puller, report, after=0.2)
    assert watch("img", tmp_path, transport="docker") == "record"
    assert watch.settle() is True and report_done.is_set()
    assert reports == [("reported", True), ("pull ended", False)]
    assert watch.seconds >= 0.6


def test_a_failing_pull_raises_its_error(tmp_path: Path) -> None:
    reports: list[str] = []

    def failing(ref: str, root: Path, /, **kw: Any) -> None:
        raise LookupError(f"{ref}: not found")

    watch = PullWatch(failing, lambda: reports.append("x"), after=0.3)
    with pytest.raises(LookupError, match="img: not found"):
        watch("img", tmp_path, transport="docker")
    time.sleep(0.4)
    assert watch.settle() is False and reports == [] and watch.pulls == 1
