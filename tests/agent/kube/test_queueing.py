"""The agent's work queue.

We test these aspects:
- a key added many times is handed out once; a key changed while a worker has it comes back after
  done(), never to two workers at once;
- a failing key waits its own doubling backoff while other keys go on; forget() resets it;
- a key whose delay is over goes before keys added meanwhile.
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


def test_a_key_whose_delay_is_over_goes_first() -> None:
    """A rollout waiting for its settle window is finished before new resources are started."""
    queue = WorkQueue()
    queue.add_after("settled", 0.05)
    for key in ("new-1", "new-2"):
        queue.add(key)
    time.sleep(0.1)
    assert queue.get(0.1) == "settled"
    assert queue.get(0.1) == "new-1"


def test_a_key_due_goes_first_even_when_added_again_meanwhile() -> None:
    queue = WorkQueue()
    queue.add_after("settled", 0.05)
    queue.add("new-1")
    queue.add("settled")  # a watch event of the status it wrote, while it waits
    queue.add("new-2")
    time.sleep(0.1)
    assert [queue.get(0.1) for _ in range(3)] == ["settled", "new-1", "new-2"]
