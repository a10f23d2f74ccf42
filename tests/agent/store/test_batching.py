"""Batched work on a few threads (the unpacker's small files, the merge's links).

We test these aspects:
- flush returns once every item handed over is done;
- the first failure is raised at the next flush, and at the next hand-over only with fail_fast;
- close drops what still waits and returns only once no thread runs an item.
"""

from __future__ import annotations

import threading

import pytest

from agent.store.batching import Batches


def test_flush_waits_for_every_item() -> None:
    done: list[int] = []
    lock = threading.Lock()

    def do(item: int) -> None:
        with lock:
            done.append(item)

    work: Batches[int] = Batches(do, name="t", threads=2, batch=3, waiting=2, fail_fast=False)
    for i in range(100):
        work.add(i)
    work.flush()
    assert sorted(done) == list(range(100))
    work.close()


@pytest.mark.parametrize("fail_fast", [False, True])
def test_the_first_failure_is_raised(fail_fast: bool) -> None:
    def do(item: int) -> None:
        if item == 5:
            raise OSError(28, "No space left on device")

    work: Batches[int] = Batches(do, name="t", threads=2, batch=1, waiting=1, fail_fast=fail_fast)
    raised_on_add = False
    try:
        for i in range(200):
            work.add(i)
    except OSError:
        raised_on_add = True
    assert raised_on_add == fail_fast
    with pytest.raises(OSError, match="No space left"):
        work.flush()
    work.close()


def test_close_drops_what_waits_and_waits_for_the_threads() -> None:
    started, release = threading.Event(), threading.Event()
    done: list[int] = []

    def do(item: int) -> None:
        started.set()
        release.wait(5)
        done.append(item)

    work: Batches[int] = Batches(do, name="t", threads=1, batch=1, waiting=10, fail_fast=False)
    for i in range(5):
        work.add(i)
    assert started.wait(5)
    closer = threading.Thread(target=work.close)
    closer.start()
    closer.join(0.2)
    assert closer.is_alive(), "close waits for the item a thread is running"
    release.set()
    closer.join(5)
    assert not closer.is_alive()
    assert done == [0], "the items still waiting were dropped"
