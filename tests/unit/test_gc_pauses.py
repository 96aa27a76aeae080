"""fewer_gc_pauses: objects alive on entry are frozen and the thresholds raised inside;
both are undone on leaving, also when the block raises (tests run many runs in one process)."""

import gc

import pytest

from orchestration.gc_pauses import fewer_gc_pauses


def test_inside_frozen_and_rare_outside_as_before():
    before = gc.get_threshold()
    with fewer_gc_pauses():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] > before[0]
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_undone_when_the_block_raises():
    before = gc.get_threshold()

    @fewer_gc_pauses()
    def failing_run():
        raise RuntimeError("the run failed")

    with pytest.raises(RuntimeError):
        failing_run()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
