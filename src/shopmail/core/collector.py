"""The cyclic garbage collector held back while a large run builds many long-lived objects.

A first import of 100,000 orders allocates millions of small objects (validated orders, rows,
changes) that live until their chunk is written: with CPython's default thresholds (a young
collection every 700 net allocations) the collector walked them again and again, 3.2 of the
run's 25 s (``bench/sync.py``, 2026-12-07: 25.2 s with the defaults, 21.2 s with a young
threshold of 10,000, 22.0 s with the collector off). A run nests these freely; the thresholds
are the process's, so a concurrent request in ``serve`` sees them too for the run's length,
which only delays its cycles' collection.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG = 10_000  # allocations between young collections while relaxed (CPython's default: 700)

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] = ()


@contextmanager
def relaxed(active: bool = True) -> Iterator[None]:
    """Young collections every ``YOUNG`` allocations instead of 700 inside the block (when
    ``active``); the thresholds as they were once the outermost block ends."""
    global _depth, _saved
    if not active:
        yield
        return
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(max(YOUNG, _saved[0]), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.set_threshold(*_saved)
