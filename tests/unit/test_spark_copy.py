"""The Spark target's file side, without a JVM (orchestration/spark.py): the Parquet copy
of the build file's raw, plan and control tables, the publish that reads Spark's marts
back, and closing a period in Spark's partitions. tests/e2e/test_spark.py runs Spark."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from orchestration.spark import (
    export_for_spark,
    freeze_spark_period,
    mart_contracts,
    publish_from_spark,
    spark_dir,
)

TZ = "Asia/Shanghai"


def _build(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema raw; create schema plan")
    con.execute("create table raw._batches (batch_id varchar, entity varchar, loaded_at timestamp)")
    con.execute(
        "create table raw.crm__reps (rep_id varchar, hire_date varchar, "
        "_batch_id varchar, _row_number bigint, _loaded_at timestamp)"
    )
    con.execute(
        "create table raw._closed_periods (period_grain varchar, period_start date, closed_at timestamp)"
    )
    con.execute("create table plan.kpis (kpi_code varchar, cap_pct double, is_higher_better boolean)")
    con.execute(
        "insert into raw._batches values ('b1', 'crm/reps', '2026-01-05 08:00:00'), "
        "('b2', 'crm/reps', '2026-01-06 09:30:00')"
    )
    con.execute(
        "insert into raw.crm__reps values ('S1', '2024-01-01', 'b1', 1, '2026-01-05 08:00:00'), "
        "('S2', null, 'b1', 2, '2026-01-05 08:00:00'), ('S1', '', 'b2', 1, '2026-01-06 09:30:00')"
    )
    con.execute("insert into plan.kpis values ('revenue', 150, true)")
    con.close()
    return path


def _read(folder: Path, columns: str = "*") -> list[tuple]:
    con = duckdb.connect()
    try:
        con.execute(f"set TimeZone = '{TZ}'")
        return con.execute(
            f"select {columns} from read_parquet('{folder}/*.parquet', hive_partitioning = false) "
            "order by all"
        ).fetchall()
    finally:
        con.close()


def test_export_copies_every_table_with_its_schema(tmp_path):
    build = _build(tmp_path / "build.duckdb")
    target = tmp_path / "spark"
    result = export_for_spark(build, target, timezone=TZ)
    assert (result.new_batches, result.rows_copied) == (2, {"crm__reps": 3})
    assert sorted(result.tables_replaced) == ["plan.kpis", "raw._batches", "raw._closed_periods"]
    assert result.summary() == (
        "Spark source copy: 2 new batch(es), 3 raw row(s) copied, 0 batch(es) removed, 3 table(s) replaced"
    )
    source = target / "source"
    # Flat `schema.table` folders: none starts with `_` or `.`, which Spark would skip.
    assert {p.name for p in source.iterdir() if p.is_dir()} == {
        "raw._batches",
        "raw.crm__reps",
        "raw._closed_periods",
        "plan.kpis",
    }
    reps = source / "raw.crm__reps"
    assert sorted(p.name for p in reps.iterdir()) == [
        "batch-b1.parquet",
        "batch-b2.parquet",
        "schema.parquet",
    ]
    # Nulls and empty strings survive; naive timestamps become instants in the company's zone.
    assert _read(reps, "rep_id, hire_date, _batch_id, _loaded_at") == [
        ("S1", "", "b2", dt.datetime(2026, 1, 6, 9, 30, tzinfo=_zone())),
        ("S1", "2024-01-01", "b1", dt.datetime(2026, 1, 5, 8, 0, tzinfo=_zone())),
        ("S2", None, "b1", dt.datetime(2026, 1, 5, 8, 0, tzinfo=_zone())),
    ]
    # An empty table still has a schema for Spark to read.
    con = duckdb.connect()
    try:
        described = con.execute(
            f"describe select * from read_parquet('{source / 'raw._closed_periods'}/*.parquet')"
        ).fetchall()
    finally:
        con.close()
    assert [(r[0], r[1]) for r in described] == [
        ("period_grain", "VARCHAR"),
        ("period_start", "DATE"),
        ("closed_at", "TIMESTAMP WITH TIME ZONE"),
    ]
    assert _read(source / "plan.kpis") == [("revenue", 150.0, True)]


def _zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo(TZ)


def test_export_is_incremental_by_batch(tmp_path):
    build = _build(tmp_path / "build.duckdb")
    target = tmp_path / "spark"
    export_for_spark(build, target, timezone=TZ)
    again = export_for_spark(build, target, timezone=TZ)
    assert (again.new_batches, again.removed_batches, again.rows_copied) == (0, 0, {})
    assert sorted(again.tables_replaced) == ["plan.kpis", "raw._batches", "raw._closed_periods"]

    con = duckdb.connect(str(build))
    con.execute("delete from raw.crm__reps where _batch_id = 'b1'")
    con.execute("insert into raw.crm__reps values ('S3', null, 'b3', 1, '2026-01-07 10:00:00')")
    con.close()
    changed = export_for_spark(build, target, timezone=TZ)
    assert (changed.new_batches, changed.removed_batches, changed.rows_copied) == (1, 1, {"crm__reps": 1})
    assert _read(target / "source" / "raw.crm__reps", "rep_id") == [("S1",), ("S3",)]

    # A column added to a table, a table dropped: the copy follows.
    con = duckdb.connect(str(build))
    con.execute("alter table raw.crm__reps add column region varchar")
    con.execute("drop table plan.kpis")
    con.close()
    reshaped = export_for_spark(build, target, timezone=TZ)
    assert reshaped.new_batches == 2  # every batch of the reshaped table is written again
    assert _read(target / "source" / "raw.crm__reps", "rep_id, region") == [("S1", None), ("S3", None)]
    assert not (target / "source" / "plan.kpis").exists()


def test_export_needs_a_loaded_build_file(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(RuntimeError, match="nothing loaded yet"):
        export_for_spark(empty, tmp_path / "spark")


def test_spark_dir_default_and_setting(tmp_path, monkeypatch):
    monkeypatch.delenv("SPM_SPARK_DIR", raising=False)
    assert spark_dir(tmp_path / "w" / "spm.build.duckdb") == tmp_path / "w" / "spark"
    monkeypatch.setenv("SPM_SPARK_DIR", str(tmp_path / "elsewhere"))
    assert spark_dir(tmp_path / "w" / "spm.build.duckdb") == tmp_path / "elsewhere"


# --------------------------------------------------------------------------- marts

KPI = [
    ("rep_id", "varchar"),
    ("period_grain", "varchar"),
    ("period_start", "date"),
    ("actual_value", "decimal(20,4)"),
    ("is_scored", "boolean"),
]
BONUS = [
    ("rep_id", "varchar"),
    ("period_grain", "varchar"),
    ("period_start", "date"),
    ("payout_amount", "decimal(18,2)"),
    ("is_closed", "boolean"),
]
DIM = [("rep_id", "varchar"), ("valid_from", "timestamp"), ("team_size", "integer")]


def _manifest(path: Path) -> Path:
    nodes = {}
    for name, columns, materialized in (
        ("kpi_rep_period", KPI, "incremental"),
        ("bonus_rep_period", BONUS, "incremental"),
        ("dim_reps", DIM, "table"),
        ("empty_mart", [("x", "bigint")], "table"),
        ("a_view", [("x", "bigint")], "view"),
    ):
        nodes[f"model.spm.{name}"] = {
            "resource_type": "model",
            "schema": "marts",
            "name": name,
            "alias": name,
            "config": {"materialized": materialized},
            "columns": {c: {"name": c, "data_type": t} for c, t in columns},
        }
    nodes["model.spm.stg_x"] = {**nodes["model.spm.dim_reps"], "schema": "staging", "name": "stg_x"}
    path.write_text(json.dumps({"nodes": nodes}))
    return path


def _spark_marts(target: Path) -> Path:
    """Spark's layout: `<warehouse>/marts.db/<table>/`, partitions as `col=value` folders
    holding the other columns, `_SUCCESS` markers, a failed job's `_temporary` leftovers."""
    marts = target / "warehouse" / "marts.db"
    marts.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"set TimeZone = '{TZ}'")
    for table, values in (
        (
            "kpi_rep_period",
            "('S1', 'month', date '2026-01-01', 1630.0, true), "
            "('S1', 'month', date '2026-02-01', -100.0, true), "
            "('S2', 'quarter', date '2026-01-01', 400.5, false)",
        ),
        (
            "bonus_rep_period",
            "('S1', 'month', date '2026-01-01', 6000.0, false), "
            "('S2', 'month', date '2026-01-01', 0.0, false), "
            "('S1', 'month', date '2026-02-01', 10.0, false)",
        ),
    ):
        names = ", ".join(c for c, _ in (KPI if table == "kpi_rep_period" else BONUS))
        con.execute(
            f"copy (select * from (values {values}) as t({names})) to '{marts / table}' "
            "(format parquet, partition_by (period_grain, period_start))"
        )
        (marts / table / "_SUCCESS").touch()
    junk = marts / "kpi_rep_period" / "_temporary" / "0"
    junk.mkdir(parents=True)
    con.execute(f"copy (select 'junk' as rep_id) to '{junk / 'part-0.parquet'}' (format parquet)")
    (marts / "dim_reps").mkdir()
    con.execute(
        "copy (select 'S1' as rep_id, timestamptz '2026-01-05 08:00:00+08:00' as valid_from, "
        f"7::bigint as team_size) to '{marts / 'dim_reps' / 'part-00000.snappy.parquet'}' (format parquet)"
    )
    (marts / "empty_mart").mkdir()
    (marts / "empty_mart" / "_SUCCESS").touch()
    con.close()
    return target


def test_contracts_from_the_manifest(tmp_path):
    contracts = mart_contracts(_manifest(tmp_path / "manifest.json"))
    assert set(contracts) == {"kpi_rep_period", "bonus_rep_period", "dim_reps", "empty_mart"}
    assert contracts["dim_reps"] == DIM


def test_publish_reads_spark_marts_in_contract_types(tmp_path):
    target = _spark_marts(tmp_path / "spark")
    warehouse = tmp_path / "published" / "spm.duckdb"
    result = publish_from_spark(target, warehouse, "run-1", _manifest(tmp_path / "manifest.json"), TZ)
    assert result.tables == {"kpi_rep_period": 3, "bonus_rep_period": 3, "dim_reps": 1, "empty_mart": 0}
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'kpi_rep_period' order by ordinal_position"
        ).fetchall()
        assert columns == [
            ("rep_id", "VARCHAR"),
            ("period_grain", "VARCHAR"),
            ("period_start", "DATE"),
            ("actual_value", "DECIMAL(20,4)"),
            ("is_scored", "BOOLEAN"),
        ]
        assert con.execute("select * from marts.kpi_rep_period order by all").fetchall() == [
            ("S1", "month", dt.date(2026, 1, 1), Decimal("1630.0000"), True),
            ("S1", "month", dt.date(2026, 2, 1), Decimal("-100.0000"), True),
            ("S2", "quarter", dt.date(2026, 1, 1), Decimal("400.5000"), False),
        ]
        # Spark's instants come back as the company's wall-clock time.
        assert con.execute("select * from marts.dim_reps").fetchall() == [
            ("S1", dt.datetime(2026, 1, 5, 8, 0), 7)
        ]
        assert con.execute("select source, run_id from marts._publish_info").fetchall() == [
            ("spark", "run-1")
        ]
    finally:
        con.close()


def test_publish_fails_without_a_spark_table(tmp_path):
    target = tmp_path / "spark"
    (target / "warehouse" / "marts.db").mkdir(parents=True)
    warehouse = tmp_path / "spm.duckdb"
    with pytest.raises(RuntimeError, match="not found"):
        publish_from_spark(target, warehouse, "r", _manifest(tmp_path / "manifest.json"), TZ)
    assert not warehouse.exists()


def test_freeze_replaces_the_period_partition_only(tmp_path):
    target = _spark_marts(tmp_path / "spark")
    manifest = _manifest(tmp_path / "manifest.json")
    published = tmp_path / "spm.duckdb"
    publish_from_spark(target, published, "run-1", manifest, TZ)
    # What finance saw differs from Spark's current rows: the published rows win.
    con = duckdb.connect(str(published))
    con.execute("update marts.bonus_rep_period set payout_amount = 5999 where rep_id = 'S1'")
    con.close()

    jan = dt.date(2026, 1, 1)
    rows = freeze_spark_period(
        target, published, manifest, "month", jan, ["kpi_rep_period", "bonus_rep_period"], TZ
    )
    assert rows == {"kpi_rep_period": 1, "bonus_rep_period": 2}
    bonus = target / "warehouse" / "marts.db" / "bonus_rep_period" / "period_grain=month"
    assert [p.name for p in (bonus / "period_start=2026-01-01").iterdir()] == [
        "part-00000-frozen.c000.snappy.parquet"
    ]
    assert _read(bonus / "period_start=2026-01-01") == [
        ("S1", Decimal("5999.00"), True),
        ("S2", Decimal("0.00"), True),
    ]
    assert _read(bonus / "period_start=2026-02-01") == [("S1", Decimal("10.00"), False)]
    with pytest.raises(RuntimeError, match=r"no marts\.bonus_rep_period partition"):
        freeze_spark_period(target, published, manifest, "quarter", jan, ["bonus_rep_period"], TZ)
