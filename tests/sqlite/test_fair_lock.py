"""The SQLite writer queue's lock goes to its waiters in arrival order (issue 26: with a plain
lock the in-process worker waited seconds behind request threads for its turn to write)."""

from __future__ import annotations

import threading
import time

import pytest

from shopmail.sqlite.base import FairLock


def _wait_until(predicate, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_waiters_get_the_lock_in_the_order_they_came():
    lock = FairLock()
    assert lock.acquire()
    order: list[int] = []

    def waiter(n: int) -> None:
        assert lock.acquire(timeout=5)
        order.append(n)
        lock.release()

    threads = []
    for n in range(8):
        thread = threading.Thread(target=waiter, args=(n,))
        thread.start()
        threads.append(thread)
        _wait_until(lambda n=n: len(lock._waiters) == n + 1)  # queued before the next one starts
    # the holder takes the lock again at once after releasing: it must queue behind the others
    lock.release()
    assert lock.acquire(timeout=5)
    order.append(99)
    lock.release()
    for thread in threads:
        thread.join(5)
    assert order == [*range(8), 99]
    assert not lock.locked()


def test_a_waiter_that_times_out_leaves_the_queue_and_does_not_hold_the_lock():
    lock = FairLock()
    assert lock.acquire()
    assert lock.acquire(timeout=0.05) is False
    assert len(lock._waiters) == 0 and lock.locked()
    lock.release()
    assert not lock.locked()
    assert lock.acquire(timeout=0) and lock.locked()
    lock.release()


def test_releasing_an_unheld_lock_is_an_error():
    with pytest.raises(RuntimeError):
        FairLock().release()
