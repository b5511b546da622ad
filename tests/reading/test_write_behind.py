"""The write-behind thread of ``--to``: writes run in order, off the caller's thread, and a failed write is raised."""

from __future__ import annotations

import threading
import time

import pytest

from jsmagic.reading.behind import WriteBehind


def test_writes_run_in_order_in_another_thread_and_wait_returns_after_the_last():
    done, threads = [], set()

    def write(i):
        time.sleep(0.002)
        threads.add(threading.get_ident())
        done.append(i)

    behind = WriteBehind(depth=2)
    for i in range(20):
        behind.submit(write, i)
    behind.wait()
    assert done == list(range(20))
    assert threads and threading.get_ident() not in threads


def test_a_failed_write_is_raised_in_the_caller_and_the_writes_after_it_are_skipped():
    done = []

    def write(i):
        if i == 3:
            raise OSError("No space left on device")
        done.append(i)

    behind = WriteBehind(depth=1)
    with pytest.raises(OSError, match="No space left"):
        for i in range(50):
            behind.submit(write, i)
        behind.wait()
    behind.stop()
    assert done == [0, 1, 2]


def test_stop_drops_the_writes_not_started():
    started, release = threading.Event(), threading.Event()
    done = []

    def slow(i):
        started.set()
        release.wait(5)
        done.append(i)

    behind = WriteBehind(depth=3)
    behind.submit(slow, 0)
    behind.submit(done.append, 1)
    behind.submit(done.append, 2)
    assert started.wait(5)
    threading.Timer(1.0, release.set).start()  # the running write ends after stop() was called
    behind.stop()
    assert done == [0]
