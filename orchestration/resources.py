"""Dagster resources: the settings and the build warehouse connection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg
import duckdb

from expectations.sql import EvalContext
from ingestion.landing import ensure_raw_schema
from ingestion.plan import Plan, load_plan
from orchestration.settings import Settings

# Every asset that writes the build warehouse takes this pool: DuckDB allows one writer.
WAREHOUSE_POOL = "spm_warehouse"

# Within a run executed in this process (`spm run`), the ingest and check steps share one
# open database instance: opening the build file reads its catalog and closing it
# checkpoints, 0.1-0.2 s each at 10M rows, for some 50 steps a night.
_KEPT: dict[str, duckdb.DuckDBPyConnection] = {}
_KEEPING: list[bool] = []
_KEPT_LOCK = threading.Lock()


@contextmanager
def keep_build_file_open() -> Iterator[None]:
    """Let build_connection() keep the build file open until release_build_file()."""
    _KEEPING.append(True)
    try:
        yield
    finally:
        _KEEPING.pop()
        release_build_file()


def release_build_file(*, checkpoint: bool = True) -> None:
    """Close the kept instance: dbt, a publish or a reader gets the file.

    Closing checkpoints the write-ahead log into the file. `checkpoint=False` leaves the
    log for the next process that opens the file to replay: before a nightly dbt build,
    whose own checkpoints then take in the night's loads (0.7-1.0 s less at 10M rows).
    """
    while _KEPT:
        con = _KEPT.popitem()[1]
        if not checkpoint:
            con.execute("pragma disable_checkpoint_on_shutdown")
        con.close()


class SpmResource(dg.ConfigurableResource):
    """Read at run time from the SPM_* environment (contract.md settings)."""

    def settings(self) -> Settings:
        return Settings.from_env()

    def plan(self) -> Plan:
        s = self.settings()
        return load_plan(s.plan_path, base_currency=s.base_currency, timezone=s.timezone)

    def rules_context(self, context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> EvalContext:
        """What the row rules judge by, with the run's start as "now": a load and the checks
        of its rows draw the "more than a day in the future" line at the same instant. With
        each step's own clock, a row a few seconds from the line was on both sides of it, and
        the checks failed the run for disagreeing with the load."""
        record = context.instance.get_run_record_by_id(context.run.run_id)
        started = None
        if record is not None and record.start_time:  # not its creation: a queued run may wait
            started = datetime.fromtimestamp(record.start_time, UTC)
        elif record is not None:
            started = record.create_timestamp
        return EvalContext.from_plan(self.plan(), now=started)

    @contextmanager
    def build_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        s = self.settings()
        path = str(s.build_db)
        if not _KEEPING:
            con = _open_build_file(s)
        else:
            with _KEPT_LOCK:  # two ingest steps may ask at once (orchestration/executor.py)
                if path not in _KEPT:
                    release_build_file()
                    _KEPT[path] = _open_build_file(s)
                con = _KEPT[path].cursor()  # its own session (transaction, temp tables, settings)
        try:
            yield con
        finally:
            con.close()


def _open_build_file(s: Settings) -> duckdb.DuckDBPyConnection:
    s.build_db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(s.build_db), config=s.duckdb_config(s.ingest_memory_limit))
    try:
        ensure_raw_schema(con)
    except BaseException:
        con.close()
        raise
    return con
