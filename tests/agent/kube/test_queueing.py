"""The agent's work queue.

We test these aspects:
- a key added many times is handed out once; a key changed while a worker has it comes back after
  done(), never to two workers at once;
- a failing key waits its own doubling backoff while other keys go on; forget() resets it.
"""

from __future__ import annotations

import time

from agent.kube.queueing import WorkQueue


def test_a_key_is_queued_once_and_held_by_one_worker() -> None:
    queue = WorkQueue()
    for _ in range(5):
        queue.add("a")
    queue.add("b")
    assert queue.get(0.1) == "a"
    queue.add("a")  # changed while being worked on
    assert queue.get(0.1) == "b"
    assert queue.get(0.1) is None  # "a" is not handed to a second worker
    queue.done("a")
    assert queue.get(0.1) == "a"
    queue.done("a")
    queue.done("b")
    assert queue.get(0.05) is None


def test_a_failing_key_backs_off_alone() -> None:
    queue = WorkQueue(base=0.2, cap=1.0)
    queue.add("bad")
    assert queue.get(0.1) == "bad"
    assert queue.retry("bad") == 0.2
    queue.done("bad")
    queue.add("good")
    assert queue.get(0.05) == "good"  # not held back
    queue.done("good")
    started = time.monotonic()
    assert queue.get(1.0) == "bad"
    assert time.monotonic() - started >= 0.15
    assert queue.retry("bad") == 0.4
    queue.done("bad")
    assert queue.get(0.1) is None
    assert queue.get(1.0) == "bad"
    queue.forget("bad")
    assert queue.retry("bad") == 0.2
    queue.done("bad")
    queue.close()
    assert queue.get(1.0) is None
