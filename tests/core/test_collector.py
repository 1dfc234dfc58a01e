"""The garbage collector's thresholds relaxed for a large run, and put back after it."""

from __future__ import annotations

import gc

import pytest

from shopmail.core import collector


@pytest.fixture(autouse=True)
def thresholds():
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*saved)


def test_relaxed_raises_the_young_threshold_and_restores_it_after_nested_blocks():
    with collector.relaxed():
        assert gc.get_threshold() == (collector.YOUNG, 10, 10)
        with collector.relaxed():
            assert gc.get_threshold()[0] == collector.YOUNG
        assert gc.get_threshold()[0] == collector.YOUNG  # the outer block still runs
    assert gc.get_threshold() == (700, 10, 10)


def test_relaxed_restores_the_thresholds_when_the_block_raises():
    with pytest.raises(RuntimeError), collector.relaxed():
        raise RuntimeError("a run failed")
    assert gc.get_threshold() == (700, 10, 10)


def test_relaxed_inactive_leaves_the_thresholds_alone():
    with collector.relaxed(active=False):
        assert gc.get_threshold() == (700, 10, 10)
