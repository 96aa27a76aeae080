"""The build file a run keeps open for its ingest steps (orchestration/resources.py)."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.resources import SpmResource, keep_build_file_open, release_build_file


@pytest.fixture
def build_db(tmp_path, monkeypatch):
    monkeypatch.setenv("SPM_WAREHOUSE", str(tmp_path / "spm.duckdb"))
    monkeypatch.delenv("SPM_BUILD_DB", raising=False)
    return tmp_path / "spm.build.duckdb"


def _load_rows(spm: SpmResource) -> None:
    with spm.build_connection() as con:
        con.execute("create table raw.loaded as select range as x from range(1000)")


@pytest.mark.parametrize("checkpoint", [True, False])
def test_release_hands_over_every_loaded_row(build_db, checkpoint):
    """Without the checkpoint the log stays beside the file; the next process to open it
    (dbt's, on a nightly build) replays it: nothing loaded is lost either way."""
    spm = SpmResource()
    with keep_build_file_open():
        _load_rows(spm)
        release_build_file(checkpoint=checkpoint)
        wal = build_db.with_name(build_db.name + ".wal")
        assert wal.exists() is not checkpoint
        con = duckdb.connect(str(build_db))
        try:
            assert con.execute("select count(*), sum(x) from raw.loaded").fetchone() == (1000, 499500)
        finally:
            con.close()
        assert not wal.exists()  # that process's close checkpointed it
