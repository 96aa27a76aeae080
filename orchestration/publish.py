"""Publish the marts to the file BI tools read, atomically.

The nightly run is the only process that opens the build warehouse. Readers open the
published file, which is written beside itself under a temporary name and renamed over
the old one in one step: a reader holding the old file keeps a consistent snapshot, a
new reader sees the new one, nobody ever sees half of a run, and no reader's lock can
stop the writer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

MARTS_SCHEMA = "marts"


@dataclass(frozen=True)
class PublishResult:
    path: Path
    tables: dict[str, int]


def publish_duckdb(build_db: Path, warehouse: Path, run_id: str) -> PublishResult:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    tmp = warehouse.with_name(f".{warehouse.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    con = duckdb.connect()
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
        con.execute(f"attach '{_sql_path(tmp)}' as published")
        con.execute(f"create schema published.{MARTS_SCHEMA}")
        for table in tables:
            con.execute(
                f"create table published.{MARTS_SCHEMA}.{table} as select * from build.{MARTS_SCHEMA}.{table}"
            )
            counts[table] = con.execute(f"select count(*) from published.{MARTS_SCHEMA}.{table}").fetchone()[
                0
            ]
        con.execute(
            f"create table published.{MARTS_SCHEMA}._publish_info as select "
            "? as run_id, ? as published_at, ? as tables",
            [run_id, datetime.now(UTC).replace(tzinfo=None), len(tables)],
        )
        con.execute("detach published")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, warehouse)
    return PublishResult(warehouse, counts)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
