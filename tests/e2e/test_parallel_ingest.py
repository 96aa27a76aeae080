"""The executor (orchestration/executor.py) on the hand-made company's run: raw loads and
their checks two at a time, in the order their rules need, every other step alone."""

from __future__ import annotations

import itertools
import json

import pytest

from expectations.rules import parents
from ingestion.entities import ENTITIES, ENTITY_BY_FOLDER
from orchestration.bench import covered_seconds

pytestmark = pytest.mark.slow


def _load_step(folder: str) -> str:
    entity = ENTITY_BY_FOLDER[folder]
    return f"raw__{entity.source}__{entity.name}"


def _check_step(folder: str) -> str:
    entity = ENTITY_BY_FOLDER[folder]
    return f"{entity.source}_{entity.name}_checks"


@pytest.fixture(scope="module")
def windows(handmade_run) -> dict[str, tuple[float, float]]:
    return {k: tuple(v) for k, v in json.loads((handmade_run.root / "run.ok").read_text()).items()}


INGEST_STEPS = {_load_step(e.folder) for e in ENTITIES} | {_check_step(e.folder) for e in ENTITIES}


def overlapping_pairs(windows: dict[str, tuple[float, float]]) -> list[tuple[str, str]]:
    """The pairs of steps whose (start, end) windows overlap."""
    return [
        (a, b)
        for a, b in itertools.combinations(sorted(windows), 2)
        if windows[a][0] < windows[b][1] and windows[b][0] < windows[a][1]
    ]


def test_ingest_steps_ran_side_by_side_and_no_other_step_did(windows):
    assert set(windows) >= INGEST_STEPS
    pairs = overlapping_pairs(windows)
    assert pairs, "no two steps overlapped"
    alone = sorted({k for pair in pairs for k in pair} - INGEST_STEPS)
    assert not alone, f"steps that must run alone overlapped another: {alone}"
    # never more than two at once
    for key, (start, _) in windows.items():
        at_start = [k for k, (s, e) in windows.items() if s <= start < e]
        assert len(at_start) <= 2, (key, at_start)


def test_an_entity_loads_after_its_parents_loaded_and_were_checked(windows):
    for entity in ENTITIES:
        started = windows[_load_step(entity.folder)][0]
        for parent in parents(entity.folder):
            assert started >= windows[_load_step(parent)][1], (entity.folder, parent)
            assert started >= windows[_check_step(parent)][1], (entity.folder, parent)
        # and its checks after it
        assert windows[_check_step(entity.folder)][0] >= windows[_load_step(entity.folder)][1]


def test_covered_seconds_counts_overlapping_windows_once():
    assert covered_seconds([]) == 0
    assert covered_seconds([(0.0, 2.0), (1.0, 3.0), (5.0, 6.0)]) == 4.0
    assert covered_seconds([(0.0, 5.0), (1.0, 2.0)]) == 5.0
