"""Publish the marts to the file BI tools read, atomically.

The nightly run is the only process that opens the build warehouse. Readers open the
published file, which is written beside itself under a temporary name and renamed over
the old one in one step: a reader holding the old file keeps a consistent snapshot, a
new reader sees the new one, nobody ever sees half of a run, and no reader's lock can
stop the writer.

After an incremental dbt build (docs/scaling.md), when the published file holds the marts
of the previous build (its `_publish_info.build_run_id`: published by that run, or
republished from that build by `spm close-period`), the new file starts as a copy of it
and only the rows the build replaced are swapped in the large marts (the orders of
int_scope__orders, the periods of int_scope__periods, or every period from a grain's
first one there on); every other mart is copied whole. Row counts must then equal the
build's, or the file is written from scratch.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.settings import Settings

MARTS_SCHEMA = "marts"
# Marts an incremental build changes only in part: what identifies the rows it replaced
# (the marts' pre-hooks in dbt say the same; tests/unit/test_publish_scopes.py holds the two together).
PARTIAL_MARTS = {
    "fct_order_lines": "orders",
    "fct_opportunities": "opportunities",
    "kpi_rep_period": "periods",
    "scorecard_rep_period": "periods",
    "kpi_rep_channel_period": "periods",
    "review_sheet_rep_period": "periods from the first",
}
_REPLACED = {
    "orders": "order_id in (select order_id from build.intermediate.int_scope__orders)",
    "opportunities": "opportunity_id in "
    "(select opportunity_id from build.intermediate.int_scope__opportunities)",
    # a semi join, not a correlated exists: DuckDB then probes the few scope rows instead
    # of deduplicating every row of the mart (macros/run_scope.sql key_tuple)
    "periods": "(m.period_grain, m.period_start) in "
    "(select period_grain, period_start from build.intermediate.int_scope__periods)",
    # trend columns: a changed period moves the ones after it (macros/run_scope.sql)
    "periods from the first": "m.period_start >= (select min(s.period_start) "
    "from build.intermediate.int_scope__periods as s where s.period_grain = m.period_grain)",
}


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]


@contextmanager
def swapped_in(warehouse: Path) -> Iterator[Path]:
    """A temporary file beside `warehouse` for the caller to write the new published file
    into (closed when the block ends). On success it is synced and renamed over
    `warehouse` in one step; on error it is removed and `warehouse` stays as it was."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    tmp = warehouse.with_name(f".{warehouse.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, warehouse)


def write_publish_info(
    con: duckdb.DuckDBPyConnection, schema: str, run_id: str, tables: int, **about: str
) -> None:
    """The `_publish_info` row of a published file: which run, when, how many marts, and
    how it was written (`about`: mode=partial|full and build_run_id, or
    source=postgres|spark)."""
    con.execute(f"drop table if exists {schema}._publish_info")
    extra = "".join(f", ? as {name}" for name in about)
    con.execute(
        f"create table {schema}._publish_info as select ? as run_id, ? as published_at, ? as tables{extra}",
        [run_id, datetime.now(UTC).replace(tzinfo=None), tables, *about.values()],
    )


def publish_duckdb(
    build_db: Path, warehouse: Path, run_id: str, build_run_id: str | None = None
) -> PublishResult:
    """Publish the build's marts as run `run_id`. `build_run_id`: the run whose dbt build
    they are (default `run_id`: a nightly run publishes what it built)."""
    build_run_id = build_run_id or run_id
    with swapped_in(warehouse) as tmp:
        counts = None
        if _previous_publish_is_current(build_db, warehouse):
            shutil.copyfile(warehouse, tmp)
            counts = _write_marts(build_db, tmp, run_id, build_run_id, partial=True)
            if counts is None:  # counts did not reconcile: start again from scratch
                tmp.unlink(missing_ok=True)
        if counts is None:
            counts = _write_marts(build_db, tmp, run_id, build_run_id, partial=False)
    return PublishResult(warehouse, counts)


def _previous_publish_is_current(build_db: Path, warehouse: Path) -> bool:
    """The build is incremental and the published file holds its predecessor's marts."""
    if not warehouse.exists():
        return False
    con = duckdb.connect(config=Settings.from_env().duckdb_config())
    try:
        con.execute(f"attach '{_sql_path(build_db)}' as build (read_only)")
        con.execute(f"attach '{_sql_path(warehouse)}' as published (read_only)")
        previous = con.execute(
            """
            select b.run_id
            from build.raw._run_scope as s
            inner join build.raw._dbt_builds as b on b.started_at = s.changed_since and b.succeeded
            where not s.full_refresh
            """
        ).fetchone()
        published = con.execute(f"select build_run_id from published.{MARTS_SCHEMA}._publish_info").fetchone()
        return previous is not None and published is not None and previous[0] == published[0]
    except duckdb.Error:  # an older build or published file without these tables or columns
        return False
    finally:
        con.close()


def _write_marts(
    build_db: Path, target: Path, run_id: str, build_run_id: str, *, partial: bool
) -> dict[str, int] | None:
    """Write the build's marts into `target`; None if a partial write did not reconcile."""
    counts: dict[str, int] = {}
    con = duckdb.connect(config=Settings.from_env().duckdb_config())
    try:
        con.execute(f"attach '{_sql_path(build_db)}' as build (read_only)")
        con.execute("use build")
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'build' and table_schema = ? and table_type = 'BASE TABLE' "
                "order by table_name",
                [MARTS_SCHEMA],
            ).fetchall()
        ]
        if not tables:
            raise RuntimeError(f"{build_db}: no tables in schema {MARTS_SCHEMA}, nothing to publish")
        con.execute(f"attach '{_sql_path(target)}' as published")
        con.execute("begin transaction")
        con.execute(f"create schema if not exists published.{MARTS_SCHEMA}")
        existing = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'published' and table_schema = ?",
                [MARTS_SCHEMA],
            ).fetchall()
        }
        for table in existing - set(tables) - {"_publish_info"}:  # a mart the project dropped
            con.execute(f"drop table published.{MARTS_SCHEMA}.{table}")
        for table in tables:
            source, dest = f"build.{MARTS_SCHEMA}.{table}", f"published.{MARTS_SCHEMA}.{table}"
            if partial and table in PARTIAL_MARTS and table in existing:
                replaced = _REPLACED[PARTIAL_MARTS[table]]
                con.execute(f"delete from {dest} as m where {replaced}")
                con.execute(f"insert into {dest} by name select * from {source} as m where {replaced}")
                built = con.execute(f"select count(*) from {source}").fetchone()[0]
            else:
                con.execute(f"create or replace table {dest} as select * from {source}")
                built = None
            counts[table] = con.execute(f"select count(*) from {dest}").fetchone()[0]
            if built is not None and built != counts[table]:
                con.execute("rollback")
                return None
        write_publish_info(
            con,
            f"published.{MARTS_SCHEMA}",
            run_id,
            len(tables),
            mode="partial" if partial else "full",
            build_run_id=build_run_id,
        )
        con.execute("commit")
        con.execute("detach published")
    finally:
        con.close()
    return counts


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
